"""Student Demographics rows, built by the same pipeline as User Data rows from the type's declaration."""
from pathlib import Path

import pytest

from imports.pipeline.mapping import plan_columns, propose_field_mapping
from imports.pipeline.reading import inspect_file, iter_rows
from imports.pipeline.rows import RowBuilder
from imports.tests.factories import csv_text
from imports.types import STUDENT_DEMOGRAPHICS, USER_DATA
from imports.types.demographics import AMERICAN_INDIAN, ASIAN, BLACK, WHITE

ARTICLE_HEADER = (
    "DistrictUserID", "Grade", "Gender", "Race", "Hispanic or Latino", "English Language Learner",
    "Special Education", "Economically Disadvantaged", "Migrant",
)
FLAGS = ("hispanic_latino", "limited_english", "disabled", "economically_disadvantaged", "migrant")
# OneRoster 1.1 demographics.csv, every column in the published order.
ONEROSTER_HEADER = (
    "sourcedId", "status", "dateLastModified", "birthDate", "sex", "americanIndianOrAlaskaNative", "asian",
    "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth",
    "publicSchoolResidenceStatus",
)


def _build(tmp_path: Path, rows, header, spec=STUDENT_DEMOGRAPHICS):
    path = tmp_path / "demographics.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    info = inspect_file(path, path.name)
    proposal = propose_field_mapping(info.column_labels, has_header=True, spec=spec)
    mapping = {**proposal.suggestions, **proposal.matched}
    builder = RowBuilder(file_name=path.name, plan=plan_columns(info.column_labels, mapping, {}, spec), school_mapping={}, spec=spec)
    return [builder.build(raw.row, raw.cells) for raw in iter_rows(path, info)], proposal


def test_the_articles_headings_match_at_once_and_each_field_is_read(tmp_path):
    rows, proposal = _build(tmp_path, [["000123", "0", "Female", "Asian;White", "Y", "1", "N", "0", "Y"]], ARTICLE_HEADER)

    assert set(proposal.matched) == {"district_id", "grade", "gender", "race", *FLAGS}
    row = rows[0]
    assert not row.issues
    assert row.district_id == "000123"
    assert row.values["grade"] == "K"  # 0 is Kindergarten in this import
    assert row.values["gender"] == "F"
    assert row.values["race"] == f"{ASIAN};{WHITE}"
    assert [row.values[k] for k in FLAGS] == [True, True, False, False, True]


def test_a_blank_flag_in_a_mapped_column_is_no_but_a_field_without_a_column_is_not_given(tmp_path):
    header = ("DistrictUserID", "Hispanic or Latino", "Special Education")
    rows, _ = _build(tmp_path, [["1", "", ""]], header)

    values = rows[0].values
    assert values["hispanic_latino"] is False and values["disabled"] is False
    # No column: never changed (None is "not given"), whatever the article says about blanks.
    assert values["migrant"] is None and values["limited_english"] is None and values["grade"] is None


def test_the_user_import_still_never_erases_a_flag_on_a_blank(tmp_path):
    header = ("First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID", "Limited English")
    rows, _ = _build(tmp_path, [["Ada", "L", "1", "0", "5", "", "101", ""]], header, spec=USER_DATA)

    assert rows[0].values["limited_english"] is None


@pytest.mark.parametrize(("cell", "stored"), [
    ("K", "K"), ("0", "K"), ("PK", "PK"), ("Pre-K", "PK"), ("1", "1"), ("12", "12"), ("", None),
])
def test_grades_as_the_article_lists_them_and_a_blank_keeps_the_grade(tmp_path, cell, stored):
    rows, _ = _build(tmp_path, [["1", cell]], ("DistrictUserID", "Grade"))

    assert not rows[0].issues
    assert rows[0].values["grade"] == stored


def test_a_grade_out_of_range_is_an_error_naming_the_column(tmp_path):
    rows, _ = _build(tmp_path, [["1", "13"]], ("DistrictUserID", "Grade"))

    (issue,) = rows[0].issues
    assert (issue.code, issue.row, issue.column) == ("invalid_grade", 2, "Grade")


