"""Running a job against the users table, on SQLite (bulk_create/UPDATE) and PostgreSQL (COPY/UPDATE ... FROM)."""
import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imports.models import ImportChange, ImportIssue, ImportJob, ImportStatus
from imports.pipeline.masking import HIDDEN
from imports.services import apply, jobs, runs, writers
from imports.targets import base as target_base
from imports.tests.factories import (
    FULL_HEADER, IN_WINDOW, make_import_job, run_job, staff, stored_text, student, write_csv,
)
from users.models import User, UserType
from users.tests.factories import PASSWORD, make_custom_group, make_district, make_school, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

FILE_PASSWORD = "Tr0ub4dor&3-horse"


def _user(district, district_id) -> User:
    return User.objects.get(district=district, district_user_id=district_id)


def _import(district, tmp_path, rows, header=FULL_HEADER, **job_options) -> ImportJob:
    path = write_csv(tmp_path / f"roster-{ImportJob.objects.count()}.csv", rows, header=header)
    return run_job(make_import_job(district, [path], **job_options))


def test_new_users_are_created_with_every_value(district, school, tmp_path):
    job = _import(district, tmp_path, [
        student("000123", **{
            "Middle Name": "Byron", "Grade": "Pre-K", "Email Address": "ada@example.org", "State User ID": "IL-9",
            "Alternate User ID": "A-9", "Limited English": "Yes", "Economically Disadvantaged": "",
        }),
        staff("T-1", Grade="12"),
    ])

    assert job.status == ImportStatus.COMPLETED
    assert job.counts == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "skipped": 0, "conflicts": 0, "errors": 0, "warnings": 0}
    ada = _user(district, "000123")
    assert (ada.username, ada.first_name, ada.middle_name, ada.last_name, ada.email) == (
        "springfield.000123", "Ada", "Byron", "Lovelace", "ada@example.org",
    )
    assert (ada.user_type, ada.grade, ada.school, ada.state_user_id, ada.alternate_user_id) == (
        UserType.STUDENT, "PK", school, "IL-9", "A-9",
    )
    assert (ada.limited_english, ada.economically_disadvantaged) == (True, False)
    assert (ada.created_by_import, ada.is_staff, ada.is_superuser, ada.is_district_admin, ada.is_active) == (
        job, False, False, False, True,
    )
    grace = _user(district, "T-1")
    assert (grace.user_type, grace.grade, grace.email) == (UserType.STAFF, "", "t-1@springfield.example.org")


def _stored(district, school):
    return make_user(
        district, district_user_id="1001", first_name="Ada", last_name="Lovelace", grade="5", school=school,
        email="", middle_name="", limited_english=False,
    )


def test_imported_record_wins_replaces_differing_values(district, school, tmp_path):
    other_school = make_school(district, sis_id="202")
    user = _stored(district, school)

    job = _import(district, tmp_path, [student("1001", **{
        "Last Name": "King", "Grade": "6", "School SIS ID": "202", "Email Address": "ada@example.org",
        "Limited English": "Y",
    })], conflict_policy="imported")

    user.refresh_from_db()
    assert (user.last_name, user.grade, user.school, user.email, user.limited_english) == (
        "King", "6", other_school, "ada@example.org", True,
    )
    assert (job.counts["updated"], job.counts["conflicts"], job.counts["created"]) == (1, 1, 0)
    change = ImportChange.objects.get(job=job)
    assert (change.user, change.district_user_id) == (user, "1001")
    assert change.changes == {
        "last_name": ["Lovelace", "King"], "grade": ["5", "6"], "school_id": [school.id, other_school.id],
        "email": ["", "ada@example.org"], "limited_english": [False, True],
    }


def test_existing_record_wins_keeps_stored_values_and_fills_blanks(district, school, tmp_path):
    make_school(district, sis_id="202")
    user = _stored(district, school)

    job = _import(district, tmp_path, [student("1001", **{
        "Last Name": "King", "Grade": "6", "School SIS ID": "202", "Email Address": "ada@example.org",
        "Middle Name": "Byron", "Limited English": "Y",
    })], conflict_policy="existing")

    user.refresh_from_db()
    assert (user.last_name, user.grade, user.school, user.limited_english) == ("Lovelace", "5", school, False)
    assert (user.email, user.middle_name) == ("ada@example.org", "Byron")
    assert (job.counts["updated"], job.counts["conflicts"]) == (1, 1)
    assert ImportChange.objects.get(job=job).changes == {"email": ["", "ada@example.org"], "middle_name": ["", "Byron"]}


