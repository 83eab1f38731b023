"""Correcting error rows on Validate File: a new version of the file, the original untouched, the same rules."""
import csv
import datetime
import io

import pytest
from django.utils import timezone

from imports.models import ImportFile, ImportJob, ImportStatus, WizardStep
from imports.services import corrections, jobs, maintenance
from imports.services.apply import import_job_validate
from imports.services.sources import sources_for_job
from imports.tests.factories import FULL_HEADER, HEADER, IN_WINDOW, csv_text, make_import_job, run_job, student, write_csv
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


def _fix(job, rows: dict) -> int:
    """Correct {row: {field: value}} in the job's only file, then validate again as the page does."""
    file_id = sources_for_job(job)[0].file_id
    count = corrections.import_rows_correct(job=job, corrections={(file_id, row): values for row, values in rows.items()})
    if count:
        import_job_validate(job=job)
    job.refresh_from_db()
    return count


def _counts(job):
    return job.validation_summary["counts"]


def _version(job) -> ImportFile:
    return ImportFile.objects.get(job=job, corrected_from__isnull=False)


def _records(import_file: ImportFile) -> list[list[str]]:
    with import_file.stored.open("rb") as fh:
        return list(csv.reader(io.StringIO(fh.read().decode(import_file.encoding), newline="")))


@pytest.fixture
def two_bad_rows(district, school, tmp_path):
    """Row 3 has grade 13, row 4 an unknown user type; rows 2 and 5 are fine."""
    path = write_csv(tmp_path / "roster.csv", [
        student("1001"), student("1002", Grade="13"), student("1003", **{"User Type": "Wizard"}), student("1004"),
    ])
    return make_import_job(district, [path]), path.read_bytes()


def test_two_corrected_rows_validate_and_the_run_imports_every_user(two_bad_rows):
    job, original_bytes = two_bad_rows
    assert _counts(job)["error_rows"] == 2

    assert _fix(job, {3: {"grade": "6"}, 4: {"user_type": "Student"}}) == 2

    assert _counts(job)["errors"] == 0
    assert _counts(job)["new"] == 4
    job = run_job(job)
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert User.objects.get(district_user_id="1002").grade == "6"
    assert User.objects.get(district_user_id="1003").user_type == "student"
    original = ImportFile.objects.get(job=job, corrected_from__isnull=True)
    with original.stored.open("rb") as fh:
        assert fh.read() == original_bytes  # the upload is kept byte for byte


def test_the_corrected_version_repeats_every_other_record_and_keeps_row_numbers(two_bad_rows):
    job, _ = two_bad_rows
    _fix(job, {3: {"grade": "6"}})

    version = _version(job)
    assert version.original_name == "roster (corrected).csv"
    assert version.corrected_rows == [3]
    records = _records(version)
    assert records[0] == list(HEADER)
    assert records[2][HEADER.index("Grade")] == "6"
    assert records[3][HEADER.index("User Type")] == "Wizard"  # not corrected: still there, still an error
    assert [(i.code, i.row) for i in job.issues.filter(severity="error")] == [("invalid_user_type", 4)]
    assert job.issues.get().file_id == version.id  # problems now point at the version the import reads


def test_an_unchanged_row_writes_no_version(two_bad_rows):
    job, _ = two_bad_rows
    assert _fix(job, {3: {"grade": "13"}}) == 0
    assert not ImportFile.objects.filter(job=job, corrected_from__isnull=False).exists()


def test_a_correction_breaking_another_rule_gets_the_imports_own_message(two_bad_rows):
    job, _ = two_bad_rows
    _fix(job, {3: {"grade": "Fifth"}})
    assert job.issues.get(row=3).message == 'Grade "Fifth" is not a grade.'


def test_a_second_save_replaces_the_corrected_version(two_bad_rows, django_capture_on_commit_callbacks):
    job, _ = two_bad_rows
    _fix(job, {3: {"grade": "6"}})
    first = _version(job)
    first_name = first.stored.name

    with django_capture_on_commit_callbacks(execute=True):
        _fix(job, {4: {"user_type": "Staff", "grade": "", "email": "t1003@example.org"}})

    second = _version(job)
    assert second.id == first.id
    assert second.corrected_rows == [3, 4]
    assert not second.stored.storage.exists(first_name)  # one corrected version is kept, not one per save
    assert _counts(job)["errors"] == 0


def test_only_rows_with_errors_can_be_corrected(two_bad_rows):
    job, _ = two_bad_rows
    assert _fix(job, {2: {"first_name": "Mallory"}}) == 0
    assert not ImportFile.objects.filter(job=job, corrected_from__isnull=False).exists()


