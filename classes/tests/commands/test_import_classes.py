"""`import_users --type classes FILE --district SLUG` and `export_classes`: classes and rosters in and out again."""
import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from classes.models import ClassStudent, ClassTeacher, SchoolClass
from imports.models import ImportJob, ImportStatus
from imports.pipeline.reading import count_data_rows, inspect_file
from imports.services import classes as classes_service
from imports.services import runs
from imports.services.undo import import_undo_request
from users.models import UserType
from users.tests.factories import make_school, make_user

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PLAIN = FIXTURES / "classes.csv"
EXPECTED_PLAIN = [
    ["MATH5-A", "Math 5 A", "101", "T-1", "S-1;S-2"],
    ["READ5-B", "Reading 5 B", "101", "T-1;T-2", "S-2;S-3"],
    ["SCI7", "Science 7", "102", "T-2", "S-4"],
]


@pytest.fixture
def roster(district):
    schools = {"101": make_school(district, sis_id="101"), "102": make_school(district, sis_id="102")}
    for district_id, school in (("T-1", "101"), ("T-2", "102")):
        make_user(district, district_user_id=district_id, user_type=UserType.STAFF, school=schools[school])
    for district_id, school in (("S-1", "101"), ("S-2", "101"), ("S-3", "101"), ("S-4", "102")):
        make_user(district, district_user_id=district_id, school=schools[school])
    return schools


