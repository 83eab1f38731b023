"""build_block makes a column at a time exactly the rows build makes one at a time; conditions say what they read."""
import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports.pipeline import normalize
from imports.pipeline.fields import Field
from imports.pipeline.mapping import plan_columns
from imports.pipeline.normalize import Invalid, Rule
from imports.pipeline.reading import FileReadError, inspect_file, iter_rows
from imports.pipeline.rows import RowBuilder, UserRow
from imports.services import sources
from imports.services.sources import ImportOptions, Source, StreamStart, iter_user_rows
from imports.tests.factories import FULL_HEADER, csv_text, staff, student
from imports.types import SPECS, STUDENT_DEMOGRAPHICS, USER_DATA

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FLAGS = ["Y", "N", "", "yes", "0", "maybe", "T", " y "]
DATES = ["2011-04-02", "4/2/2011", "4/4/2011", "40635", "2099-01-01", "1901-01-01", "20140903", "next week", ""]
# Texts each field's column may hold: valid, invalid, blank, padded, too long, and codes a value mapping maps.
POOLS = {
    "first_name": ["Ada", "", " Bo ", "x" * 151], "middle_name": ["", "J", "y" * 151], "last_name": ["Lovelace", "", "Li"],
    "district_id": ["1", "0012", "1.23457E+11", "", "A-9", "z" * 65],
    "user_type": ["0", "1", "Student", "STAFF", "teacher", "guardian", "", "2", "skip"],
    "grade": ["K", "PK", "5", "05", "13", "0", "", "Pre-K", "tk", "KG", "Grade 5"],
    "email": ["a@b.org", "", "not an email", "x" * 250 + "@b.org", " c@d.org "],
    "school_sis_id": ["101", "102", "999", "", "Central"],
    "password": ["", "Secret-1", "101"], "username": ["ab", "a b", "", "u" * 151],
    "birthdate": DATES, "gender": ["M", "f", "other", "unspecified", "q", "", "Non-binary"],
    "race": ["Asian", "Asian; White", "white;asian", "Caucasian", "", "Hispanic", ";", "Asian;Caucasian"],
    "hispanic_latino": [*FLAGS, "Hispanic or Latino", "Not Hispanic or Latino"],
}
JUNK = ["", "?", "x" * 300, "\u00e9t\u00e9"]


def _pool(key: str) -> list[str]:
    if key in POOLS:
        return POOLS[key]
    rule = (USER_DATA.by_key.get(key) or STUDENT_DEMOGRAPHICS.by_key[key]).rule
    if rule.parse in (normalize.flag,) or rule.coding is normalize.FLAG_CODES:
        return FLAGS
    if rule.parse is normalize.date:
        return DATES
    return ["a", "", "T-1", "w" * 70]


# A type of our own: a condition reading a flag (True and 1 are equal keys), one reading nothing it
# declares (judged row by row), and one reading a field only a combination makes.
_PROBE = dataclasses.replace(USER_DATA, import_type="probe", match_field="key", fields=(
    Field("key", "key", True, rule=normalize.text(64), column="district_user_id"),
    Field("kind", "kind", rule=Rule(parse=lambda t: 1 if t == "one" else normalize.flag(t))),
    Field("code", "code", rule=Rule(blank=Invalid("code_required", "Code is blank.", ""),
                                    required_if=lambda v: v.get("kind") is True, reads=("kind",))),
    Field("only_one", "only_one", rule=Rule(only_if=lambda v: v["kind"] == 1 and v["kind"] is not True)),
    Field("both", "both", combine=lambda parts: "".join(str(v) for v in parts.values() if v) or None,
          rule=Rule(parse=str.upper, max_length=4)),
    Field("left", "left", part_of="both", rule=Rule(parse=str.lower)),
    Field("right", "right", part_of="both", rule=Rule(parse=str.lower)),
    Field("mix", "mix", rule=Rule(only_if=lambda v: v.get("both") is None, reads=("both",))),
))
POOLS.update({"key": ["1", ""], "kind": ["Y", "N", "one", "", "?"], "code": ["", "c"], "only_one": ["", "o"],
              "mix": ["m", ""], "both": ["ab", "abcde", ""], "left": ["L", ""], "right": ["R", ""]})


