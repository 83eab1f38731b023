"""The SIS field set end to end: a file with the column is imported, the user changed, the export shows it."""
import csv
import datetime
import io

import pytest

from imports.models import ImportChange, ImportIssue
from imports.services import validation
from imports.tests.factories import HEADER, make_import_job, run_job, staff, student, write_csv
from users.exports import user_export_write_csv
from users.models import User
from users.tests.factories import make_admin, make_district, make_user

pytestmark = pytest.mark.django_db


def _import(district, tmp_path, rows, extra=(), name="roster.csv"):
    header = HEADER + tuple(extra)
    job = make_import_job(district, [write_csv(tmp_path / name, rows, header=header)])
    return job


def _export(district) -> dict[str, dict]:
    out = io.StringIO()
    user_export_write_csv(district=district, stream=out)
    return {row["District ID"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}


def _errors(job):
    return list(ImportIssue.objects.filter(job=job, severity="error").values_list("code", "row", "message"))


# --- username ---

def test_a_username_from_the_file_is_the_users_username_kept_on_later_imports(district, school, tmp_path):
    run_job(_import(district, tmp_path, [student("1", Username="ada.l")], ["Username"]))
    assert User.objects.get(district_user_id="1").username == "ada.l"
    assert _export(district)["1"]["Username"] == "ada.l"

    # A later file with the cell blank, or without the column, never changes it.
    run_job(_import(district, tmp_path, [student("1", Username="", **{"Last Name": "Byron"})], ["Username"], name="b.csv"))
    run_job(_import(district, tmp_path, [student("1", **{"Last Name": "King"})], name="c.csv"))

    ada = User.objects.get(district_user_id="1")
    assert (ada.username, ada.last_name) == ("ada.l", "King")


def test_a_blank_username_is_generated_as_before(district, school, tmp_path):
    run_job(_import(district, tmp_path, [student("1", Username="")], ["Username"]))

    assert User.objects.get(district_user_id="1").username == "springfield.1"


def test_a_username_of_another_user_of_the_district_is_an_error_naming_both(district, school, tmp_path):
    make_user(district, username="ada.l", district_user_id="900")

    job = _import(district, tmp_path, [student("1", Username="ADA.L")], ["Username"])

    [(code, row, message)] = _errors(job)
    assert (code, row) == ("username_taken", 2)
    assert message == validation.USERNAME_TAKEN_HERE.format(username="ADA.L", owner="900", district_id="1")


def test_a_username_held_in_another_district_is_an_error_naming_no_one(district, school, tmp_path):
    make_user(make_district(slug="shelbyville"), username="ada.l", district_user_id="secret-77")

    job = _import(district, tmp_path, [student("1", Username="Ada.L")], ["Username"])

    [(code, row, message)] = _errors(job)
    assert (code, message) == ("username_taken", validation.USERNAME_TAKEN_ELSEWHERE.format(username="Ada.L"))
    assert "secret-77" not in message and "shelbyville" not in message.lower()


def test_a_district_administrators_username_is_taken_too(district, school, tmp_path):
    make_admin(district, username="boss")

    job = _import(district, tmp_path, [student("1", Username="boss")], ["Username"])

    assert [c for c, _, _ in _errors(job)] == ["username_taken"]


def test_the_users_own_username_is_no_error(district, school, tmp_path):
    make_user(district, username="ada.l", district_user_id="1", school=school, grade="5")

    job = _import(district, tmp_path, [student("1", Username="ada.l")], ["Username"])

    assert _errors(job) == []


def test_two_rows_with_one_username_are_both_errors(district, school, tmp_path):
    job = _import(district, tmp_path, [student("1", Username="ada"), student("2", Username="Ada")], ["Username"])

    assert sorted((c, r) for c, r, _ in _errors(job)) == [("duplicate_username", 2), ("duplicate_username", 3)]
    assert job.validation_summary["counts"]["new"] == 0


def test_a_generated_username_never_takes_one_the_file_gives_another_row(district, school, tmp_path):
    rows = [student("1", Username="springfield.2"), student("2", Username="")]

    run_job(_import(district, tmp_path, rows, ["Username"]))

    assert dict(User.objects.filter(district=district).values_list("district_user_id", "username")) == {
        "1": "springfield.2", "2": "springfield.2-2",
    }


# --- the demographic fields: stored, exported, and in the change log ---

DEMOGRAPHICS = ("Prefix", "Suffix", "Birthdate", "Gender", "Ethnicity", "Race", "Disabled", "Migrant")


def test_every_demographic_field_is_imported_and_exported(district, school, tmp_path):
    cells = {"Prefix": "Ms.", "Suffix": "III", "Birthdate": "40635", "Gender": "Female",
             "Ethnicity": "Hispanic or Latino", "Race": "asian;white", "Disabled": "Y", "Migrant": "Y"}

    run_job(_import(district, tmp_path, [student("1", **cells)], DEMOGRAPHICS))

    ada = User.objects.get(district_user_id="1")
    assert (ada.prefix, ada.suffix, ada.birthdate, ada.gender, ada.hispanic_latino, ada.race, ada.disabled, ada.migrant) == (
        "Ms.", "III", datetime.date(2011, 4, 2), "F", True, "Asian;White", True, True,
    )
    assert [_export(district)["1"][h] for h in DEMOGRAPHICS] == ["Ms.", "III", "2011-04-02", "F", "Y", "Asian;White", "Y", "Y"]


@pytest.mark.parametrize(
    ("heading", "before", "text", "after", "logged"),
    [
        ("Prefix", {"prefix": "Mr."}, "Dr.", "Dr.", ["Mr.", "Dr."]),
        ("Suffix", {"suffix": "Jr."}, "Sr.", "Sr.", ["Jr.", "Sr."]),
        ("Birthdate", {"birthdate": datetime.date(2011, 4, 2)}, "2011-04-03", "2011-04-03", ["2011-04-02", "2011-04-03"]),
        ("Gender", {"gender": "M"}, "Non-binary", "X", ["M", "X"]),
        ("Ethnicity", {"hispanic_latino": False}, "Y", "Y", [False, True]),
        ("Race", {"race": "White"}, "White;Asian", "White;Asian", ["White", "White;Asian"]),
        ("Disabled", {"disabled": False}, "Y", "Y", [False, True]),
        ("Migrant", {"migrant": True}, "N", "N", [True, False]),
    ],
)
def test_a_changed_field_is_written_logged_and_exported(district, school, no_safety_hold, tmp_path, heading, before, text, after, logged):
    make_user(district, district_user_id="1", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="", **before)

    job = run_job(_import(district, tmp_path, [student("1", **{heading: text})], [heading]))

    [change] = ImportChange.objects.filter(job=job)
    [(column, values)] = change.changes.items()
    assert values == logged
    assert _export(district)["1"][heading] == after


def test_a_blank_demographic_cell_never_erases_the_stored_value(district, school, tmp_path):
    make_user(district, district_user_id="1", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="",
              gender="F", birthdate=datetime.date(2011, 4, 2), race="Asian")

    run_job(_import(district, tmp_path, [student("1", Gender="", Birthdate="", Race="")], ["Gender", "Birthdate", "Race"]))

    ada = User.objects.get(district_user_id="1")
    assert (ada.gender, ada.birthdate, ada.race) == ("F", datetime.date(2011, 4, 2), "Asian")


def test_a_doubtful_birthdate_is_a_warning_and_the_import_goes_on(district, school, tmp_path):
    job = run_job(_import(district, tmp_path, [student("1", Birthdate="4/2/2011")], ["Birthdate"]))

    assert ImportIssue.objects.filter(job=job, severity="warning", code="birthdate_ambiguous").exists()
    assert User.objects.get(district_user_id="1").birthdate == datetime.date(2011, 4, 2)


def test_a_staff_file_without_a_grade_column_imports(district, school, tmp_path):
    header = ("First Name", "Last Name", "District ID", "User Type", "Email Address", "School SIS ID")
    job = make_import_job(
        district, [write_csv(tmp_path / "roster.csv", [staff("T-1"), staff("T-2", Grade="7")], header=header)],
        fixed_values={"grade": ""},
    )

    run_job(job)

    assert list(User.objects.filter(district=district).values_list("grade", flat=True)) == ["", ""]


def test_a_staff_rows_grade_is_ignored_when_the_file_has_one(district, school, tmp_path):
    job = run_job(_import(district, tmp_path, [staff("T-1", Grade="13"), student("1")]))

    assert _errors(job) == []
    assert User.objects.get(district_user_id="T-1").grade == ""
