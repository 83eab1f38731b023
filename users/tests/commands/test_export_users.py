import csv
import io
import json
from io import StringIO

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from users.models import AuditAction, AuditEvent, UserType
from users.tests.factories import make_admin, make_custom_group, make_district, make_school, make_user

pytestmark = pytest.mark.django_db

HEADINGS = [
    "First Name",
    "Middle Name",
    "Last Name",
    "District ID",
    "User Type",
    "Grade",
    "Email Address",
    "School SIS ID",
    "State User ID",
    "Alternate User ID",
    "Limited English",
    "Economically Disadvantaged",
    "Username",
    "Active",
    "Custom Groups",
    # Fields added since: after the export's own columns, so the ones above keep their positions.
    "Prefix",
    "Suffix",
    "Birthdate",
    "Gender",
    "Ethnicity",
    "Race",
    "Disabled",
    "Migrant",
    "OneRoster sourcedId",
]


@pytest.fixture
def springfield():
    district = make_district(slug="springfield")
    school = make_school(district, name="First Street ES", sis_id="0101")
    ava = make_user(
        district,
        username="ava.martinez",
        first_name="Ava",
        middle_name="Rose",
        last_name="Martinez",
        district_user_id="000123",
        grade="PK",
        school=school,
        email="ava@example.org",
        state_user_id="S-1",
        alternate_user_id="ALT-9",
        limited_english=True,
        economically_disadvantaged=False,
    )
    make_staff = make_user(
        district,
        username="m.garcia",
        first_name="Maria",
        last_name="Garcia",
        district_user_id="T1001",
        user_type=UserType.STAFF,
        grade="",
        school=None,
        is_active=False,
    )
    make_custom_group(district, name="Robotics Club", members=[ava])
    make_custom_group(district, name="Grade 5 Reading", members=[ava])
    return district, ava, make_staff


def export(*args) -> str:
    out = StringIO()
    call_command("export_users", "--district", "springfield", *args, stdout=out)
    return out.getvalue()


def rows_by_username(rows) -> dict:
    return {row["Username"]: row for row in rows}


def test_csv_parses_back_with_exactly_the_headings(springfield):
    reader = csv.DictReader(io.StringIO(export()))
    rows = rows_by_username(reader)

    assert reader.fieldnames == HEADINGS
    assert set(rows) == {"ava.martinez", "m.garcia"}
    assert rows["ava.martinez"] == {
        "First Name": "Ava",
        "Middle Name": "Rose",
        "Last Name": "Martinez",
        "District ID": "000123",
        "User Type": "0",
        "Grade": "Pre-K",
        "Email Address": "ava@example.org",
        "School SIS ID": "0101",
        "State User ID": "S-1",
        "Alternate User ID": "ALT-9",
        "Limited English": "Y",
        "Economically Disadvantaged": "N",
        "Username": "ava.martinez",
        "Active": "Y",
        "Custom Groups": "Grade 5 Reading;Robotics Club",
        "Prefix": "",
        "Suffix": "",
        "Birthdate": "",
        "Gender": "",
        "Ethnicity": "N",
        "Race": "",
        "Disabled": "N",
        "Migrant": "N",
        "OneRoster sourcedId": "",
    }
    staff = rows["m.garcia"]
    assert (staff["User Type"], staff["Grade"], staff["School SIS ID"], staff["Active"], staff["Custom Groups"]) == (
        "1",
        "",
        "",
        "N",
        "",
    )


def test_demographics_are_exported_in_the_files_spelling(springfield):
    import datetime

    district, _, _ = springfield
    make_user(
        district, username="jo", prefix="Dr.", suffix="Jr.", birthdate=datetime.date(2011, 4, 2), gender="X",
        hispanic_latino=True, race="Asian;White", disabled=True, migrant=True,
    )

    row = rows_by_username(csv.DictReader(io.StringIO(export())))["jo"]

    assert [row[h] for h in HEADINGS[-9:-1]] == ["Dr.", "Jr.", "2011-04-02", "X", "Y", "Asian;White", "Y", "Y"]