@pytest.mark.parametrize(("cell", "stored"), [
    ("M", "M"), ("F", "F"), ("Male", "M"), ("female", "F"), ("X", "X"), ("Non-binary", "X"), ("other", "X"),
    ("unspecified", None), ("", None),
])
def test_gender_reads_the_letters_the_words_and_onerosters_sex(tmp_path, cell, stored):
    rows, _ = _build(tmp_path, [["1", cell]], ("DistrictUserID", "Gender"))

    assert not rows[0].issues
    assert rows[0].values["gender"] == stored


def test_an_unknown_gender_or_race_is_an_error_with_the_accepted_values(tmp_path):
    rows, _ = _build(tmp_path, [["1", "Q", "Asian;Martian"]], ("DistrictUserID", "Gender", "Race"))

    codes = {i.code: i for i in rows[0].issues}
    assert set(codes) == {"invalid_gender", "invalid_race"}
    assert codes["invalid_race"].message == '"Martian" is not a race category.'
    assert "Two or more races" in codes["invalid_race"].suggestion


def test_race_keeps_every_category_given_in_its_order_never_folded(tmp_path):
    rows, _ = _build(tmp_path, [["1", "black or african american; Hispanic/Latino;Black"]], ("DistrictUserID", "Race"))

    assert rows[0].values["race"] == f"{BLACK};Hispanic/Latino"


def test_a_oneroster_demographics_file_is_read_as_is(tmp_path):
    rows, proposal = _build(tmp_path, [
        ["s-1", "active", "2024-01-01", "2011-04-02", "female", "true", "false", "false", "false", "true", "false",
         "false", "US", "IL", "Springfield", ""],
        ["s-2", "active", "2024-01-01", "2012-05-06", "male", "false", "false", "true", "false", "false", "false",
         "true", "", "", "", ""],
        ["s-3", "active", "2024-01-01", "", "unspecified", "", "", "", "", "", "", "", "", "", "", ""],
    ], ONEROSTER_HEADER)

    # Every heading it has matches without a click: the key, sex, birthDate, the flag and the six race columns.
    assert {"district_id", "gender", "birthdate", "hispanic_latino", "race_asian", "race_two_or_more"} <= set(proposal.matched)
    assert not proposal.suggestions
    first, second, third = rows
    assert not (first.issues or second.issues or third.issues)
    assert first.district_id == "s-1"
    assert first.values["race"] == f"{AMERICAN_INDIAN};{WHITE}"
    assert str(first.values["birthdate"]) == "2011-04-02"
    assert (first.values["gender"], first.values["hispanic_latino"]) == ("F", False)
    assert (second.values["race"], second.values["hispanic_latino"]) == (BLACK, True)
    # No race given at all: the stored Race is kept, like any blank.
    assert third.values["race"] is None and third.values["gender"] is None
    assert not any(k.startswith("race_") for k in first.values)  # the parts are never stored


def test_a_race_column_of_its_own_wins_over_onerosters_columns(tmp_path):
    rows, _ = _build(tmp_path, [["1", "Asian", "true"]], ("DistrictUserID", "Race", "white"))

    assert rows[0].values["race"] == ASIAN


def test_a_oneroster_race_column_that_is_not_true_or_false_is_an_error_on_that_column(tmp_path):
    rows, _ = _build(tmp_path, [["1", "maybe"]], ("userSourcedId", "asian"))

    (issue,) = rows[0].issues
    assert (issue.code, issue.column, issue.field) == ("invalid_flag", "asian", "race_asian")


def test_a_first_row_holding_a_race_word_is_still_data_in_a_headerless_user_file(tmp_path):
    path = tmp_path / "headerless.csv"
    path.write_text("Ada,White,1001,0,5,ada@example.org,101\r\nAlan,Asian,1002,0,6,alan@example.org,101\r\n", encoding="utf-8")

    assert inspect_file(path, path.name).has_header is False