@pytest.mark.parametrize("policy", ["imported", "existing"])
def test_a_blank_cell_never_erases_a_stored_value(district, school, tmp_path, policy):
    user = make_user(
        district, district_user_id="1001", first_name="Ada", last_name="Lovelace", grade="5", school=school,
        email="ada@example.org", middle_name="Byron", state_user_id="IL-9", alternate_user_id="A-9",
        limited_english=True, economically_disadvantaged=True,
    )
    before = User.objects.filter(id=user.id).values().get()

    job = _import(district, tmp_path, [student("1001", **{"Email Address": ""})], conflict_policy=policy)

    assert User.objects.filter(id=user.id).values().get() == before
    assert job.counts["unchanged"] == 1


def test_maintain_password_keeps_every_existing_users_password(district, school, tmp_path):
    user = make_user(district, district_user_id="1001", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="")
    before = user.password

    _import(district, tmp_path, [student("1001", Password=FILE_PASSWORD), student("1002", Password=FILE_PASSWORD)],
            password_policy="keep")

    user.refresh_from_db()
    assert user.password == before and user.check_password(PASSWORD)
    assert _user(district, "1002").check_password(FILE_PASSWORD)  # a new user still takes the file password


def test_overwrite_password_sets_it_from_the_file(district, school, tmp_path):
    changed = make_user(district, district_user_id="1001", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="")
    kept = make_user(district, district_user_id="1002", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="")

    job = _import(district, tmp_path, [student("1001", Password=FILE_PASSWORD), student("1002", Password="")],
                  password_policy="overwrite")

    changed.refresh_from_db()
    kept.refresh_from_db()
    assert changed.check_password(FILE_PASSWORD) and not changed.check_password(PASSWORD)
    assert kept.check_password(PASSWORD)
    assert (job.counts["updated"], job.counts["unchanged"]) == (1, 1)
    assert ImportChange.objects.get(job=job).changes == {"password": ["(kept private)", "(changed)"]}


def test_new_users_take_the_file_password_or_get_an_unusable_one(district, school, tmp_path):
    _import(district, tmp_path, [student("1", Password=FILE_PASSWORD), student("2", Password="")])

    assert _user(district, "1").check_password(FILE_PASSWORD)
    assert not _user(district, "2").has_usable_password()


def test_passwords_are_never_stored_in_clear_text(district, district_admin, school, tmp_path):
    make_user(district, district_user_id="1001", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="")
    secrets = ["Xylophone-Secret-7731", "Quartz-Secret-2219", "secret12"]  # the last is weak: a warning names the rule only

    job = _import(district, tmp_path, [
        student("1001", Password=secrets[0]), student("1002", Password=secrets[1]), staff("T-1", Password=secrets[2]),
    ], password_policy="overwrite", created_by=district_admin, email_staff=True)

    assert job.status == ImportStatus.COMPLETED_WITH_WARNINGS
    assert ImportIssue.objects.filter(job=job, code="weak_password").count() == 1
    dump = stored_text()
    for secret in secrets:
        assert secret not in dump
    assert _user(district, "1001").check_password(secrets[0])


def test_one_password_for_every_row_is_refused(district, school, tmp_path):
    # It would sit in the job's fixed values in clear text.
    with pytest.raises(jobs.ImportError_, match="One password for every user is not allowed"):
        make_import_job(district, [write_csv(tmp_path / "r.csv", [student("1")])], fixed_values={"password": "Same-For-All-9931"})

    assert "Same-For-All-9931" not in stored_text()


def test_custom_group_with_students_only(district, school, tmp_path):
    group = make_custom_group(district, name="Spring MAP testing")

    _import(district, tmp_path, [student("1"), staff("T-1"), student("2")], custom_group=group, group_members="students")

    assert sorted(group.members.values_list("district_user_id", flat=True)) == ["1", "2"]


