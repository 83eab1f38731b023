"""Each format module turns its export into User Data rows as its specification says, and exposes its classes.

The folders are fixtures/exports/ (make_exports.py): the same synthetic people in every format.
"""
import io
import os
import types
import zipfile
from pathlib import Path

import pytest

from imports import formats
from imports.formats import CLASS_ROW_KEYS, common, open_bundle
from imports.pipeline.reading import inspect_file, iter_rows
from imports.tests.fixtures import make_exports

EXPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "exports"
LABELS = {
    "oneroster_11": ("oneroster", "1.1", "OneRoster 1.1"), "oneroster_12": ("oneroster", "1.2", "OneRoster 1.2"),
    "sds_v1": ("sds", "v1", "School Data Sync v1"), "sds_v2": ("sds", "v2", "School Data Sync v2"),
    "sds_v21": ("sds", "v2.1", "School Data Sync v2.1"), "clever": ("clever", "sftp", "Clever district files"),
}


def _open(folder: str, tmp_path):
    return open_bundle([(p.name, str(p)) for p in sorted((EXPORTS / folder).iterdir())], str(tmp_path))


def _people(bundle) -> dict[str, dict[str, str]]:
    """Every written row by District ID (identifier for OneRoster), over all the bundle's user files."""
    out = {}
    for user_file in bundle.files:
        info = inspect_file(user_file.path, user_file.name)
        for raw in iter_rows(user_file.path, info):
            row = dict(zip(info.headers, raw.cells))
            out[row.get("District ID") or row["identifier"]] = row
    return out


@pytest.mark.parametrize("folder", sorted(LABELS))
def test_the_registry_recognises_each_export_loose_and_zipped(folder, tmp_path):
    (tmp_path / "loose").mkdir()
    (tmp_path / "zipped").mkdir()
    loose = _open(folder, tmp_path / "loose")
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        for p in sorted((EXPORTS / folder).iterdir()):
            z.writestr(f"export/{p.name}", p.read_bytes())
    (tmp_path / "export.zip").write_bytes(data.getvalue())
    zipped = open_bundle([("export.zip", str(tmp_path / "export.zip"))], str(tmp_path / "zipped"))

    for bundle in (loose, zipped):
        assert (bundle.kind, bundle.version, bundle.label) == LABELS[folder]
        assert bundle.ignored_files == []
        assert set(_people(bundle)) >= set(make_exports.K12)


