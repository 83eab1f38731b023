"""The unchanged rows of a re-import, found a column at a time and counted without making a row.

A nightly file is nearly all rows that match their stored record and change nothing. The screen reads
a block of rows, judges each column once per distinct text (RowBuilder.judge_columns, the type's
own rules), looks the block's keys up once and compares column by column (same_as_stored_block). A
row is settled only when nothing could be said of it: no cell problem, a stored record that is not
protected, every value blank or equal to the stored one, and the target's checks silent
(RowChecks.silent_when_same). Every other row is built and checked as before, so the screen can
only leave out work, never change a verdict (imports/tests/services/test_screen.py holds it to that).
"""
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from ...pipeline.classify import UNCHANGED, Outcome, same_as_stored_block
from ...pipeline.rows import RowBuilder, UserRow
from .. import sources as _sources  # read through sources (one place a test can watch)
from ..sources import ImportOptions, Source

SCREEN_BLOCK = 2000  # rows judged and looked up together: the look-up's batch
MAX_REST_BLOCKS = 64
SETTLED_OUTCOME = Outcome(UNCHANGED)


@dataclass(slots=True)
class Settled:
    """Rows of one file found unchanged with nothing to report: counted and checked for duplicates, never made."""

    source: Source
    file: str
    rows: list[int]
    keys: list[str]
    unique: dict[str, list]  # a field whose repeat in the file is reported -> the rows' values
    users: list  # each row's stored record (ExistingUser): a type with two keys checks no user is matched twice

    def __len__(self) -> int:
        return len(self.rows)


def screened_rows(sources: list[Source], options: ImportOptions, checks) -> Iterator:
    """iter_user_rows(keep_skipped=True)'s rows in the same order, with runs of unchanged rows as Settled.

    checks is the pass's RowChecks (its target and district): the screen looks up with it and asks it
    whether it would stay silent. Rows the screen cannot vouch for come as (source, UserRow).
    """
    unique = [k for k in checks.target.unique_in_file if k]
    ahead = checks.target.look_ahead()
    try:
        for source in sources:
            yield from _screened(source, options, checks, unique, ahead)
    finally:
        ahead.close()


def _screened(source: Source, options: ImportOptions, checks, unique: list[str], ahead) -> Iterator:
    """One file's rows, as screened_rows gives them. While a block is compared, the next block is judged and
    its look-up asked (ahead): it is the next one screened unless this one settles nothing, when it is dropped."""
    builder = RowBuilder(
        file_name=source.info.name, plan=options.plan_for(source), school_mapping=options.school_mapping, spec=options.spec,
        value_mapping=options.value_mapping,
    )
    screening = builder.judges_columns
    rest_blocks, idle = 0, 1  # a run of new rows gains nothing from the screen: it rests, longer each time
    # Cells as read: the builder strips each distinct text once (stripping every cell here was 5% of a re-import).
    blocks = map(_good_rows, _sources.iter_row_blocks(source.path, source.info, size=SCREEN_BLOCK, strip=False))
    following, asked = next(blocks, None), None
    while following is not None:
        (block, numbers, columns), following = following, next(blocks, None)
        judged, asked = asked, None
        problems = block.problems
        settled = {}  # position among the good rows -> what _settle found
        if rest_blocks:
            rest_blocks -= 1
        elif screening and numbers:
            judged = judged or _judge(builder, columns, numbers, checks, partial)  # looked up here, now
            if following is not None and following[1]:
                asked = _judge(builder, following[2], following[1], checks, ahead.ask)
            settled = _settle(judged, numbers, checks, unique)
            if settled:
                idle = 1
            else:
                rest_blocks, idle = idle, min(idle * 2, MAX_REST_BLOCKS)
            if settled.__class__ is Settled:  # every row of the block
                if not problems:
                    settled.source, settled.file = source, source.info.name
                    yield settled
                    continue
                settled = _by_position(settled, unique)
        if settled:
            keep = [i for i in range(len(numbers)) if i not in settled]
            built = builder.iter_columns([numbers[i] for i in keep], [[column[i] for i in keep] for column in columns])
        else:
            built = builder.iter_columns(numbers, columns)
        run: Settled | None = None
        at = 0  # position among the good rows
        for i, row in enumerate(block.rows):
            problem = problems.get(i) if problems else None
            if problem is not None:
                if run is not None:
                    yield run
                    run = None
                yield source, UserRow(file=source.info.name, row=row, issues=[problem])
                continue
            found = settled.get(at)
            at += 1
            if found is None:
                if run is not None:
                    yield run
                    run = None
                yield source, next(built)
                continue
            if run is None:
                run = Settled(source, source.info.name, [], [], {k: [] for k in unique}, [])
            run.rows.append(row)
            run.keys.append(found[0])
            for k, v in zip(unique, found[1]):
                run.unique[k].append(v)
            run.users.append(found[2])
        if run is not None:
            yield run


