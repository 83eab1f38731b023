"""OneRoster and SDS bundles become ordinary user files; hostile zips are refused before anything is unpacked."""
import csv
import io
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from imports.formats import common as bundles
from imports.formats import open_bundle, oneroster_12
from imports.pipeline.reading import FileReadError, inspect_file, iter_rows
from imports.tests.fixtures import make_bundles

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _loose(folder: str, tmp_path) -> list[tuple[str, str]]:
    return [(p.name, str(p)) for p in sorted((FIXTURES / folder).iterdir())]


def _rows(user_file) -> dict[str, dict[str, str]]:
    """The written file's rows by their first column, as the engine will read them."""
    info = inspect_file(user_file.path, user_file.name)
    out = {}
    for raw in iter_rows(user_file.path, info):
        assert raw.problem is None
        row = dict(zip(info.headers, raw.cells))
        out[row.get("District ID") or row.get("identifier") or row["sourcedId"]] = {**row, "_row": raw.row}
    return out


def _zip(tmp_path, members: dict[str, bytes], name="roster.zip") -> str:
    path = tmp_path / name
    path.write_bytes(make_bundles.zip_bytes(members))
    return str(path)


def _imported(rows) -> dict[str, tuple[str, str, str]]:
    return {k: (r["User Type"], "" if r["User Type"] == "staff" else _engine_grade(r["Grade"]), r["School SIS ID"]) for k, r in rows.items()}


def _engine_grade(value: str) -> str:
    from imports.pipeline.normalize import GRADE_DISPLAY, grade

    return {v: k for k, v in GRADE_DISPLAY.items()}.get(grade(value), grade(value))


# --- OneRoster 1.1 ---------------------------------------------------------------------------


def test_a_oneroster_11_zip_gives_every_student_and_staff_member_their_type_grade_and_school(tmp_path):
    bundle = open_bundle([("oneroster_11.zip", str(FIXTURES / "oneroster_11.zip"))], str(tmp_path))

    assert (bundle.kind, bundle.version) == ("oneroster", "1.1")
    assert [f.name for f in bundle.files] == ["users.csv"]
    assert _imported(_rows(bundle.files[0])) == make_bundles.EXPECTED_11


def test_oneroster_rows_not_imported_are_counted_by_reason(tmp_path):
    bundle = open_bundle([("oneroster_11.zip", str(FIXTURES / "oneroster_11.zip"))], str(tmp_path))

    assert bundle.skipped == {"tobedeleted": 1, "disabled": 1, "guardian": 1}
    assert bundle.summary()["not_imported"] == [
        "1 marked tobedeleted", "1 with enabledUser false", "1 guardians, parents or relatives",
    ]
    assert "G3001" not in _rows(bundle.files[0])


def test_the_district_id_is_identifier_when_every_user_has_one(tmp_path):
    bundle = open_bundle([("oneroster_11.zip", str(FIXTURES / "oneroster_11.zip"))], str(tmp_path))

    assert bundle.mapping == {"district_id": "identifier"}
    row = _rows(bundle.files[0])["S1001"]
    assert (row["identifier"], row["sourcedId"], row["OneRoster sourcedId"]) == ("S1001", "u-1", "u-1")


def test_a_user_in_two_schools_goes_to_the_first_and_a_warning_names_the_other(tmp_path):
    bundle = open_bundle([("oneroster_11.zip", str(FIXTURES / "oneroster_11.zip"))], str(tmp_path))

    assert bundle.warnings == [(
        "users.csv (in oneroster_11.zip) row 6: the user is in several schools; "
        "imported into Lincoln Elementary (101), not Washington Middle (102)."
    )]
    # The district org is not a school: a teacher of the district and one school gets no warning.
    assert _rows(bundle.files[0])["T2001"]["School SIS ID"] == "101"


def test_files_other_than_the_bundles_are_listed_as_ignored(tmp_path):
    bundle = open_bundle([("oneroster_11.zip", str(FIXTURES / "oneroster_11.zip"))], str(tmp_path))

    assert bundle.ignored_files == []
    assert bundle.class_files == ["academicSessions.csv"]


def test_demographics_fill_birthdate_gender_race_and_ethnicity(tmp_path):
    bundle = open_bundle([("oneroster_11.zip", str(FIXTURES / "oneroster_11.zip"))], str(tmp_path))

    rows = _rows(bundle.files[0])
    assert {k: rows["S1002"][k] for k in ("Birthdate", "Gender", "Race", "Ethnicity")} == {
        "Birthdate": "2012-11-02", "Gender": "male", "Race": "Asian;Black or African American", "Ethnicity": "N",
    }
    assert (rows["S1001"]["Race"], rows["S1001"]["Ethnicity"]) == ("White", "Y")
    assert rows["T2001"]["Birthdate"] == ""  # no demographics row: blank, not an error


