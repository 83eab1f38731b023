from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from schools.management.districts import DISTRICT_NOT_FOUND
from schools.models import School
from users.tests.factories import make_district, make_school

pytestmark = pytest.mark.django_db


@pytest.fixture
def write_csv(tmp_path):
    def write(text: str, name: str = "schools.csv", encoding: str = "utf-8") -> str:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return str(path)

    return write


def run(path: str, slug: str) -> str:
    out = StringIO()
    call_command("import_schools", path, "--district", slug, stdout=out, stderr=StringIO())
    return out.getvalue()


def schools_of(district) -> list[tuple[str, str]]:
    return list(School.objects.filter(district=district).order_by("sis_id").values_list("sis_id", "name"))


def test_running_twice_updates_instead_of_duplicating(write_csv):
    district = make_district(slug="springfield")
    first = write_csv("Name,SIS ID\nFirst Street ES,101\nLincoln MS,201\n")

    assert "2 created, 0 updated, 0 unchanged" in run(first, "springfield")

    second = write_csv("Name,SIS ID\nFirst Street Elementary,101\nLincoln MS,201\nRoosevelt HS,301\n", "again.csv")
    assert "1 created, 1 updated, 1 unchanged" in run(second, "springfield")

    assert schools_of(district) == [
        ("101", "First Street Elementary"),
        ("201", "Lincoln MS"),
        ("301", "Roosevelt HS"),
    ]


def test_same_sis_id_in_another_district_is_left_alone(write_csv):
    district = make_district(slug="springfield")
    other = make_district(slug="shelbyville")
    make_school(other, name="Shelbyville ES", sis_id="101")

    run(write_csv("Name,SIS ID\nFirst Street ES,101\n"), "springfield")

    assert schools_of(district) == [("101", "First Street ES")]
    assert schools_of(other) == [("101", "Shelbyville ES")]


def test_sis_id_keeps_leading_zeros_and_spaces_are_trimmed(write_csv):
    district = make_district(slug="springfield")

    run(write_csv("\ufeffName , SIS ID\n  Oak Grove ES  , 0102 \n"), "springfield")

    assert schools_of(district) == [("0102", "Oak Grove ES")]


def test_windows_1252_file_is_read(write_csv):
    district = make_district(slug="springfield")

    run(write_csv("Name,SIS ID\r\nEscuela Año Nuevo,401\r\n", encoding="cp1252"), "springfield")

    assert schools_of(district) == [("401", "Escuela Año Nuevo")]


def test_a_bad_row_saves_nothing_and_names_the_line(write_csv):
    district = make_district(slug="springfield")
    path = write_csv("Name,SIS ID\nFirst Street ES,101\n,102\n")
    err = StringIO()

    with pytest.raises(CommandError, match="Nothing was imported: 1 row"):
        call_command("import_schools", path, "--district", "springfield", stdout=StringIO(), stderr=err)

    assert "Line 3: Name:" in err.getvalue()
    assert schools_of(district) == []


def test_missing_headings_are_reported(write_csv):
    make_district(slug="springfield")

    with pytest.raises(CommandError, match="Missing: SIS ID"):
        run(write_csv("Name,Code\nFirst Street ES,101\n"), "springfield")


def test_unknown_district(write_csv):
    with pytest.raises(CommandError, match=DISTRICT_NOT_FOUND.split("'")[0]):
        run(write_csv("Name,SIS ID\nA,1\n"), "nowhere")


def test_dry_run_saves_nothing(write_csv):
    district = make_district(slug="springfield")
    out = StringIO()

    call_command(
        "import_schools", write_csv("Name,SIS ID\nA,1\n"), "--district", "springfield", "--dry-run", stdout=out
    )

    assert "Dry run, nothing saved: 1 created" in out.getvalue()
    assert schools_of(district) == []


EXPORTS = Path(__file__).resolve().parents[3] / "imports" / "tests" / "fixtures" / "exports"


@pytest.mark.parametrize(("path", "expected"), [
    ("sds_v1/School.csv", [("201", "Maple Elementary"), ("202", "Valley High")]),
    ("oneroster_12/orgs.csv", [("201", "Maple Elementary"), ("202", "Valley High")]),  # the district, state and department are not schools
    ("sds_v21/orgs.csv", [("201", "Maple Elementary"), ("202", "Valley High")]),  # nor the ministry or the college
    ("clever/schools.csv", [("201", "Maple Elementary"), ("202", "Valley High")]),
])
def test_roster_exports_school_lists_are_read_as_they_come(path, expected):
    district = make_district(slug="maple")

    assert "2 created, 0 updated, 0 unchanged" in run(str(EXPORTS / path), "maple")
    assert schools_of(district) == expected
    assert "0 created, 0 updated, 2 unchanged" in run(str(EXPORTS / path), "maple")