@st.composite
def builders_and_rows(draw):
    spec = draw(st.sampled_from([USER_DATA, STUDENT_DEMOGRAPHICS, _PROBE]))
    mapping, fixed = {}, {}
    for f in spec.fields:
        how = draw(st.sampled_from(["column", "column", "column", "fixed", "none"]))
        if how == "column":
            mapping[f.key] = f"col {f.key}"
        elif how == "fixed":
            fixed[f.key] = draw(st.sampled_from(_pool(f.key)))
    labels = draw(st.permutations([*mapping.values(), "extra"]))
    plan = plan_columns(labels, mapping, fixed, spec)
    value_mapping = {}
    for f in spec.coded_fields:
        if draw(st.booleans()):
            targets = st.sampled_from([*(text for text, _ in f.rule.coding.choices), normalize.SKIP, "nonsense"])
            value_mapping[f.key] = draw(st.dictionaries(st.sampled_from(_pool(f.key)), targets, max_size=4))
    schools = draw(st.dictionaries(st.sampled_from(POOLS["school_sis_id"]), st.sampled_from([1, 2, -1]), max_size=3))
    builder = RowBuilder(file_name="f.csv", plan=plan, school_mapping=schools, spec=spec, value_mapping=value_mapping)
    key_of_label = {label: key for key, label in mapping.items()}
    cell = {label: st.sampled_from(_pool(key_of_label[label])) | st.text(max_size=3) if label in key_of_label
            else st.sampled_from(JUNK) for label in labels}
    rows = draw(st.lists(st.tuples(*(cell[label] for label in labels)), min_size=1, max_size=40))
    raws = []
    for n, cells in enumerate(rows):
        cells = list(cells)
        if draw(st.integers(0, 9)) == 0:  # a short row: its missing cells read as blank
            cells = cells[:draw(st.integers(0, len(cells)))]
        raws.append((n + 2, cells))
    return builder, raws


def _same(block: list[UserRow], single: list[UserRow]) -> None:
    assert block == single
    # Equal dicts may differ in order; the values keep build's order too.
    assert [list(r.values.items()) for r in block] == [list(r.values.items()) for r in single]


@FUZZ
@given(builders_and_rows())
def test_build_block_gives_the_rows_build_gives_one_by_one(case):
    builder, raws = case
    _same(builder.build_block(raws), [builder.build(row, cells) for row, cells in raws])


def test_a_skipped_row_keeps_what_the_fields_before_the_skip_gave_and_the_others_go_on():
    labels = ["First Name", "District ID", "User Type", "Grade", "School SIS ID"]
    plan = plan_columns(labels, {k: label for k, label in zip(
        ("first_name", "district_id", "user_type", "grade", "school_sis_id"), labels)}, {}, USER_DATA)
    builder = RowBuilder(file_name="f.csv", plan=plan, school_mapping={"101": 1},
                         value_mapping={"user_type": {"guardian": normalize.SKIP}}, spec=USER_DATA)
    raws = [(2, ["", "1", "guardian", "13", "999"]), (3, ["Ada", "2", "0", "13", "101"]), (4, ["Bo", "3", "guardian", "", ""])]

    block = builder.build_block(raws)

    _same(block, [builder.build(row, cells) for row, cells in raws])
    assert [r.skipped for r in block] == [True, False, True]
    assert block[0].district_id == "1" and [i.code for i in block[0].issues] == ["first_name_required", "last_name_required"]
    assert [i.code for i in block[1].issues] == ["last_name_required", "invalid_grade"]
    assert builder.build_block([]) == []

    # Skipped at a later field (grade) before a row skipped at an earlier one (user type), after the last kept row.
    builder = RowBuilder(file_name="f.csv", plan=plan, school_mapping={"101": 1},
                         value_mapping={"user_type": {"guardian": normalize.SKIP}, "grade": {"13": normalize.SKIP}}, spec=USER_DATA)
    raws = [(2, ["Ada", "1", "0", "5", "101"]), (3, ["Bo", "2", "0", "13", "101"]), (4, ["Cy", "3", "guardian", "", ""])]
    block = builder.build_block(raws)
    _same(block, [builder.build(row, cells) for row, cells in raws])
    assert [(r.row, r.skipped) for r in block] == [(2, False), (3, True), (4, True)]


def test_every_condition_declares_what_it_reads_and_reads_nothing_else():
    class Reading(dict):
        def __init__(self, *args):
            super().__init__(*args)
            self.read = set()

        def __getitem__(self, key):
            self.read.add(key)
            return super().__getitem__(key)

        def get(self, key, default=None):
            self.read.add(key)
            return super().get(key, default)

        def __contains__(self, key):
            self.read.add(key)
            return super().__contains__(key)

        def __iter__(self):
            self.read.add("*every value*")
            return super().__iter__()

    for spec in SPECS:
        columns = [f.stored_column for f in spec.record_fields]
        for f in spec.fields:
            if not f.rule.conditional:
                continue
            assert f.rule.reads, f"{spec.import_type}: {f.key}'s condition does not say what it reads"
            for user_type in (None, normalize.STUDENT, normalize.STAFF, "other"):
                values = Reading({c: None for c in columns} | {"user_type": user_type})
                for condition in (f.rule.only_if, f.rule.required_if):
                    if condition is not None:
                        condition(values)
                assert values.read <= set(f.rule.reads), (spec.import_type, f.key, values.read)


