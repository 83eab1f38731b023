"""Value mapping in the pipeline: the suggestions real exports need, and the admin's choice applied before the rule."""
import pytest

from imports.pipeline import normalize
from imports.pipeline.mapping import SchoolChoice, plan_columns, propose_school_mapping
from imports.pipeline.rows import RowBuilder, value_mapper
from imports.types import SPECS, USER_DATA

LABELS = ["First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID", "Race", "Migrant"]
MAPPING = {USER_DATA.heading_to_key.get(label.replace(" ", "").casefold(), ""): label for label in LABELS}


@pytest.mark.parametrize(("role", "expected"), [
    ("student", "student"), ("teacher", "staff"), ("administrator", "staff"), ("aide", "staff"), ("proctor", "staff"),
    ("districtAdministrator", "staff"), ("siteAdministrator", "staff"), ("principal", "staff"),
    ("guardian", "skip"), ("parent", "skip"), ("relative", "skip"), ("janitor", None),
])
def test_oneroster_roles_are_suggested(role, expected):
    assert normalize.suggest_user_type(role) == expected


@pytest.mark.parametrize(("code", "expected"), [
    ("IT", "PK"), ("PR", "PK"), ("PK", "PK"), ("TK", "PK"), ("KG", "K"), ("01", "1"), ("09", "9"), ("12", "12"),
    ("13", None), ("PS", "skip"), ("UG", "skip"), ("PS2", "skip"), ("undergraduate", "skip"), ("postgraduate", "skip"), ("Other", None),
])
def test_ceds_grades_are_suggested_and_the_others_left_to_the_admin(code, expected):
    assert normalize.suggest_grade(code) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Y", "Y"), ("Yes", "Y"), ("True", "Y"), ("1", "Y"), ("T", "Y"),
    ("N", "N"), ("No", "N"), ("False", "N"), ("0", "N"), ("F", "N"), ("maybe", None),
])
def test_flag_spellings_are_suggested(text, expected):
    assert normalize.suggest_flag(text) == expected


def _build(cells, value_mapping):
    plan = plan_columns(LABELS, {k: v for k, v in MAPPING.items() if k}, {}, USER_DATA)
    builder = RowBuilder(file_name="f.csv", plan=plan, school_mapping={"101": 7}, value_mapping=value_mapping, spec=USER_DATA)
    return builder.build(2, cells)


def test_the_choice_is_applied_before_the_rule_and_skip_leaves_the_row_out():
    mapping = {"user_type": {"teacher": "staff", "guardian": "skip"}, "grade": {"13": "12"},
               "race": {"Caucasian": "White"}, "migrant": {"T": "Y"}}
    row = _build(["A", "B", "1", "student", "13", "", "101", "Asian; Caucasian", "T"], mapping)
    assert not row.issues and row.values["grade"] == "12" and row.values["race"] == "Asian;White" and row.values["migrant"] is True
    assert _build(["A", "B", "2", "teacher", "", "a@b.org", "101", "", ""], mapping).values["user_type"] == "staff"
    skipped = _build(["A", "B", "3", "guardian", "", "", "101", "", ""], mapping)
    assert skipped.skipped and not skipped.issues
    unmapped = _build(["A", "B", "4", "student", "13", "", "101", "", ""], {})
    assert [i.code for i in unmapped.issues] == ["invalid_grade"]


@pytest.mark.parametrize(("field_coding", "value", "label"), [
    (normalize.GRADE_CODES, "UG", "Skip these rows (not K-12)"), (normalize.GRADE_CODES, "PS1", "Skip these rows (not K-12)"),
    (normalize.USER_TYPE_CODES_MAP, "professor", "Skip these rows (not K-12)"), (normalize.USER_TYPE_CODES_MAP, "lecturer", "Skip these rows (not K-12)"),
    (normalize.GRADE_CODES, "13", "Skip these rows"), (normalize.USER_TYPE_CODES_MAP, "guardian", "Skip these rows"),
])
def test_post_secondary_values_are_suggested_for_skipping_as_not_k12(field_coding, value, label):
    assert field_coding.skip_label(value) == label
    if label.endswith("(not K-12)"):
        assert field_coding.suggest(value) == normalize.SKIP


def test_every_coded_field_offers_skip_these_rows():
    coded = [f for spec in SPECS for f in spec.fields if f.rule.coding is not None]
    assert coded and all(f.rule.coding.can_skip for f in coded)


def test_a_cell_that_says_skip_is_a_value_not_an_instruction():
    remap = value_mapper(normalize.choice_of_user_type(blank=None), {"guardian": normalize.SKIP})
    assert remap("skip") == "skip"  # then User Type says it is not recognised, like any unknown word
    assert normalize.user_type(remap("skip")).__class__ is normalize.Invalid
    assert remap("guardian") is not None and remap("guardian") != "guardian"


def test_a_school_value_mapped_to_skip_leaves_its_rows_out_and_other_values_still_must_match():
    plan = plan_columns(LABELS, {k: v for k, v in MAPPING.items() if k}, {}, USER_DATA)
    builder = RowBuilder(file_name="f.csv", plan=plan, school_mapping={"101": 7, "901": normalize.SKIP}, spec=USER_DATA)

    college = builder.build(2, ["A", "B", "1", "student", "5", "", "901", "", ""])
    assert college.skipped and not college.issues
    school = builder.build(3, ["A", "B", "2", "student", "5", "", "101", "", ""])
    assert not school.skipped and school.values["school_id"] == 7
    unknown = builder.build(4, ["A", "B", "3", "student", "5", "", "902", "", ""])
    assert not unknown.skipped and [i.code for i in unknown.issues] == ["school_unmapped"]


def test_a_college_of_the_upload_is_proposed_for_skipping_unless_a_school_has_its_code():
    schools = [SchoolChoice(id=7, sis_id="201", name="Maple Elementary")]
    assert propose_school_mapping(["201", "901"], schools, not_k12=["901"]) == {"201": 7, "901": normalize.SKIP}
    assert propose_school_mapping(["901"], [SchoolChoice(id=8, sis_id="901", name="Dual enrollment")], not_k12=["901"]) == {"901": 8}