def test_plain_files_are_not_a_bundle(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("First Name,Last Name\nAna,Lee\n")
    assert open_bundle([("users.csv", str(path))], str(tmp_path)) is None
    assert formats.plain_upload(["users.csv", "staff.xlsx"]) and not formats.plain_upload(["School.csv", "Student.csv", "Teacher.csv"])


def test_sds_v2_takes_grades_from_its_grade_column(tmp_path):
    people = _people(_open("sds_v2", tmp_path))
    assert (people["ana"]["Grade"], people["ben"]["Grade"]) == ("03", "K")


def test_sds_v21_takes_grades_race_ethnicity_and_flags_from_roles_demographics_and_user_flags(tmp_path):
    people = _people(_open("sds_v21", tmp_path))

    ana, ben = people["ana"], people["ben"]
    assert (ana["Grade"], ana["Race"], ana["Ethnicity"], ana["Birthdate"], ana["Gender"]) == ("03", "White", "Y", "2016-05-01", "female")
    assert (ben["Grade"], ben["Race"], ben["Ethnicity"]) == ("K", "Asian;Black or African American", "N")
    flags = ("Disabled", "Economically Disadvantaged", "Limited English", "Migrant")
    assert [ana[f] for f in flags] == ["Y", "Y", "N", "N"]
    assert [ben[f] for f in flags] == ["N", "N", "Y", "Y"]


@pytest.mark.parametrize("folder", ["oneroster_12", "sds_v2", "sds_v21"])
def test_a_teacher_whose_primary_org_is_a_ministry_or_state_belongs_to_her_school(folder, tmp_path):
    bundle = _open(folder, tmp_path)
    people = _people(bundle)
    assert people["cara"]["School SIS ID"] == "201"
    assert not bundle.warnings


@pytest.mark.parametrize("folder", ["oneroster_12", "sds_v21"])
def test_a_secondary_guardian_role_does_not_make_a_staff_member_a_guardian(folder, tmp_path):
    people = _people(_open(folder, tmp_path))
    assert (people["dev"]["User Type"], people["dev"]["School SIS ID"]) == ("staff", "202")


@pytest.mark.parametrize(("folder", "skipped"), [
    ("oneroster_11", {("Gail Lee", "guardians, parents or relatives"), ("Jay Fox", "marked tobedeleted")}),
    ("oneroster_12", {("Gail Lee", "guardians, parents or relatives"), ("Jay Fox", "marked tobedeleted")}),
    ("sds_v2", {("Gail Lee", "guardians, parents or relatives")}),
    ("sds_v21", {("Gail Lee", "guardians, parents or relatives")}),  # she has no role: only relationships.csv names her
])
def test_people_who_are_not_users_are_skipped_by_name_and_counted(folder, skipped, tmp_path):
    bundle = _open(folder, tmp_path)
    assert {(p["name"], p["reason"]) for p in bundle.skipped_people} == skipped
    assert sum(bundle.skipped.values()) == len(skipped)
    assert "gail" not in _people(bundle) and "jay" not in _people(bundle)


def test_someone_with_no_role_and_no_relation_is_skipped_as_having_no_role(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    for p in (EXPORTS / "sds_v21").iterdir():
        if p.name != "relationships.csv":
            (folder / p.name).write_bytes(p.read_bytes())
    bundle = open_bundle([(p.name, str(p)) for p in sorted(folder.iterdir())], str(tmp_path))
    assert bundle.skipped == {"no_role": 1}
    assert bundle.not_imported == ["1 with no role in the bundle"]


@pytest.mark.parametrize("folder", sorted(LABELS))
def test_passwords_travel_into_the_password_column(folder, tmp_path):
    people = _people(_open(folder, tmp_path))
    assert people["ana"]["Password"] == make_exports.PASSWORDS["ana"]
    assert people["cara"]["Password"] == make_exports.PASSWORDS["cara"]


@pytest.mark.parametrize("folder", sorted(LABELS))
def test_a_staff_member_without_an_email_gets_her_username_and_the_note_says_so(folder, tmp_path):
    bundle = _open(folder, tmp_path)
    assert _people(bundle)["cara"]["Email Address"] == make_exports.CARA_USERNAME
    assert any(n.startswith("Email Address taken from the username for") for n in bundle.notes)


def test_a_header_only_demographics_member_is_an_empty_set(tmp_path):
    bundle = _open("oneroster_11", tmp_path)
    people = _people(bundle)
    assert people["ana"]["Birthdate"] == "" and people["ana"]["Race"] == ""


def test_post_secondary_rows_reach_value_mapping_and_the_college_is_not_k12(tmp_path):
    bundle = _open("sds_v21", tmp_path)
    people = _people(bundle)
    assert (people["hugo"]["Grade"], people["hugo"]["School SIS ID"]) == ("PS1", "901")
    # A department of a college belongs to the college; a department of a school is K-12.
    assert (people["ivy"]["User Type"], people["ivy"]["School SIS ID"]) == ("lecturer", "901")
    assert bundle.not_k12_schools == ["901"]
    assert people["ben"]["School SIS ID"] == "202"


def test_a_department_without_its_parent_in_the_file_is_itself_the_school_value(tmp_path):
    bundle = _open("sds_v2", tmp_path)
    assert _people(bundle)["ben"]["School SIS ID"] == "202-SCI"
    assert bundle.school_names["202-SCI"] == "Valley High Science"


@pytest.mark.parametrize("folder", sorted(LABELS))
def test_class_files_are_recognised_and_give_class_rows(folder, tmp_path):
    bundle = _open(folder, tmp_path)
    assert bundle.class_files
    rows = list(bundle.class_rows())

    assert all(tuple(r) == CLASS_ROW_KEYS for r in rows)
    by_person = {r["district_id"]: r for r in rows}
    assert set(by_person) == {"ana", "cara"}
    assert (by_person["cara"]["role"], by_person["ana"]["role"]) == ("teacher", "student")
    ana = by_person["ana"]
    assert (ana["class_name"], ana["school_sis_id"]) == ("Grade 3 Reading", "201")
    if folder != "sds_v2":  # v2 has no courses or sessions
        assert (ana["course_name"], ana["subject"], ana["term_name"]) == ("Reading 3", "Reading", "2025-26")


def test_a_header_only_user_member_is_an_empty_set_and_the_others_are_read(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    for p in (EXPORTS / "sds_v1").iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "Teacher.csv").write_text((EXPORTS / "sds_v1" / "Teacher.csv").read_text().splitlines()[0] + "\r\n")

    bundle = open_bundle([(p.name, str(p)) for p in sorted(folder.iterdir())], str(tmp_path))

    assert [f.name for f in bundle.files] == ["Student.csv"]
    assert set(_people(bundle)) == {"ana", "ben", "hugo"}


def test_a_new_format_is_one_module_the_registry_lists(tmp_path, monkeypatch):
    """What a format module declares is all the registry needs: its files, how it recognises them, how it reads them."""
    module = types.ModuleType("imports.formats.example_sis")
    module.NAME, module.KIND_LABEL = "example", "Example SIS"
    module.REQUIRED = module.MEMBERS = frozenset({"pupils.csv", "buildings.csv"})
    module.recognises = lambda tables: module.REQUIRED <= tables.keys()

    def read(tables, workdir):
        bundle = common.Bundle(kind="example", version="1", label="Example SIS export", mapping={"district_id": "District ID"})
        writer = common.UserFileWriter(bundle, tables["pupils.csv"].name, os.path.join(workdir, "pupils.csv"),
                                       {"District ID", "First Name", "Last Name", "User Type", "Grade", "School SIS ID"})
        for row, get in tables["pupils.csv"].rows():
            writer.write(row, {"District ID": get("id"), "First Name": get("first"), "Last Name": get("last"),
                               "User Type": "student", "Grade": get("year"), "School SIS ID": get("building")})
        return common.finish(bundle, [writer])

    module.read = read
    monkeypatch.setattr(formats, "FORMATS", (module, *formats.FORMATS))
    (tmp_path / "pupils.csv").write_text("id,first,last,year,building\nP1,Ana,Lee,3,201\n")
    (tmp_path / "buildings.csv").write_text("building,name\n201,Maple Elementary\n")
    (tmp_path / "out").mkdir()

    bundle = open_bundle([(n, str(tmp_path / n)) for n in ("pupils.csv", "buildings.csv")], str(tmp_path / "out"))

    assert bundle.label == "Example SIS export"
    assert _people(bundle)["P1"]["Grade"] == "3"