def _good_rows(block) -> tuple:
    """The block, and the row numbers and columns of its rows the reader did not refuse."""
    problems = block.problems
    if not problems:
        return block, block.rows, block.columns
    good = [i for i in range(len(block.rows)) if i not in problems]
    return block, [block.rows[i] for i in good], [[column[i] for i in good] for column in block.columns]


@dataclass(slots=True)
class _Judged:
    """A block's values a column at a time (RowBuilder.judge_columns) and its look-up, asked."""

    names: list
    columns: list
    keys: list
    flagged: set
    stored: Callable[[], dict]


def _judge(builder: RowBuilder, columns: list, numbers: list[int], checks, ask: Callable) -> _Judged:
    """The block judged, and its look-up asked: ask(fn, **kwargs) gives what to call for fn's result."""
    names, columns, keys, flagged = builder.judge_columns(columns, len(numbers))
    stored = ask(checks.target.lookup, district=checks.district, keys=[k for k in keys if k], columns=checks.columns)
    return _Judged(names, columns, keys, flagged, stored)


def _settle(judged: _Judged, numbers: list[int], checks, unique: list[str]) -> dict[int, tuple] | Settled:
    """Position in the block -> (key, the unique fields' values, stored record) of each row the screen vouches for;
    when it vouches for every row (a re-import's usual block), those as one Settled, without a tuple a row."""
    n = len(numbers)
    names, columns, keys, flagged, stored = judged.names, judged.columns, judged.keys, judged.flagged, judged.stored()
    found = [None if (i in flagged or not k) else stored.get(k) for i, k in enumerate(keys)]
    found = [f if f is not None and not f.protected else None for f in found]
    same = same_as_stored_block(names, columns, found)
    candidates = [i for i, s in enumerate(same) if s]
    if not candidates:
        checks.remember(keys, stored)
        return {}
    by_name = dict(zip(names, columns))
    if len(candidates) == len(keys):  # the usual block of a re-import: every row
        values = by_name
    else:
        values = {name: (None if vector is None else [vector[i] for i in candidates]) for name, vector in by_name.items()}
    silent = checks.silent_when_same(values, len(candidates))
    # As the pass reads them for the duplicate check: the row's value under the field's name.
    vectors = [by_name.get(k) for k in unique]
    if len(candidates) == n and all(silent):
        given = {k: v if v is not None else [None] * n for k, v in zip(unique, vectors)}
        return Settled(None, "", list(numbers), keys, given, found)
    settled = {
        i: (keys[i], tuple(None if v is None else v[i] for v in vectors), found[i])
        for n, i in enumerate(candidates) if silent[n]
    }
    checks.remember((k for i, k in enumerate(keys) if i not in settled), stored)
    return settled


def _by_position(whole: Settled, unique: list[str]) -> dict[int, tuple]:
    """A whole block's Settled as _settle's positions, for a block whose rows with problems come between them."""
    return {i: (key, tuple(whole.unique[k][i] for k in unique), user)
            for i, (key, user) in enumerate(zip(whole.keys, whole.users))}
