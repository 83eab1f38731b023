"""Rules as data: the date rule, and a rule's blank, condition and lookup read by the row builder."""
import dataclasses
import datetime

import pytest

from imports.pipeline import normalize
from imports.pipeline.fields import Field
from imports.pipeline.mapping import plan_columns
from imports.pipeline.normalize import Invalid, Rule
from imports.pipeline.rows import RowBuilder
from imports.types import USER_DATA


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2014-09-03", (2014, 9, 3)), ("9/3/2014", (2014, 9, 3)), ("09/03/14", (2014, 9, 3)), ("20140903", (2014, 9, 3)),
     (" 2014/09/03 ", (2014, 9, 3))],
)
def test_dates_in_iso_us_and_compact_spellings(text, expected):
    assert normalize.date(text) == datetime.date(*expected)


@pytest.mark.parametrize("text", ["31/31/2014", "2014-02-30", "next week", "3.9.2014"])
def test_a_text_that_is_no_date_is_invalid_with_a_suggestion(text):
    result = normalize.date(text)
    assert isinstance(result, Invalid)
    assert (result.code, result.message) == ("invalid_date", f'"{text.strip()}" is not a date.')
    assert "YYYY-MM-DD" in result.suggestion


@pytest.mark.parametrize(
    ("rule", "value", "text"),
    [(normalize.yes_no(), True, "Y"), (normalize.yes_no(), False, "N"), (normalize.grade_level(), "PK", "Pre-K"),
     (normalize.choice_of_user_type(blank=None), "staff", "1"), (normalize.calendar_date(), datetime.date(2014, 9, 3), "2014-09-03"),
     (normalize.text(10), None, "")],
)
def test_a_rule_writes_a_stored_value_back_in_the_files_spelling(rule, value, text):
    assert rule.to_text(value) == text


def _build(spec, cells, labels, school_mapping=None):
    plan = plan_columns(labels, {label_key: label_key for label_key in labels}, {}, spec)
    return RowBuilder(file_name="f.csv", plan=plan, school_mapping=school_mapping or {}, spec=spec).build(2, cells)


def test_a_rules_blank_condition_and_lookup_come_from_its_declaration():
    needs_code = Invalid("code_required", "Code is blank.", "Give a code.")
    spec = dataclasses.replace(USER_DATA, match_field="key", fields=(
        Field("key", "key", True, rule=normalize.text(64), column="district_user_id"),
        Field("kind", "kind", rule=Rule(parse=str.upper)),
        Field("code", "code", rule=Rule(blank=needs_code, required_if=lambda v: v["kind"] == "A")),
        Field("only_b", "only_b", rule=Rule(only_if=lambda v: v["kind"] == "B")),
        Field("school", "school", column="school_id", rule=normalize.looked_up(
            "schools", blank=None, unmatched=lambda t: Invalid("nope", f"{t} unknown", ""))),
    ))
    labels = ["key", "kind", "code", "only_b", "school"]

    a = _build(spec, ["1", "a", "", "x", "101"], labels, {"101": 7})
    b = _build(spec, ["2", "b", "", "x", "999"], labels, {"101": 7})

    assert a.district_id == "1" and a.values == {"kind": "A", "code": None, "only_b": None, "school_id": 7}
    assert [(i.code, i.column) for i in a.issues] == [("code_required", "code")]
    assert b.values == {"kind": "B", "code": None, "only_b": "x", "school_id": None}
    assert [(i.code, i.message) for i in b.issues] == [("nope", "999 unknown")]