def test_a_spec_whose_condition_reads_a_later_or_unknown_field_is_refused():
    grade = USER_DATA.by_key["grade"]
    with pytest.raises(ValueError, match="reads"):
        dataclasses.replace(USER_DATA, fields=(
            dataclasses.replace(grade, rule=dataclasses.replace(grade.rule, reads=("user_type",))),
            *(f for f in USER_DATA.fields if f.key != "grade"),
        ))
    with pytest.raises(ValueError, match="no condition"):
        dataclasses.replace(USER_DATA, fields=(
            *USER_DATA.fields, Field("extra", "Extra", rule=Rule(reads=("user_type",))),
        ))


# --- iter_user_rows reads blocks and yields what it yielded row by row ---

def _reference(source, options, *, start=None, starts=None, every=0, keep_skipped=False):
    """iter_user_rows as it was: one row at a time through build."""
    builder = RowBuilder(file_name=source.info.name, plan=options.plan_for(source), spec=options.spec,
                         school_mapping=options.school_mapping, value_mapping=options.value_mapping)
    index = start.index if start else 0
    mark = (lambda n, first=index: (first + n) % every == 0) if starts is not None and every else None
    for raw in iter_rows(source.path, source.info, start=start.row if start else None, mark=mark):
        if raw.problem is not None:
            row = UserRow(file=source.info.name, row=raw.row, issues=[raw.problem])
        else:
            row = builder.build(raw.row, raw.cells)
            if row.skipped and not keep_skipped:
                continue
        if raw.start is not None:
            starts[index] = StreamStart(index, source.file_id, raw.start)
        index += 1
        yield row


@pytest.mark.parametrize("keep_skipped", [False, True])
def test_the_stream_in_blocks_gives_the_same_rows_marks_and_resumes(tmp_path, monkeypatch, keep_skipped):
    monkeypatch.setattr(sources, "BLOCK_ROWS", 7)
    rows = []
    for n in range(40):
        row = staff(f"T{n}") if n % 5 == 0 else student(f"S{n}", Grade=["5", "13", "K", ""][n % 4])
        rows.append(student(f"G{n}", **{"User Type": "guardian"}) if n % 6 == 1 else row)
    text = csv_text(rows, header=FULL_HEADER).splitlines(keepends=True)
    text.insert(12, 'Ada,"Love"lace,9,0,5,,101,,,,,,\r\n')  # a read problem between blocks' rows
    path = tmp_path / "roster.csv"
    path.write_text("".join(text), encoding="utf-8")
    source = Source(path=str(path), info=inspect_file(path, "roster.csv"), file_id=1)
    options = ImportOptions(field_mapping={f.key: f.heading for f in USER_DATA.fields if f.heading in FULL_HEADER},
                            school_mapping={"101": 1}, value_mapping={"user_type": {"guardian": normalize.SKIP}})

    starts, expected_starts = {}, {}
    got = [row for _, row in iter_user_rows([source], options, starts=starts, every=4, keep_skipped=keep_skipped)]
    expected = list(_reference(source, options, starts=expected_starts, every=4, keep_skipped=keep_skipped))

    _same(got, expected)
    assert any(r.issues and r.issues[0].code == "bad_quote" for r in got)
    assert any(r.skipped for r in got) == keep_skipped
    assert starts == expected_starts and len(starts) > 5
    for mark in starts.values():
        resumed = [row for _, row in iter_user_rows([source], options, start=mark, keep_skipped=keep_skipped)]
        _same(resumed, list(_reference(source, options, start=mark, keep_skipped=keep_skipped)))


def test_a_read_error_comes_after_the_rows_read_before_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "BLOCK_ROWS", 1000)
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_text([student(str(n)) for n in range(600)]).encode() + b"Ada,\xff\xfe,99,0,5,,101\r\n")
    # Read as UTF-8, as the upload's first bytes said: the last row cannot be decoded.
    info = dataclasses.replace(inspect_file(path, "roster.csv"), encoding="utf-8")
    source = Source(path=str(path), info=info, file_id=1)
    options = ImportOptions(field_mapping={f.key: f.heading for f in USER_DATA.fields if f.heading in FULL_HEADER},
                            school_mapping={"101": 1})

    def until_the_error(rows):
        seen = []
        with pytest.raises(FileReadError):
            for row in rows:
                seen.append(row.district_id)
        return seen

    got = until_the_error(row for _, row in iter_user_rows([source], options))

    assert got == until_the_error(_reference(source, options)) and len(got) > 100
