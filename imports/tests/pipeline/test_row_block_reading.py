"""iter_row_blocks reads exactly the rows and problems iter_rows reads, a block at a time."""
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports.pipeline.reading import FileReadError, inspect_file, iter_row_blocks, iter_rows

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
READABLE = [p.name for p in sorted(FIXTURES.iterdir()) if p.suffix in (".csv", ".tsv", ".txt", ".xlsx")]


def _one_by_one(path, info, **kwargs):
    try:
        return [(r.row, list(r.cells), r.problem) for r in iter_rows(path, info, **kwargs)]
    except FileReadError as exc:
        return str(exc)


def _by_blocks(path, info, strip=True, **kwargs):
    """The rows read by blocks; cells left as read (strip False) are stripped here, as their reader would."""
    try:
        return [(row, [c[i] if strip else c[i].strip() for c in block.columns], block.problems.get(i))
                for block in iter_row_blocks(path, info, strip=strip, **kwargs) for i, row in enumerate(block.rows)]
    except FileReadError as exc:
        return str(exc)


@pytest.mark.parametrize("name", READABLE)
@pytest.mark.parametrize("size", [1, 2, 300])
@pytest.mark.parametrize("strip", [True, False])
def test_every_fixture_reads_the_same_rows_and_problems_by_blocks(name, size, strip):
    path = FIXTURES / name
    try:
        info = inspect_file(path, name)
    except FileReadError:
        return  # refused before any row is read, either way
    assert _by_blocks(path, info, size=size, strip=strip) == _one_by_one(path, info)


CELLS = st.sampled_from(["a", "", " ", "  b ", '"q"', 'x"y', '"open', "1,2", "x" * 30, "\u00e9", "\t"])
RECORD = st.lists(CELLS, min_size=0, max_size=5)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(RECORD, max_size=12), size=st.integers(1, 5), header=st.booleans(), line_end=st.sampled_from(["\n", "\r\n"]),
       strip=st.booleans())
def test_any_text_reads_the_same_by_blocks(records, size, header, line_end, strip):
    text = "A,B,C" + line_end + line_end.join(",".join(r) for r in records) + line_end
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_text(text, encoding="utf-8")
        try:
            info = inspect_file(path, "f.csv", has_header=header)
        except FileReadError:
            return
        assert _by_blocks(path, info, size=size, max_cell_chars=20, strip=strip) == _one_by_one(path, info, max_cell_chars=20)
