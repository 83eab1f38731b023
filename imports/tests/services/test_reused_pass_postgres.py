"""The run takes the wizard's pass as its check when nothing it depends on changed since (PostgreSQL)."""
import pytest
from django.db import connection
from django.utils import timezone

from imports.models import ImportStatus
from imports.services import jobs, runs, sources, validation
from imports.targets import users as users_target
from imports.tests.factories import HEADER, IN_WINDOW, make_import_job, staff, student, write_csv
from users.models import CustomGroup, User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the users' fingerprint is made of PostgreSQL row versions")


@pytest.fixture
def checks(monkeypatch):
    """What the run does again: reading a file from its start, and looking users up by District ID."""
    done = []
    look_up = users_target.existing_users_by_district_id

    def reading(read):
        def counted(path, info, *args, **kwargs):
            done.append("read")
            return read(path, info, *args, **kwargs)
        return counted

    def looking_up(**kwargs):
        done.append("look-up")
        return look_up(**kwargs)

    monkeypatch.setattr(sources, "iter_rows", reading(sources.iter_rows))
    monkeypatch.setattr(sources, "iter_row_blocks", reading(sources.iter_row_blocks))
    monkeypatch.setattr(users_target, "existing_users_by_district_id", looking_up)
    return done


def _submitted(district, path, **options):
    job = make_import_job(district, [path], **options)
    return jobs.import_job_submit(job=job, now=IN_WINDOW, dispatch=False)


def _run(job):
    runs.import_job_run(job_id=job.id, queue_emails=False)
    job.refresh_from_db()
    return job


def _existing(district, school, district_user_id, **values):
    values = {"first_name": "Ada", "last_name": "Old", "user_type": "student", "grade": "5", **values}
    return User.objects.create(
        username=f"u{district_user_id}", district=district, district_user_id=district_user_id, school=school, **values,
    )


def test_nothing_changed_since_the_wizard_so_the_run_only_writes(district, school, tmp_path, checks):
    _existing(district, school, "1", middle_name="")
    rows = [student("1", **{"Last Name": "New"}), student("2", **{"Last Name": "Two"}), student("3", **{"Last Name": "Old"})]
    job = _submitted(district, write_csv(tmp_path / "roster.csv", rows))
    checks.clear()

    job = _run(job)

    # Only the chunk's own look-up of the rows it writes: no file read, no second check of every row.
    assert checks == ["look-up"]
    assert job.status == ImportStatus.COMPLETED
    assert (job.counts["created"], job.counts["updated"], job.counts["unchanged"]) == (2, 1, 0)
    assert dict(User.objects.filter(district=district).values_list("district_user_id", "last_name")) == {
        "1": "New", "2": "Two", "3": "Old",
    }
    assert job.changes.get().changes["last_name"] == ["Old", "New"]


def test_a_user_edited_after_the_wizard_makes_the_run_check_every_row_again(district, school, tmp_path, checks):
    ada = _existing(district, school, "1")
    job = _submitted(district, write_csv(tmp_path / "roster.csv", [student("1", **{"Last Name": "Old"}), student("2")]))
    assert job.validation_summary["counts"]["unchanged"] == 1
    # Another tool renames her between review and run, in this same transaction even.
    User.objects.filter(id=ada.id).update(last_name="Renamed")
    checks.clear()

    job = _run(job)

    assert checks.count("look-up") >= 2  # the run's check, then the chunk's
    assert (job.counts["created"], job.counts["updated"]) == (1, 1)
    assert User.objects.get(id=ada.id).last_name == "Old"


def test_a_user_added_after_the_wizard_is_updated_not_created_twice(district, school, tmp_path, checks):
    job = _submitted(district, write_csv(tmp_path / "roster.csv", [student("1", **{"Last Name": "New"})]))
    _existing(district, school, "1")
    checks.clear()

    job = _run(job)

    assert "look-up" in checks
    assert (job.counts["created"], job.counts["updated"]) == (0, 1)
    assert User.objects.filter(district=district, district_user_id="1").count() == 1


def test_group_members_and_login_emails_get_every_valid_row_also_the_unchanged_ones(district, school, tmp_path, checks):
    group = CustomGroup.objects.create(district=district, name="Grade 5")
    ada = _existing(district, school, "1")
    rows = [student("1", **{"Last Name": "Old"}), student("2"), staff("T-1")]
    job = _submitted(district, write_csv(tmp_path / "roster.csv", rows), custom_group=group, group_members="all",
                     email_staff=True)
    checks.clear()

    job = _run(job)

    assert "read" not in checks
    assert set(group.members.values_list("district_user_id", flat=True)) == {"1", "2", "T-1"}
    assert ada.id in set(group.members.values_list("id", flat=True))
    teacher = User.objects.get(district=district, district_user_id="T-1")
    assert list(job.emails.filter(kind="login").values_list("user_id", flat=True)) == [teacher.id]