def test_a_ragged_row_is_shown_blank_and_retyped_whole(district, school, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(
        csv_text([student("1001")]) + "Ada,Lovelace,1002,Student,5,,101,extra,cells\r\n" + "Bob,Smith,1003\r\n",
        encoding="utf-8",
    )
    job = make_import_job(district, [path])

    editor = corrections.fix_rows_editor(job=job)
    assert [(r.row, r.retype) for r in editor.rows] == [(3, True), (4, True)]
    assert all(c.value == "" for r in editor.rows for c in r.cells)
    assert "has 9 cells but the file has 7 columns" in editor.rows[0].issues[0].message

    retyped = {"first_name": "Ada", "last_name": "Lovelace", "district_id": "1002", "user_type": "Student",
               "grade": "5", "email": "", "school_sis_id": "101"}
    assert _fix(job, {3: retyped}) == 1

    assert [(i.code, i.row) for i in job.issues.all()] == [("ragged_row", 4)]
    assert _records(_version(job))[3] == ["Bob", "Smith", "1003"]  # the row left alone is copied as it was


def test_a_password_is_never_shown_and_a_blank_one_keeps_the_files(district, school, tmp_path):
    rows = [
        list(student("1001").values()) + ["", "", "", "N", "N", "Secret-Horse-1"],
        list(student("1002", Grade="13").values()) + ["", "", "", "N", "N", "Secret-Horse-2"],
        list(student("1003", Grade="13").values()) + ["", "", "", "N", "N", "Secret-Horse-3"],
    ]
    job = make_import_job(district, [write_csv(tmp_path / "pw.csv", rows, header=FULL_HEADER)])

    editor = corrections.fix_rows_editor(job=job)
    passwords = [c for r in editor.rows for c in r.cells if c.is_password]
    assert len(passwords) == 2 and all(c.value == "" for c in passwords)

    _fix(job, {3: {"grade": "5", "password": ""}, 4: {"grade": "5", "password": "Typed-Again-33"}})

    run_job(job)
    assert User.objects.get(district_user_id="1002").check_password("Secret-Horse-2")
    assert User.objects.get(district_user_id="1003").check_password("Typed-Again-33")


def test_blank_lines_and_a_line_break_in_a_cell_keep_every_row_number(district, school, tmp_path):
    path = tmp_path / "odd.csv"
    text = (
        ",".join(HEADER) + "\n\n"
        'Ada,"Love\nlace",1001,Student,5,,101\n'
        "Bob,Smith,1002,Student,13,,101\n"
        "Cy,Jones,1003,Student,13,,101"
    )
    path.write_bytes(text.encode("cp1252"))
    job = make_import_job(district, [path])
    assert [(i.code, i.row) for i in job.issues.all()] == [("invalid_grade", 4), ("invalid_grade", 5)]

    _fix(job, {5: {"grade": "6"}})

    assert [(i.code, i.row) for i in job.issues.all()] == [("invalid_grade", 4)]
    with _version(job).stored.open("rb") as fh:
        written = fh.read().decode("utf-8-sig")
    assert written == text.replace("Cy,Jones,1003,Student,13,,101", "Cy,Jones,1003,Student,6,,101\r\n")


def test_a_workbook_is_corrected_into_a_csv_version(district, school, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(HEADER))
    sheet.append(list(student("1001").values()))
    sheet.append([])
    sheet.append(list(student("1002", Grade="13").values()))
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    job = make_import_job(district, [path])
    assert [i.row for i in job.issues.all()] == [4]

    _fix(job, {4: {"grade": "K"}})

    version = _version(job)
    assert (version.original_name, version.file_format) == ("roster (corrected).csv", "csv")
    assert _counts(job)["errors"] == 0 and _counts(job)["new"] == 2


def test_more_error_rows_than_the_limit_are_refused(district, school, tmp_path):
    rows = [student(str(1000 + n), Grade="13") for n in range(corrections.FIX_ROWS_LIMIT + 1)]
    job = make_import_job(district, [write_csv(tmp_path / "many.csv", rows)])

    editor = corrections.fix_rows_editor(job=job)
    assert editor.too_many and not editor.offered
    with pytest.raises(jobs.ImportError_) as refused:
        corrections.import_rows_correct(job=job, corrections={(sources_for_job(job)[0].file_id, 2): {"grade": "5"}})
    assert str(refused.value) == corrections.ERROR_TOO_MANY_ROWS.format(rows=51, limit=corrections.FIX_ROWS_LIMIT)


def test_the_editor_pages_its_rows(district, school, tmp_path):
    rows = [student(str(1000 + n), Grade="13") for n in range(corrections.FIX_ROWS_PER_PAGE + 2)]
    job = make_import_job(district, [write_csv(tmp_path / "some.csv", rows)])

    first, second = corrections.fix_rows_editor(job=job), corrections.fix_rows_editor(job=job, page_number=2)

    assert [r.row for r in first.rows] == list(range(2, 2 + corrections.FIX_ROWS_PER_PAGE))
    assert [r.row for r in second.rows] == [12, 13]
    assert second.rows[0].cells[[c.key for c in second.rows[0].cells].index("grade")].value == "13"


def test_a_submitted_import_cannot_be_corrected(two_bad_rows):
    job, _ = two_bad_rows
    ImportJob.objects.filter(id=job.id).update(status=ImportStatus.SCHEDULED)
    with pytest.raises(jobs.ImportError_, match=jobs.ERROR_NOT_DRAFT):
        corrections.import_rows_correct(job=job, corrections={(sources_for_job(job)[0].file_id, 3): {"grade": "5"}})


def test_correcting_after_going_on_returns_to_validate(two_bad_rows):
    job, _ = two_bad_rows
    assert job.step == WizardStep.REVIEW
    _fix(job, {3: {"grade": "6"}})
    assert job.step == WizardStep.VALIDATE


def test_close_x_deletes_both_versions(two_bad_rows):
    job, _ = two_bad_rows
    _fix(job, {3: {"grade": "6"}})
    files = list(ImportFile.objects.filter(job=job))
    assert len(files) == 2

    jobs.import_job_close(job=job)

    assert not any(f.stored.storage.exists(f.stored.name) for f in files)


def test_retention_deletes_both_versions(two_bad_rows):
    job, _ = two_bad_rows
    _fix(job, {3: {"grade": "6"}, 4: {"user_type": "Student"}})
    run_job(job)
    files = list(ImportFile.objects.filter(job=job))
    later = timezone.now() + datetime.timedelta(days=job.district.file_retention_days + 1)

    maintenance.files_purge_expired(now=later)

    assert not any(f.stored.storage.exists(f.stored.name) for f in files)
    assert ImportFile.objects.filter(job=job, deleted_at__isnull=False).count() == 2


def test_the_run_reads_the_corrected_version_even_on_a_retry(two_bad_rows):
    job, _ = two_bad_rows
    _fix(job, {3: {"grade": "6"}, 4: {"user_type": "Student"}})
    jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
    assert [s.info.name for s in sources_for_job(job)] == ["roster (corrected).csv"]


def test_a_row_with_a_stray_quote_is_copied_as_it_was_until_it_is_retyped(district, school, tmp_path):
    path = tmp_path / "quotes.csv"
    bad_quote = 'Ada,"Love"lace,1002,Student,5,,101\r\n'
    path.write_text(csv_text([student("1001", Grade="13")]) + bad_quote + "Ada,Lovelace,1003,Student,5,,101\r\n", encoding="utf-8")
    job = make_import_job(district, [path])
    assert sorted((i.code, i.row) for i in job.issues.all()) == [("bad_quote", 3), ("invalid_grade", 2)]

    _fix(job, {2: {"grade": "5"}})

    with _version(job).stored.open("rb") as fh:
        assert bad_quote.encode() in fh.read()  # untouched, so still the same error on the same row
    assert [(i.code, i.row) for i in job.issues.all()] == [("bad_quote", 3)]
    retyped = {"first_name": "Ada", "last_name": "Lovelace", "district_id": "1002", "user_type": "Student",
               "grade": "5", "email": "", "school_sis_id": "101"}
    _fix(job, {3: retyped})
    assert _counts(job)["errors"] == 0 and _counts(job)["new"] == 3


def test_an_unclosed_quote_is_left_to_the_file(district, school, tmp_path):
    path = tmp_path / "unclosed.csv"
    path.write_text(csv_text([student("1001", Grade="13")]) + 'Ada,"Lovelace,1002,Student,5,,101\r\nBob,Smith\r\n', encoding="utf-8")
    job = make_import_job(district, [path])

    editor = corrections.fix_rows_editor(job=job)

    assert [r.row for r in editor.rows] == [2]
    assert editor.unfixable == 1
    file_id = sources_for_job(job)[0].file_id
    assert corrections.import_rows_correct(job=job, corrections={(file_id, 3): {"grade": "5"}}) == 0


def test_each_file_of_an_import_gets_its_own_corrected_version(district, school, tmp_path):
    first = write_csv(tmp_path / "north.csv", [student("1001"), student("1002", Grade="13")])
    second = write_csv(tmp_path / "south.csv", [student("2001", Grade="14")])
    job = make_import_job(district, [first, second])
    ids = {s.info.name: s.file_id for s in sources_for_job(job)}

    corrections.import_rows_correct(job=job, corrections={(ids["south.csv"], 2): {"grade": "4"}})
    import_job_validate(job=job)
    job.refresh_from_db()

    assert [s.info.name for s in sources_for_job(job)] == ["north.csv", "south (corrected).csv"]
    assert [(i.file.original_name, i.row) for i in job.issues.all()] == [("north.csv", 3)]
