"""The SIS field set, one row of the field table at a time, through the pure row builder (no database)."""
import datetime

import pytest

from imports.pipeline.issues import ERROR, WARNING
from imports.tests.factories import HEADER, build_user_rows, staff, student, write_csv
from imports.types import USER_DATA


def _one_row(tmp_path, **cells):
    header = HEADER + tuple(h for h in cells if h not in HEADER)
    path = write_csv(tmp_path / "roster.csv", [student("1", **cells)], header=header)
    [row] = build_user_rows(path)
    return row


def _codes(row):
    return [(i.severity, i.code, i.column) for i in row.issues]


# --- username ---

def test_a_username_cell_is_the_users_username(tmp_path):
    row = _one_row(tmp_path, Username="ada.l")

    assert row.issues == [] and row.values["username"] == "ada.l"


def test_a_blank_username_is_not_given_so_one_is_generated_and_a_stored_one_kept(tmp_path):
    assert _one_row(tmp_path, Username="").values["username"] is None


def test_a_username_with_a_space_is_an_error_naming_the_column(tmp_path):
    row = _one_row(tmp_path, Username="ada l")

    assert _codes(row) == [(ERROR, "invalid_username", "Username")]
    assert 'Username "ada l"' in row.issues[0].message


# --- birthdate ---

@pytest.mark.parametrize("text", ["2011-04-02", "4/13/2011", "40635", "2011-04-02 00:00:00"])
def test_birthdates_in_iso_us_and_excel_serial_spellings(tmp_path, text):
    row = _one_row(tmp_path, Birthdate=text)

    expected = datetime.date(2011, 4, 13) if text == "4/13/2011" else datetime.date(2011, 4, 2)
    assert row.issues == [] and row.values["birthdate"] == expected


def test_a_birthdate_that_reads_two_ways_is_a_warning_saying_how_it_was_read(tmp_path):
    row = _one_row(tmp_path, Birthdate="4/2/2011")

    assert _codes(row) == [(WARNING, "birthdate_ambiguous", "Birthdate")]
    assert "April 2, 2011" in row.issues[0].message
    assert row.values["birthdate"] == datetime.date(2011, 4, 2)


@pytest.mark.parametrize(("text", "code"), [("4/4/2999", "birthdate_future"), ("1900-01-01", "birthdate_too_old")])
def test_a_future_or_century_old_birthdate_is_a_warning_and_kept(tmp_path, text, code):
    row = _one_row(tmp_path, Birthdate=text)

    assert _codes(row) == [(WARNING, code, "Birthdate")]
    assert row.values["birthdate"] is not None


def test_a_birthdate_that_is_no_date_is_an_error(tmp_path):
    assert _codes(_one_row(tmp_path, Birthdate="soon")) == [(ERROR, "invalid_birthdate", "Birthdate")]


# --- prefix, suffix ---

def test_prefix_and_suffix_are_free_text_within_their_column_size(tmp_path):
    row = _one_row(tmp_path, Prefix="Dr.", Suffix="Jr.")
    assert row.issues == [] and (row.values["prefix"], row.values["suffix"]) == ("Dr.", "Jr.")

    too_long = _one_row(tmp_path, Prefix="D" * 33)
    assert _codes(too_long) == [(ERROR, "value_too_long", "Prefix")]


# --- gender ---

@pytest.mark.parametrize(
    ("text", "stored"),
    [("M", "M"), ("f", "F"), ("X", "X"), ("Male", "M"), ("Female", "F"), ("Non-binary", "X"), ("male", "M"),
     ("other", "X"), ("unspecified", "")],
)
def test_gender_spellings(tmp_path, text, stored):
    row = _one_row(tmp_path, Gender=text)

    assert row.issues == [] and row.values["gender"] == stored


def test_an_unknown_gender_is_an_error(tmp_path):
    assert _codes(_one_row(tmp_path, Gender="Q")) == [(ERROR, "invalid_gender", "Gender")]


# --- ethnicity ---

@pytest.mark.parametrize(
    ("text", "stored"), [("Y", True), ("N", False), ("Hispanic or Latino", True), ("Not Hispanic or Latino", False)],
)
def test_ethnicity_is_a_flag_or_the_words(tmp_path, text, stored):
    row = _one_row(tmp_path, Ethnicity=text)

    assert row.issues == [] and row.values["hispanic_latino"] is stored


def test_the_heading_hispanic_or_latino_is_the_ethnicity_field(tmp_path):
    header = HEADER + ("Hispanic or Latino",)
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"Hispanic or Latino": "Y"})], header=header)

    [row] = build_user_rows(path)

    assert row.values["hispanic_latino"] is True


# --- race ---

def test_several_races_are_kept_as_given_in_the_canonical_spelling(tmp_path):
    row = _one_row(tmp_path, Race="white; ASIAN ;Hispanic/Latino")

    assert row.issues == [] and row.values["race"] == "White;Asian;Hispanic/Latino"


def test_an_unknown_race_is_an_error_naming_it(tmp_path):
    row = _one_row(tmp_path, Race="White;Martian")

    assert _codes(row) == [(ERROR, "invalid_race", "Race")]
    assert '"Martian"' in row.issues[0].message


# --- disabled, migrant ---

def test_disabled_and_migrant_are_flags_and_special_education_is_disabled(tmp_path):
    header = HEADER + ("Special Education", "Migrant")
    path = write_csv(tmp_path / "roster.csv", [student("1", **{"Special Education": "Y", "Migrant": "yes"})], header=header)

    [row] = build_user_rows(path)

    assert row.issues == [] and (row.values["disabled"], row.values["migrant"]) == (True, True)


def test_a_flag_that_is_not_yes_or_no_is_an_error(tmp_path):
    assert _codes(_one_row(tmp_path, Migrant="maybe")) == [(ERROR, "invalid_flag", "Migrant")]


# --- grade ---

def test_a_staff_rows_grade_is_ignored_without_complaint_and_a_blank_one_is_fine(tmp_path):
    path = write_csv(tmp_path / "staff.csv", [staff("T-1", Grade="13"), staff("T-2", Grade="")])

    rows = build_user_rows(path)

    assert [r.issues for r in rows] == [[], []]
    assert [r.values["grade"] for r in rows] == [None, None]


def test_the_sample_file_has_every_new_heading():
    headings = USER_DATA.sample_headings
    start = headings.index("Username")
    assert headings[start:start + 9] == (
        "Username", "Prefix", "Suffix", "Birthdate", "Gender", "Ethnicity", "Race", "Disabled", "Migrant",
    )