def test_custom_group_with_everyone_on_the_file(district, school, tmp_path):
    group = make_custom_group(district, name="Spring MAP testing")
    make_user(district, district_user_id="2", first_name="Ada", last_name="Lovelace", grade="5", school=school, email="")
    bystander = make_user(district, district_user_id="99")

    _import(district, tmp_path, [student("1"), staff("T-1"), student("2")], custom_group=group, group_members="all")

    assert sorted(group.members.values_list("district_user_id", flat=True)) == ["1", "2", "T-1"]
    assert not group.members.filter(id=bystander.id).exists()


def _user_writes(queries) -> list[str]:
    return [
        q["sql"] for q in queries
        if "users_user" in q["sql"] and q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "COPY", "DELETE"))
    ]


def _recording(writer, written: list):
    """The writer, also noting every row it is handed (COPY on PostgreSQL bypasses query capture)."""
    def record(model, *args):
        written.extend(args[-1])  # the rows are the last argument of each
        return writer(model, *args)
    return record


def test_reimporting_the_same_file_changes_nothing_and_writes_no_user_row(district, school, tmp_path, monkeypatch):
    rows = [
        student("000123", **{"Middle Name": "Byron", "Limited English": "Y", "Email Address": "ada@example.org"}),
        student("1002", Grade="K", Password=FILE_PASSWORD), staff("T-1"),
    ]
    path = write_csv(tmp_path / "roster.csv", rows, header=FULL_HEADER)
    first = run_job(make_import_job(district, [path]))
    assert first.counts["created"] == 3
    User.objects.filter(district_user_id="1002").update(last_login=datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc))
    before = list(User.objects.order_by("id").values())
    written = []
    # Every way the write targets write rows.
    for name in ("insert_rows", "update_rows", "set_column"):
        monkeypatch.setattr(target_base, name, _recording(getattr(target_base, name), written))

    second = make_import_job(district, [path])
    preview = second.validation_summary["counts"]
    with CaptureQueriesContext(connection) as captured:
        second = run_job(second)

    assert (preview["unchanged"], preview["new"], preview["update"], preview["conflict"]) == (3, 0, 0, 0)
    assert second.counts == {"rows": 3, "created": 0, "updated": 0, "unchanged": 3, "skipped": 0, "conflicts": 0, "errors": 0, "warnings": 0}
    assert _user_writes(captured.captured_queries) == []
    assert written == []
    assert list(User.objects.order_by("id").values()) == before
    assert not ImportChange.objects.filter(job=second).exists()


def _claimed(job: ImportJob) -> ImportJob:
    jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)
    return runs.import_job_claim(job_id=job.id)


def test_a_crash_after_a_committed_chunk_resumes_without_duplicates(district, school, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "roster.csv", [student(str(n)) for n in range(1, 6)])
    job = _claimed(make_import_job(district, [path]))
    real_chunk, calls = apply._apply_chunk, []

    def crash_on_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("database went away")
        return real_chunk(*args, **kwargs)

    monkeypatch.setattr(apply, "_apply_chunk", crash_on_second_chunk)
    with pytest.raises(ConnectionError):
        apply.import_job_apply(job=job, chunk_rows=2)
    job.refresh_from_db()
    assert (job.rows_committed, job.status) == (2, ImportStatus.RUNNING)
    assert sorted(User.objects.filter(district_user_id__isnull=False).values_list("district_user_id", flat=True)) == ["1", "2"]

    monkeypatch.setattr(apply, "_apply_chunk", real_chunk)
    job = apply.import_job_apply(job=job, chunk_rows=2).job

    ids = list(User.objects.filter(district_user_id__isnull=False).values_list("district_user_id", flat=True))
    assert sorted(ids) == ["1", "2", "3", "4", "5"]
    assert job.status == ImportStatus.COMPLETED
    assert (job.rows_committed, job.rows_done, job.counts["created"]) == (5, 5, 5)


