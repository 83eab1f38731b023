"""Round three: no protected or claimed account changes hands through an import or an undo.

Protected (users.protection): district admins, superusers and ops staff (is_staff). Claimed: anyone
who has signed in; Overwrite Password leaves their password alone unless the admin ticks the option.
"""
import pytest
from django.utils import timezone

from imports.models import EmailKind, ImportEmail, ImportStatus
from imports.pipeline.classify import ADMIN_ACCOUNT, ERROR_PROTECTED_ACCOUNT
from imports.services import emails, runs, undo
from imports.tests.factories import FULL_HEADER, make_import_job, run_job, staff, student, write_csv, wizard_url
from users.models import User, UserType
from users.protection import is_protected
from users.tests.factories import PASSWORD, make_staff, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]

ATTACKER = "attacker@elsewhere.example"
FILE_PASSWORD = "Tricky-Horse-Staple-42"


def test_one_rule_protects_admins_superusers_and_ops_staff():
    assert is_protected(is_district_admin=True) and is_protected(is_superuser=True) and is_protected(is_staff=True)
    assert not is_protected(is_district_admin=False, is_superuser=False, is_staff=False)
    assert is_protected(User(is_staff=True)) and not is_protected(User())


def test_an_ops_staff_account_with_a_district_id_is_not_taken_over(district, district_admin, school, tmp_path, mailoutbox):
    """Item 1's reproduction: an is_staff account, an attacker's email, Overwrite Password, login emails."""
    ops = make_staff(district, district_user_id="T-77", email="ops@classworks.example", is_staff=True,
                     last_login=timezone.now())
    path = write_csv(tmp_path / "roster.csv", [staff("T-77", **{"Email Address": ATTACKER, "Password": FILE_PASSWORD})],
                     header=FULL_HEADER)

    job = make_import_job(district, [path], created_by=district_admin, password_policy="overwrite", email_staff=True)

    [issue] = job.issues.all()
    assert issue.row == 2 and ERROR_PROTECTED_ACCOUNT in issue.message
    assert issue.message == ADMIN_ACCOUNT.format(district_id="T-77")
    ops.refresh_from_db()
    assert ops.email == "ops@classworks.example" and ops.check_password(PASSWORD)
    assert [m for m in mailoutbox if ATTACKER in m.to] == []


def test_an_account_made_ops_staff_after_validation_gets_no_password_and_no_login_link(
    district, district_admin, school, tmp_path, mailoutbox
):
    target = make_staff(district, district_user_id="T-78", email="t-78@springfield.example.org", password=None)
    path = write_csv(tmp_path / "roster.csv", [staff("T-78", **{"Password": FILE_PASSWORD})], header=FULL_HEADER)
    job = make_import_job(district, [path], created_by=district_admin, password_policy="overwrite", email_staff=True)
    User.objects.filter(id=target.id).update(is_staff=True)

    job = run_job(job)
    emails.import_emails_send(job_id=job.id)

    target.refresh_from_db()
    assert not target.check_password(FILE_PASSWORD)
    assert [m for m in mailoutbox if "t-78@springfield.example.org" in m.to] == []


# ---- Undo (item 5) ----

def _undo(job, admin):
    started = undo.import_undo_request(job=job, requested_by=admin, dispatch=False)
    runs.import_job_run(job_id=started.id, queue_emails=False)
    started.refresh_from_db()
    return started


@pytest.mark.parametrize("made", ["is_district_admin", "is_staff", "is_superuser"])
def test_undo_never_disables_a_created_user_made_an_administrator_since(district, district_admin, school, tmp_path, made):
    path = write_csv(tmp_path / "roster.csv", [staff("T-9"), student("S-1")])
    job = run_job(make_import_job(district, [path], created_by=district_admin))
    User.objects.filter(district_user_id="T-9").update(**{made: True})

    preview = undo.import_undo_preview(job=job)
    assert preview.counts["disabled"] == 1 and preview.counts["skipped"] == 1
    assert [s["district_user_id"] for s in preview.skipped] == ["T-9"]

    done = _undo(job, district_admin)

    assert done.status == ImportStatus.COMPLETED_WITH_WARNINGS
    assert User.objects.get(district_user_id="T-9").is_active
    assert not User.objects.get(district_user_id="S-1").is_active
    skipped = done.changes.get(district_user_id="T-9")
    assert skipped.changes == {} and "is_active" in skipped.skipped