def test_a_skipped_row_keeps_the_row_numbers_of_the_admins_file(tmp_path):
    users = make_bundles.oneroster_11()["users.csv"].decode().splitlines()
    guardian = next(line for line in users if ",guardian," in line)
    reordered = [users[0], users[1], guardian] + [line for line in users[2:] if line != guardian]
    members = {**make_bundles.oneroster_11(), "users.csv": "\r\n".join(reordered).encode()}

    bundle = open_bundle([("roster.zip", _zip(tmp_path, members))], str(tmp_path))

    rows = _rows(bundle.files[0])
    assert rows["S1001"]["_row"] == 2
    assert rows["S1002"]["_row"] == 4  # row 3 was the guardian: the written file has a blank line there


# --- OneRoster 1.2 -----------------------------------------------------------------------------


def test_a_oneroster_12_set_takes_role_and_school_from_roles_csv(tmp_path):
    bundle = open_bundle(_loose("oneroster_12", tmp_path), str(tmp_path))

    assert (bundle.kind, bundle.version) == ("oneroster", "1.2")
    assert _imported(_rows(bundle.files[0])) == make_bundles.EXPECTED_12
    assert bundle.skipped == {"tobedeleted": 1, "disabled": 1, "guardian": 1}
    assert bundle.ignored_files == []


def test_without_identifiers_the_district_id_is_the_sourced_id(tmp_path):
    bundle = open_bundle(_loose("oneroster_12", tmp_path), str(tmp_path))

    assert bundle.mapping == {"district_id": "sourcedId"}
    assert bundle.district_id_column == "sourcedId"


def test_a_oneroster_12_users_csv_without_roles_csv_is_refused_with_the_reason(tmp_path):
    uploads = [u for u in _loose("oneroster_12", tmp_path) if u[0] != "roles.csv"]

    with pytest.raises(FileReadError) as exc:
        open_bundle(uploads, str(tmp_path))

    assert str(exc.value) == f"users.csv: {oneroster_12.ERROR_NO_ROLES}"


def test_a_users_csv_alone_is_an_ordinary_file(tmp_path):
    assert open_bundle([("users.csv", str(FIXTURES / "oneroster_12" / "users.csv"))], str(tmp_path)) is None
    assert open_bundle([("utf8.csv", str(FIXTURES / "utf8.csv"))], str(tmp_path)) is None


# --- SDS v1 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("zipped", [False, True], ids=["loose", "zip"])
def test_an_sds_trio_gives_students_from_student_csv_and_staff_from_teacher_csv(tmp_path, zipped):
    uploads = _loose("sds_v1", tmp_path)
    if zipped:
        uploads = [("sds.zip", _zip(tmp_path, {name: Path(path).read_bytes() for name, path in uploads}, "sds.zip"))]

    bundle = open_bundle(uploads, str(tmp_path))

    assert (bundle.kind, bundle.version) == ("sds", "v1")
    assert [f.name for f in bundle.files] == ["Student.csv", "Teacher.csv"]
    rows = {**_rows(bundle.files[0]), **_rows(bundle.files[1])}
    assert _imported(rows) == make_bundles.EXPECTED_SDS
    assert rows["S1002"]["School Name"] == "Washington Middle"
    assert bundle.mapping == {"district_id": "District ID"}
    assert bundle.ignored_files == []
    assert bundle.class_files == ["Section.csv", "StudentEnrollment.csv", "TeacherRoster.csv"]


def test_an_sds_user_listed_for_two_schools_goes_to_the_first_with_a_warning(tmp_path):
    bundle = open_bundle(_loose("sds_v1", tmp_path), str(tmp_path))

    assert bundle.warnings == [(
        "Teacher.csv row 4: SIS ID T2002 is listed again (row 3) for Washington Middle (102); "
        "imported into Lincoln Elementary (101) only."
    )]


# --- Hostile zips ------------------------------------------------------------------------------


def _refusal(tmp_path, path, name="roster.zip") -> FileReadError:
    workdir = tmp_path / "work"
    workdir.mkdir()
    with pytest.raises(FileReadError) as exc:
        open_bundle([(name, str(path))], str(workdir))
    assert list(workdir.iterdir()) == []  # refused before anything was unpacked
    return exc.value


@pytest.mark.parametrize("member", ["../users.csv", "/etc/users.csv", "roster/../../users.csv", "..\\..\\users.csv", "C:/users.csv"])
def test_a_zip_with_a_traversal_name_is_refused_naming_the_file(tmp_path, member):
    members = {**make_bundles.oneroster_11(), member: b"sourcedId\r\nx\r\n"}
    path = _zip(tmp_path, members)

    error = _refusal(tmp_path, path)

    assert str(error) == "roster.zip: " + bundles.ERROR_UNSAFE_NAME.format(member=member)
    assert error.code == "zip_unsafe_name"


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    members = {**make_bundles.oneroster_11(), "users.csv": make_bundles.oneroster_11()["users.csv"] + b"\r\n" * (20 << 20)}
    path = _zip(tmp_path, members)

    error = _refusal(tmp_path, path)

    assert error.code == "zip_bomb"
    assert str(error).startswith('roster.zip: is refused: "users.csv" in it unpacks to ')