def test_grades_are_written_as_the_file_spells_them(springfield):
    district, _, _ = springfield
    for grade in ("K", "1", "12"):
        make_user(district, username=f"g{grade}", grade=grade)

    rows = rows_by_username(csv.DictReader(io.StringIO(export())))

    assert [rows[f"g{g}"]["Grade"] for g in ("K", "1", "12")] == ["K", "1", "12"]


def test_only_the_districts_users_are_exported(springfield):
    make_user(make_district(slug="shelbyville"), username="other.kid")

    assert "other.kid" not in export()


def test_formula_in_a_name_is_neutralised(springfield):
    district, _, _ = springfield
    make_user(district, username="evil", first_name='=HYPERLINK("http://evil.example","Click")', last_name="+SUM(1)")

    row = rows_by_username(csv.DictReader(io.StringIO(export())))["evil"]

    assert row["First Name"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["Last Name"] == "'+SUM(1)"


def test_json_parses_back(springfield):
    rows = rows_by_username(json.loads(export("--format", "json")))

    assert list(rows["ava.martinez"]) == HEADINGS
    assert rows["ava.martinez"]["District ID"] == "000123"
    assert rows["ava.martinez"]["Grade"] == "Pre-K"


def test_xlsx_parses_back(springfield, tmp_path):
    district, _, _ = springfield
    make_user(district, username="evil", first_name="=1+1")
    path = tmp_path / "users.xlsx"

    out = export("--format", "xlsx", "-o", str(path))

    assert f"to {path}" in out
    sheet = openpyxl.load_workbook(path).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == HEADINGS
    rows = {row[12]: dict(zip(HEADINGS, row, strict=True)) for row in values[1:]}
    assert rows["ava.martinez"]["District ID"] == "000123"
    assert rows["evil"]["First Name"] == "'=1+1"  # stored as text, never as a formula


def test_xlsx_needs_an_output_file(springfield):
    with pytest.raises(CommandError, match="-o PATH"):
        export("--format", "xlsx")


def test_csv_to_a_file(springfield, tmp_path):
    path = tmp_path / "users.csv"

    export("-o", str(path))

    with open(path, newline="", encoding="utf-8") as fh:
        assert csv.DictReader(fh).fieldnames == HEADINGS


def test_query_count_does_not_grow_with_users(springfield, django_assert_max_num_queries):
    district, _, _ = springfield
    group = make_custom_group(district, name="Chess")
    school = make_school(district)
    for _ in range(40):
        make_user(district, school=school, custom_groups=[group])
    make_admin(district)

    # district lookup + users (with schools) + one prefetch of custom groups + the audit record
    with django_assert_max_num_queries(4):
        out = export()

    assert out.count("\n") == 1 + 43


def test_every_run_is_on_the_districts_audit_trail(springfield, tmp_path):
    district = springfield[0]
    admin = make_admin(district, username="dana")
    call_command("export_users", "--district", "springfield", stdout=StringIO())
    call_command("export_users", "--district", "springfield", "--format", "xlsx", "-o", str(tmp_path / "u.xlsx"),
                 "--as", "dana", stdout=StringIO())

    first, second = AuditEvent.objects.order_by("id")
    users = district.users.count()
    assert (first.action, first.district, first.actor, first.ip_address) == (AuditAction.EXPORT_USERS, district, None, None)
    assert first.detail == {"format": "csv", "users": users, "to_file": False}
    assert (second.actor, second.detail) == (admin, {"format": "xlsx", "users": users, "to_file": True})


def test_as_must_name_one_of_the_districts_admins(springfield):
    with pytest.raises(CommandError, match='No district administrator "nobody" in springfield.'):
        call_command("export_users", "--district", "springfield", "--as", "nobody", stdout=StringIO())
    assert not AuditEvent.objects.exists()