def import_classes(district, *files, expect_exit=None, tmp_path=None, **flags):
    out, err = io.StringIO(), io.StringIO()
    args = ["--type", "classes", *map(str, files), "--district", district.slug, "--now"]
    for flag, value in flags.items():
        args += [f"--{flag.replace('_', '-')}"] + ([] if value is True else [str(value)])
    if expect_exit is not None:
        with pytest.raises(SystemExit) as exited:
            call_command("import_users", *args, stdout=out, stderr=err)
        assert exited.value.code == expect_exit
    else:
        call_command("import_users", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def exported(district) -> list[list[str]]:
    out = io.StringIO()
    call_command("export_classes", "--district", district.slug, "--format", "csv", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["Class SIS ID", "Class Name", "School SIS ID", "Teacher District IDs", "Student District IDs"]
    return rows[1:]


def test_a_plain_file_imports_its_classes_and_export_gives_each_back_with_teachers_and_students(district, roster):
    out, _ = import_classes(district, PLAIN)

    assert "3 classes, 9 enrollments" in out
    job = ImportJob.objects.get(district=district, import_type="classes")
    assert job.status == ImportStatus.COMPLETED
    assert exported(district) == EXPECTED_PLAIN
    # The first teacher listed for a class is its primary teacher.
    assert ClassTeacher.objects.get(school_class__sis_id="READ5-B", is_primary=True).user.district_user_id == "T-2"
    assert SchoolClass.objects.get(sis_id="MATH5-A").course_name == "Mathematics 5"


def test_a_second_run_of_the_same_file_is_all_unchanged_and_writes_nothing(district, roster, tmp_path):
    import_classes(district, PLAIN)
    before = list(SchoolClass.objects.values_list("id", "updated_at"))
    report = tmp_path / "report.json"

    import_classes(district, PLAIN, report=report)

    counts = json.loads(report.read_text())["counts"]
    assert (counts["classes_created"], counts["classes_updated"], counts["classes_unchanged"]) == (0, 0, 3)
    assert (counts["enrollments_added"], counts["enrollments_removed"]) == (0, 0)
    assert list(SchoolClass.objects.values_list("id", "updated_at")) == before
    assert exported(district) == EXPECTED_PLAIN


def _without(tmp_path, district_id: str, class_sis_id: str) -> Path:
    lines = PLAIN.read_text().splitlines()
    kept = [line for line in lines if not line.startswith(f"{class_sis_id},") or f",{district_id}," not in line]
    assert len(kept) == len(lines) - 1
    path = tmp_path / "classes.csv"
    path.write_text("\n".join(kept) + "\n")
    return path


def test_replace_with_one_student_removed_removes_exactly_that_enrollment(district, roster, tmp_path):
    import_classes(district, PLAIN)

    import_classes(district, _without(tmp_path, "S-2", "READ5-B"), roster="replace")

    assert exported(district) == [
        EXPECTED_PLAIN[0], ["READ5-B", "Reading 5 B", "101", "T-1;T-2", "S-3"], EXPECTED_PLAIN[2],
    ]


def test_add_keeps_the_members_missing_from_the_file(district, roster, tmp_path):
    import_classes(district, PLAIN)

    import_classes(district, _without(tmp_path, "S-2", "READ5-B"))

    assert exported(district) == EXPECTED_PLAIN


def test_undo_puts_the_classes_and_rosters_back(district, roster, tmp_path, district_admin_client):
    import_classes(district, PLAIN)
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(_without(tmp_path, "S-2", "READ5-B").read_text().replace("Science 7,", "Science Seven,")
                       + "ART1,Art 1,101,T-1,teacher,,,\n")
    import_classes(district, renamed, roster="replace")
    second = ImportJob.objects.filter(district=district, import_type="classes").order_by("-number").first()
    assert SchoolClass.objects.filter(sis_id="ART1").exists()

    # The undo page says what will happen to classes before the admin confirms.
    page = district_admin_client.get(reverse("imports:undo", args=[second.number])).content.decode()
    assert '<dd id="count-classes-deleted">1</dd>' in page and '<dd id="count-class-members-restored">1</dd>' in page
    assert '<dd id="count-classes-restored">1</dd>' in page

    undo = import_undo_request(job=second, dispatch=False)
    runs.import_job_run(job_id=undo.id, queue_emails=False)

    undo.refresh_from_db()
    assert undo.status == ImportStatus.COMPLETED
    assert exported(district) == EXPECTED_PLAIN

    first = ImportJob.objects.filter(district=district, import_type="classes").order_by("number").first()
    undo_first = import_undo_request(job=first, dispatch=False)
    runs.import_job_run(job_id=undo_first.id, queue_emails=False)
    assert not SchoolClass.objects.filter(district=district).exists()
    assert not ClassStudent.objects.exists()


def test_a_replace_that_removes_more_than_the_threshold_is_held_until_approved(district, roster, tmp_path, district_admin_client):
    from imports.services.safety import import_job_approve

    students = [make_user(district, district_user_id=f"H-{n}", school=roster["101"]) for n in range(20)]
    full = tmp_path / "full.csv"
    full.write_text("Class SIS ID,Class Name,School SIS ID,District ID,Role\nBIG,Big class,101,T-1,teacher\n"
                    + "".join(f"BIG,Big class,101,{s.district_user_id},student\n" for s in students))
    import_classes(district, full)
    few = tmp_path / "few.csv"
    few.write_text("\n".join(full.read_text().splitlines()[:7]) + "\n")  # the teacher and 5 students stay

    out, _ = import_classes(district, few, roster="replace")

    job = ImportJob.objects.filter(district=district).order_by("-number").first()
    assert job.status == ImportStatus.ON_HOLD
    assert "removes 15 of 21 enrollments (71.4%), over the district's 20%" in out
    assert "on_hold: rows 6, created 0, updated 0, unchanged 0," in out  # what the held run would do, as the history shows it
    assert job.validation_summary["counts"]["enrollments_removed"] == 15
    assert ClassStudent.objects.filter(school_class__sis_id="BIG").count() == 20
    page = district_admin_client.get(reverse("imports:detail", args=[job.number])).content.decode()
    assert "This import: 15 of 21 enrollments (71.4%) would be removed." in page

    job = import_job_approve(job=job)
    ImportJob.objects.filter(id=job.id).update(run_after=job.submitted_at)
    runs.import_job_run(job_id=job.id, queue_emails=False)

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED and job.counts["enrollments_removed"] == 15
    assert ClassStudent.objects.filter(school_class__sis_id="BIG").count() == 5


def test_a_file_that_no_longer_validates_when_it_runs_fails_with_the_reason_and_writes_nothing(district, roster):
    call_command("import_users", "--type", "classes", str(PLAIN), "--district", district.slug, stdout=io.StringIO())
    job = ImportJob.objects.get(district=district)
    assert job.status == ImportStatus.SCHEDULED
    district.users.filter(district_user_id="S-4").delete()  # removed from Classworks before the run
    ImportJob.objects.filter(id=job.id).update(run_after=job.submitted_at)

    runs.import_job_run(job_id=job.id, queue_emails=False)

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.failure_reason.startswith("The classes no longer validate (1 errors): nothing was written.")
    assert not SchoolClass.objects.filter(district=district).exists()


def test_a_class_page_says_which_import_added_each_member_and_what_a_replace_removed(district, roster, tmp_path, district_admin_client):
    import_classes(district, PLAIN)
    import_classes(district, _without(tmp_path, "S-2", "READ5-B"), roster="replace")
    first, second = ImportJob.objects.filter(district=district).order_by("number")
    reading = SchoolClass.objects.get(sis_id="READ5-B")

    page = district_admin_client.get(reverse("classes:detail", args=[reading.id])).content.decode()

    assert f">Import {first.number}</a>" in page  # the members it added with the class
    history = page[page.index('id="class-history"'):]
    assert "Member removed (Student S-2)" in history and f"Import {second.number}" in history


def test_the_import_history_counts_every_data_row_of_the_file_as_an_upload_does(district, roster, tmp_path):
    path = tmp_path / "classes.csv"
    path.write_text(PLAIN.read_text(encoding="utf-8").replace("\n", "\n\n", 2) + "\n \n", encoding="utf-8")  # blank lines
    data_rows = len([line for line in PLAIN.read_text(encoding="utf-8").splitlines()[1:] if line.strip()])

    import_classes(district, path)

    job = ImportJob.objects.get()
    stored = job.files.get()
    assert stored.row_count == data_rows == job.rows_total
    assert stored.row_count == count_data_rows(stored.stored.path, inspect_file(stored.stored.path, "classes.csv"))


@pytest.fixture
def checks(monkeypatch):
    """How many times a Classes file's rows were checked."""
    made = []
    real = classes_service.class_blocks_check_at_once

    def counting(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(classes_service, "class_blocks_check_at_once", counting)
    return made


def test_a_run_at_once_takes_the_commands_check_of_the_file_instead_of_checking_it_again(district, roster, checks):
    import_classes(district, PLAIN)

    assert len(checks) == 1
    assert ImportJob.objects.get(district=district).status == ImportStatus.COMPLETED
    assert exported(district) == EXPECTED_PLAIN


def test_a_run_at_once_checks_again_when_a_person_changed_after_the_commands_check(district, roster, checks, monkeypatch):
    keep = classes_service.classes_check_keep

    def then_remove_a_student(**kwargs):  # between the command's check and its run
        keep(**kwargs)
        district.users.filter(district_user_id="S-4").delete()

    monkeypatch.setattr("imports.management.commands.import_users.classes_check_keep", then_remove_a_student)

    import_classes(district, PLAIN, expect_exit=1)

    assert len(checks) == 2
    job = ImportJob.objects.get(district=district)
    assert job.status == ImportStatus.FAILED
    assert job.failure_reason.startswith("The classes no longer validate (1 errors): nothing was written.")
    assert not SchoolClass.objects.filter(district=district).exists()