def test_a_member_that_unpacks_to_more_than_its_header_says_is_stopped(tmp_path):
    # A header that claims a small size: zipfile itself stops at the claimed size, and our budget
    # stops a member long before the whole bomb is on disk.
    data = make_bundles.zip_bytes({**make_bundles.oneroster_11(), "users.csv": b"a" * (4 << 20)})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo("users.csv")
    patched = bytearray(data)
    for at in _offsets(patched, b"PK\x01\x02"):  # central directory: uncompressed size at +24
        if patched[at + 46:at + 46 + 9] == b"users.csv":
            struct.pack_into("<L", patched, at + 24, 1000)
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(patched))

    with pytest.raises(FileReadError) as exc:
        open_bundle([("liar.zip", str(path))], str(tmp_path))

    assert exc.value.file_name == "liar.zip"
    assert info.file_size == 4 << 20


def _offsets(data: bytearray, magic: bytes):
    at = data.find(magic)
    while at >= 0:
        yield at
        at = data.find(magic, at + 1)


def test_a_zip_of_10000_files_is_refused_naming_the_count(tmp_path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in make_bundles.oneroster_11().items():
            z.writestr(name, data)
        for n in range(10_000):
            z.writestr(f"extra/{n}.csv", b"")

    error = _refusal(tmp_path, path, "many.zip")

    assert str(error) == "many.zip: " + bundles.ERROR_TOO_MANY_MEMBERS.format(count=10_005, limit=bundles.BUNDLE_MAX_MEMBERS)


def test_a_zip_whose_directory_claims_millions_of_files_is_refused_before_it_is_read(tmp_path):
    data = bytearray(make_bundles.zip_bytes(make_bundles.oneroster_11()))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 0xFFFF, 0xFFFF)  # zip64: "more than 65,535 entries"
    path = tmp_path / "huge.zip"
    path.write_bytes(bytes(data))

    assert _refusal(tmp_path, path, "huge.zip").code == "zip_too_many_files"


def test_a_zip_without_roster_files_is_refused_saying_what_it_lacks(tmp_path):
    path = _zip(tmp_path, {"notes.csv": b"a,b\r\n1,2\r\n"})

    error = _refusal(tmp_path, path)

    assert str(error) == "roster.zip: " + bundles.ERROR_NOT_A_BUNDLE


def test_a_damaged_zip_is_refused(tmp_path):
    path = tmp_path / "roster.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)

    assert str(_refusal(tmp_path, path)) == "roster.zip: " + bundles.ERROR_NOT_A_ZIP


def test_a_zip_with_other_files_is_refused(tmp_path):
    with pytest.raises(FileReadError) as exc:
        open_bundle([("oneroster_11.zip", str(FIXTURES / "oneroster_11.zip")), ("utf8.csv", str(FIXTURES / "utf8.csv"))], str(tmp_path))

    assert str(exc.value) == "oneroster_11.zip: " + bundles.ERROR_ZIP_WITH_OTHERS


def _peak_memory(tmp_path, rows: int) -> tuple[int, int]:
    """(peak traced bytes, users.csv bytes) for unpacking and writing a OneRoster zip of `rows` users."""
    members = make_bundles.oneroster_11()
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(make_bundles.USERS_11_HEADER)
    for n in range(rows):
        writer.writerow([f"u-{n}", "active", make_bundles.MODIFIED, "true", "org-101", "student", f"user{n}", "",
                         "Given" * 4, "Family" * 4, "", f"S{n}", "", "", "", "", "05", ""])
    members["users.csv"] = out.getvalue().encode()
    del members["demographics.csv"]
    workdir = tmp_path / str(rows)
    workdir.mkdir()
    path = _zip(workdir, members)
    tracemalloc.start()
    try:
        bundle = open_bundle([("roster.zip", path)], str(workdir))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(_rows_count(bundle.files[0])) == rows
    return peak, len(members["users.csv"])


def _rows_count(user_file):
    info = inspect_file(user_file.path, user_file.name)
    return [raw.row for raw in iter_rows(user_file.path, info)]


def test_reading_a_roster_zip_keeps_memory_bounded(tmp_path):
    """Twice the users cost no more memory: members are streamed from the zip to disk and through the reader."""
    small_peak, small_size = _peak_memory(tmp_path, 8_000)
    large_peak, large_size = _peak_memory(tmp_path, 16_000)

    assert large_size > 2 * small_size - 1000
    assert large_peak < small_peak + 256 * 1024, f"{small_peak:,} bytes for 8,000 users, {large_peak:,} for 16,000"
