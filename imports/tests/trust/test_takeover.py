"""An import never takes over an account: not an administrator's, and not a staff member's who signs in.

The reproduction: an admin uploads a row with another account's District ID and a new email,
chooses Imported Record Wins and "Email staff their login information", and runs it.
"""
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from imports.models import EmailKind, ImportChange, ImportEmail, ImportStatus
from imports.pipeline.classify import ADMIN_ACCOUNT, UNCHANGED, ExistingUser, classify
from imports.services import emails, jobs
from imports.tests.factories import FULL_HEADER, make_import_job, run_job, staff, write_csv
from users.models import User, UserType
from users.tests.factories import PASSWORD, make_admin, make_staff, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

ATTACKER = "attacker@elsewhere.example"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://testserver"


def _import_users(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("import_users", *[str(a) for a in args], stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def _account(user: User) -> tuple:
    user.refresh_from_db()
    return user.email, user.username, user.user_type, user.password, user.is_district_admin


def _takeover_file(tmp_path, district_id: str, **cells):
    return write_csv(tmp_path / "roster.csv", [staff(district_id, **{"Email Address": ATTACKER}, **cells)], header=FULL_HEADER)


@pytest.fixture(params=["district_admin", "superuser"])
def other_admin(request, district):
    if request.param == "superuser":
        return make_user(district, district_user_id="T-77", user_type=UserType.STAFF, email="boss@springfield.example.org",
                         is_superuser=True, is_staff=True, last_login=timezone.now())
    return make_admin(district, district_user_id="T-77", email="boss@springfield.example.org", last_login=timezone.now())


@pytest.mark.parametrize("conflict", ["imported", "existing"])
def test_the_reproduction_with_another_administrator_is_refused_and_mails_nobody(
    district, district_admin, school, other_admin, tmp_path, mailoutbox, conflict
):
    path = _takeover_file(tmp_path, "T-77", Password="Taken-Over-9921")
    before = _account(other_admin)

    code, out, err = _import_users(
        path, "--district", district.slug, "--as", district_admin.username, "--conflict", conflict,
        "--password", "overwrite", "--email-staff", "--now",
    )

    assert code == 1
    assert ADMIN_ACCOUNT.format(district_id="T-77") in err
    assert _account(other_admin) == before
    assert other_admin.check_password(PASSWORD)
    assert [m for m in mailoutbox if ATTACKER in m.to] == []


def test_the_dry_run_and_the_wizard_preview_give_the_same_error(district, district_admin, school, other_admin, tmp_path):
    path = _takeover_file(tmp_path, "T-77")

    code, _, err = _import_users(path, "--district", district.slug, "--dry-run")
    job = make_import_job(district, [path], created_by=district_admin, email_staff=True)

    assert code == 1 and ADMIN_ACCOUNT.format(district_id="T-77") in err
    assert job.validation_summary["counts"]["errors"] == 1
    assert job.issues.get().message == ADMIN_ACCOUNT.format(district_id="T-77")
    with pytest.raises(jobs.ImportError_):
        jobs.import_job_submit(job=job, dispatch=False)


def test_an_account_made_administrator_after_validation_is_still_untouched_when_the_job_runs(
    district, district_admin, school, tmp_path, mailoutbox
):
    target = make_staff(district, district_user_id="T-77", email="boss@springfield.example.org", password=None)
    job = make_import_job(district, [_takeover_file(tmp_path, "T-77")], created_by=district_admin, email_staff=True)
    User.objects.filter(id=target.id).update(is_district_admin=True)
    before = _account(target)

    job = run_job(job)
    emails.import_emails_send(job_id=job.id)

    assert job.status == ImportStatus.FAILED
    assert _account(target) == before
    assert [m for m in mailoutbox if ATTACKER in m.to] == []


def test_classify_writes_nothing_to_an_administrator_whatever_the_options(tmp_path):
    from imports.tests.factories import build_user_rows

    [row] = build_user_rows(_takeover_file(tmp_path, "T-77"))
    admin = ExistingUser(id=1, district_user_id="T-77", values={"email": "boss@example.org", "user_type": "staff"}, protected=True)

    for conflict in ("imported", "existing"):
        outcome = classify(row, admin, conflict_policy=conflict, password_policy="overwrite")
        assert (outcome.kind, outcome.changes, outcome.writes) == (UNCHANGED, {}, False)


def test_a_staff_member_who_signs_in_keeps_the_account_and_the_old_address_is_told(
    district, district_admin, school, tmp_path, mailoutbox
):
    teacher = make_staff(district, district_user_id="T-5", email="grace@springfield.example.org", last_login=timezone.now())
    path = _takeover_file(tmp_path, "T-5")

    code, out, err = _import_users(
        path, "--district", district.slug, "--as", district_admin.username, "--conflict", "imported",
        "--email-staff", "--now",
    )

    assert code == 0, err
    teacher.refresh_from_db()
    assert teacher.email == ATTACKER  # Imported Record Wins still changes it...
    assert teacher.check_password(PASSWORD)
    assert [m for m in mailoutbox if ATTACKER in m.to] == []  # ...but no set-password link goes there
    [notice] = [m for m in mailoutbox if m.subject == emails.EMAIL_CHANGED_SUBJECT]
    job = ImportChange.objects.get(user=teacher).job
    assert notice.to == ["grace@springfield.example.org"]
    assert f"import {job.number}" in notice.body and "Dana Whitfield" in notice.body
    assert ATTACKER not in notice.body
    change = ImportChange.objects.get(job=job, user=teacher)
    assert change.old_email_notified and change.changes["email"] == ["grace@springfield.example.org", ATTACKER]

    assert emails.import_emails_send(job_id=job.id) == 0  # a second delivery sends nothing twice
    assert ImportEmail.objects.filter(job=job, kind=EmailKind.EMAIL_CHANGED).count() == 1


def test_no_notice_when_the_staff_member_never_signed_in(district, district_admin, school, tmp_path, mailoutbox):
    make_staff(district, district_user_id="T-6", email="new.hire@springfield.example.org", password=None)
    job = run_job(make_import_job(district, [_takeover_file(tmp_path, "T-6")], created_by=district_admin))
    emails.import_emails_send(job_id=job.id)

    assert not ImportChange.objects.get(job=job).old_email_notified
    assert [m for m in mailoutbox if m.subject == emails.EMAIL_CHANGED_SUBJECT] == []


def test_login_links_go_only_to_new_and_unclaimed_accounts(district, district_admin, school, tmp_path, mailoutbox):
    make_staff(district, district_user_id="T-2", email="t-2@springfield.example.org", password=None)  # never set up
    make_staff(district, district_user_id="T-3", email="t-3@springfield.example.org")  # has a password
    make_staff(district, district_user_id="T-4", email="t-4@springfield.example.org", password=None,
               last_login=timezone.now())  # signed in once (single sign-on, say)
    path = write_csv(tmp_path / "roster.csv", [staff("T-1"), staff("T-2"), staff("T-3"), staff("T-4")])

    job = run_job(make_import_job(district, [path], created_by=district_admin, email_staff=True))
    emails.import_emails_send(job_id=job.id)

    logins = sorted(m.to[0] for m in mailoutbox if m.subject == "Your Classworks login")
    assert logins == ["t-1@springfield.example.org", "t-2@springfield.example.org"]