def test_undo_never_edits_a_changed_user_made_an_administrator_since(district, district_admin, school, tmp_path):
    target = make_staff(district, district_user_id="T-10", last_name="Before", school=school)
    path = write_csv(tmp_path / "roster.csv", [staff("T-10", **{"Last Name": "After"})])
    job = run_job(make_import_job(district, [path], created_by=district_admin))
    User.objects.filter(id=target.id).update(is_district_admin=True)

    done = _undo(job, district_admin)

    target.refresh_from_db()
    assert target.last_name == "After" and target.is_active
    assert done.counts["reverted"] == 0 and done.counts["skipped"] >= 1


# ---- Claimed accounts (item 11) ----

@pytest.fixture
def claimed_and_new(district, school):
    signed_in = make_staff(district, district_user_id="T-20", email="signed.in@springfield.example.org",
                           last_login=timezone.now())
    never = make_staff(district, district_user_id="T-21", email="never@springfield.example.org", password=None)
    return signed_in, never


def _password_file(tmp_path):
    rows = [staff("T-20", **{"Password": FILE_PASSWORD}), staff("T-21", **{"Password": FILE_PASSWORD})]
    return write_csv(tmp_path / "roster.csv", rows, header=FULL_HEADER)


def test_overwrite_password_leaves_a_signed_in_account_alone_by_default(
    district, district_admin, tmp_path, claimed_and_new, mailoutbox
):
    signed_in, never = claimed_and_new
    job = make_import_job(district, [_password_file(tmp_path)], created_by=district_admin, password_policy="overwrite")
    assert job.validation_summary["claimed_passwords"] == 1

    job = run_job(job)
    emails.import_emails_send(job_id=job.id)

    signed_in.refresh_from_db(), never.refresh_from_db()
    assert signed_in.check_password(PASSWORD) and not signed_in.check_password(FILE_PASSWORD)
    assert never.check_password(FILE_PASSWORD)
    assert [m for m in mailoutbox if m.subject == emails.PASSWORD_CHANGED_SUBJECT] == []


def test_ticking_the_option_replaces_it_and_tells_the_holder_at_the_stored_address(
    district, district_admin, tmp_path, claimed_and_new, mailoutbox
):
    signed_in, never = claimed_and_new
    job = make_import_job(district, [_password_file(tmp_path)], created_by=district_admin, password_policy="overwrite")
    job.replace_claimed_passwords = True
    job.save(update_fields=["replace_claimed_passwords"])

    job = run_job(job)
    emails.import_emails_send(job_id=job.id)

    signed_in.refresh_from_db()
    assert signed_in.check_password(FILE_PASSWORD)
    [notice] = [m for m in mailoutbox if m.subject == emails.PASSWORD_CHANGED_SUBJECT]
    assert notice.to == ["signed.in@springfield.example.org"] and f"import {job.number}" in notice.body
    assert FILE_PASSWORD not in notice.body
    assert ImportEmail.objects.filter(job=job, kind=EmailKind.PASSWORD_CHANGED).count() == 1


def test_additional_actions_offers_the_option_with_the_count(
    client, district, district_admin, tmp_path, claimed_and_new
):
    job = make_import_job(district, [_password_file(tmp_path)], created_by=district_admin, password_policy="overwrite")
    job.step = "actions"
    job.save(update_fields=["step"])
    client.force_login(district_admin)

    page = client.get(wizard_url(job, "actions")).content.decode()
    assert "Also replace the passwords of 1 people who already sign in" in page

    client.post(wizard_url(job, "actions"), {
        "conflict_policy": "imported", "password_policy": "overwrite", "group_members": "students",
        "replace_claimed_passwords": "on",
    })
    job.refresh_from_db()
    assert job.replace_claimed_passwords


def test_the_command_line_leaves_signed_in_passwords_alone_unless_told(district, district_admin, tmp_path, claimed_and_new):
    import io

    from django.core.management import call_command

    signed_in, _ = claimed_and_new
    args = [str(_password_file(tmp_path)), "--district", district.slug, "--as", district_admin.username,
            "--password", "overwrite", "--now"]
    call_command("import_users", *args, stdout=io.StringIO(), stderr=io.StringIO())
    signed_in.refresh_from_db()
    assert signed_in.check_password(PASSWORD)

    call_command("import_users", *args, "--replace-claimed-passwords", stdout=io.StringIO(), stderr=io.StringIO())
    signed_in.refresh_from_db()
    assert signed_in.check_password(FILE_PASSWORD)