def test_a_file_with_usernames_is_checked_again_since_usernames_are_unique_across_districts(
    district, school, tmp_path, checks
):
    path = write_csv(tmp_path / "roster.csv", [student("1", Username="ada.l")], header=HEADER + ("Username",))
    job = _submitted(district, path)
    checks.clear()

    job = _run(job)

    assert checks.count("look-up") >= 2
    assert User.objects.get(district=district, district_user_id="1").username == "ada.l"


def test_the_fingerprint_changes_with_an_insert_an_update_and_a_delete_in_the_same_transaction(district, school):
    columns = ("id", "district_user_id", "is_district_admin", "is_superuser", "last_name", "grade")
    _existing(district, school, "0")
    first = validation.users_fingerprint(district, columns)
    ada = _existing(district, school, "1")
    added = validation.users_fingerprint(district, columns)
    User.objects.filter(id=ada.id).update(grade="6")
    updated = validation.users_fingerprint(district, columns)
    User.objects.filter(id=ada.id).update(is_district_admin=True)
    protected = validation.users_fingerprint(district, columns)
    User.objects.filter(id=ada.id).delete()
    deleted = validation.users_fingerprint(district, columns)

    assert len({first, added, updated, protected}) == 4 and deleted != protected
    assert deleted == first  # the same stored values as then: nothing a pass read then has changed


def test_a_sign_in_since_the_wizard_does_not_make_the_run_check_again(district, school, tmp_path, checks):
    """Teachers sign in all day; the run checks again only when something its checks read has changed."""
    ada = _existing(district, school, "1")
    job = _submitted(district, write_csv(tmp_path / "roster.csv", [student("1", **{"Last Name": "New"})]))
    User.objects.filter(id=ada.id).update(last_login=timezone.now(), password="argon2$changed")
    checks.clear()

    job = _run(job)

    assert checks == ["look-up"]  # the chunk's own, before it writes
    assert job.counts["updated"] == 1 and User.objects.get(id=ada.id).last_name == "New"


def test_a_user_added_while_the_run_writes_is_found_by_the_chunks_look_up_and_updated(district, school, tmp_path, monkeypatch):
    """Another tool adds one of the file's users after the run compared the fingerprints (here: a fingerprint that
    cannot see it): the chunk looks its rows up before writing, so the user is updated, never inserted twice."""
    monkeypatch.setattr(validation.reuse, "users_fingerprint", lambda district, columns, spec=None: "as the wizard's pass found them")
    job = _submitted(district, write_csv(tmp_path / "roster.csv", [student("1", **{"Last Name": "New"}), student("2")]))
    _existing(district, school, "1")

    job = _run(job)

    assert job.status == ImportStatus.COMPLETED
    assert (job.counts["created"], job.counts["updated"]) == (1, 1)
    assert User.objects.filter(district=district, district_user_id="1").count() == 1
    assert User.objects.get(district=district, district_user_id="1").last_name == "New"
    assert User.objects.filter(district=district, district_user_id="2", created_by_import=job).exists()


def test_a_made_up_username_taken_in_another_district_since_the_wizard_gets_a_suffix(district, school, tmp_path):
    from users.tests.factories import make_district

    job = _submitted(district, write_csv(tmp_path / "roster.csv", [student("1"), student("2")]))
    # Another district's user takes the name this import would make, in other letters' case: this district's
    # fingerprint cannot see it, and the run's check of made-up usernames before writing does.
    elsewhere = make_district(name="Shelbyville", slug="shelbyville")
    User.objects.create(username="SPRINGFIELD.1", district=elsewhere, district_user_id="X")

    job = _run(job)

    assert job.status == ImportStatus.COMPLETED and job.counts["created"] == 2
    assert dict(User.objects.filter(district=district).values_list("district_user_id", "username")) == {
        "1": "springfield.1-2", "2": "springfield.2",
    }


def test_a_retry_after_an_attempt_that_checked_again_does_not_take_that_attempts_counts(district, school, tmp_path, monkeypatch):
    """An attempt that checked every row again (a user had been added) stored its own counts and problems, then
    failed before writing; the user is removed, so the users are as the wizard's pass found them. The retry checks
    again rather than pairing the wizard's verdicts with that attempt's counts."""
    from imports.services import apply

    job = _submitted(district, write_csv(tmp_path / "roster.csv", [student("1", **{"Last Name": "New"}), student("2")]))
    assert job.validation_summary["counts"]["warnings"] == 0
    added = _existing(district, school, "1", user_type="staff", grade="")
    real = apply._apply_chunk

    def fault(*args, **kwargs):
        raise RuntimeError("the worker stopped")

    monkeypatch.setattr(apply, "_apply_chunk", fault)
    runs.import_job_run(job_id=job.id, queue_emails=False)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.validation_summary["counts"]["warnings"] == 1
    monkeypatch.setattr(apply, "_apply_chunk", real)
    added.delete()

    runs.import_job_run(job_id=job.id, queue_emails=False, retry_failed=True)

    job.refresh_from_db()
    assert job.status == ImportStatus.COMPLETED
    assert (job.counts["created"], job.counts["warnings"], job.counts["conflicts"]) == (2, 0, 0)
    assert not job.issues.exists()