def test_a_rerun_counts_what_an_earlier_attempt_committed_and_writes_only_the_rest(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student(str(n)) for n in range(1, 6)])
    first = _claimed(make_import_job(district, [path]))
    apply.import_job_apply(job=first, chunk_rows=2)
    User.objects.filter(district_user_id__in=["3", "4", "5"]).delete()  # as if the worker died after chunk 1
    ImportJob.objects.filter(id=first.id).update(status=ImportStatus.RUNNING, counts={"created": 2})
    first.refresh_from_db()

    job = apply.import_job_apply(job=first, chunk_rows=2).job

    # Rows 1-2 are already there, so the re-run finds them unchanged and writes only rows 3-5.
    assert sorted(User.objects.filter(district_user_id__isnull=False).values_list("district_user_id", flat=True)) == ["1", "2", "3", "4", "5"]
    assert (job.counts["created"], job.counts["unchanged"], job.rows_done) == (5, 0, 5)


def test_a_cancelled_job_stops_at_the_next_chunk_and_keeps_nothing_of_it(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student(str(n)) for n in range(1, 4)])
    job = _claimed(make_import_job(district, [path]))
    ImportJob.objects.filter(id=job.id).update(status=ImportStatus.CANCELLED)

    with pytest.raises(apply.ImportAborted):
        apply.import_job_apply(job=job, chunk_rows=2)

    assert not User.objects.filter(district_user_id__isnull=False).exists()


def test_a_file_that_no_longer_validates_writes_nothing(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1"), student("2")])
    job = _claimed(make_import_job(district, [path]))
    school.delete()  # the mapped school is gone by the time the job runs

    with pytest.raises(apply.ImportAborted, match="no longer validates"):
        apply.import_job_apply(job=job)

    assert not User.objects.filter(district_user_id__isnull=False).exists()


def test_usernames_that_clash_get_a_free_numeric_suffix(district, school, tmp_path):
    # "A/1", "A_1" and "A 1" all make the username springfield.A_1.
    make_user(district, username="springfield.A_1", district_user_id="A/1")
    make_user(district, username="springfield.A_1-2", district_user_id="A_1")

    job = _import(district, tmp_path, [student("A 1"), student("A:1")])

    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert _user(district, "A 1").username == "springfield.A_1-3"
    assert _user(district, "A:1").username == "springfield.A_1-4"


def test_the_same_district_id_in_two_districts_makes_two_users(district, school, tmp_path):
    other = make_district(slug="shelbyville")
    stranger = make_user(other, district_user_id="1001", first_name="Other")

    _import(district, tmp_path, [student("1001")])

    stranger.refresh_from_db()
    assert stranger.first_name == "Other"
    assert _user(district, "1001").username == "springfield.1001"


def test_text_with_tabs_backslashes_and_quotes_survives_the_write(district, school, tmp_path):
    # PostgreSQL writes through COPY, whose text format escapes these characters.
    odd = 'O\'Brien "Jr" \\ back\tslash'
    make_user(district, district_user_id="2", first_name="Old", last_name="Name", grade="5", school=school, email="")

    _import(district, tmp_path, [student("1", **{"Last Name": odd}), student("2", **{"Last Name": odd, "First Name": "Old"})])

    assert _user(district, "1").last_name == odd.strip()
    assert _user(district, "2").last_name == odd.strip()
    change = ImportChange.objects.get(district_user_id="2")  # the change log is written the same way
    assert change.changes == {"last_name": ["Name", odd.strip()]}
    assert (change.user_id, change.old_email_notified, change.skipped) == (_user(district, "2").id, False, {})


def test_a_changed_value_equal_to_the_rows_password_is_masked_in_the_change_log(district, school, tmp_path):
    _stored(district, school)
    job = _import(district, tmp_path, [student("1001", **{"Alternate User ID": FILE_PASSWORD, "Password": FILE_PASSWORD})])

    change = ImportChange.objects.get(job=job)
    assert change.changes["alternate_user_id"] == ["", HIDDEN]
    assert FILE_PASSWORD not in str(change.changes)
    assert _user(district, "1001").alternate_user_id == FILE_PASSWORD  # only what is shown is masked
