"""`manage.py audit_log`: ops read a district's trail, and only that district's, from a day on."""
import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from users.models import AuditAction, AuditEvent
from users.services import audit_event_record
from users.tests.factories import make_admin, make_district, make_user

pytestmark = pytest.mark.django_db


def _log(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("audit_log", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _at(event: AuditEvent, when: datetime.datetime) -> None:
    AuditEvent.objects.filter(id=event.id).update(created_at=when)


@pytest.fixture
def springfield():
    district = make_district(slug="springfield", timezone="America/Chicago")
    return district, make_admin(district, username="dana"), make_user(district, district_user_id="000123")


def test_prints_who_what_when_and_where_oldest_first(springfield):
    district, admin, student = springfield
    chicago_noon = datetime.datetime(2026, 3, 2, 18, 0, tzinfo=datetime.timezone.utc)
    viewed = audit_event_record(action=AuditAction.VIEW_USER, actor=admin, subject_user=student, district=district)
    exported = audit_event_record(action=AuditAction.EXPORT_USERS, district=district, detail={"format": "csv", "users": 2})
    _at(viewed, chicago_noon)
    _at(exported, chicago_noon + datetime.timedelta(hours=1))
    other = make_district(slug="shelbyville")
    audit_event_record(action=AuditAction.EXPORT_USERS, actor=make_admin(other, username="sam"), district=other)

    out, _ = _log("--district", "springfield")

    lines = out.splitlines()
    assert lines == [
        "2026-03-02 12:00:00 CST  dana  -  Viewed a user  user 000123",
        '2026-03-02 13:00:00 CST  (command)  -  Exported users  {"format": "csv", "users": 2}',
    ]


def test_since_keeps_the_events_from_that_day_in_the_districts_time(springfield):
    district, admin, _ = springfield
    late_on_the_first = datetime.datetime(2026, 3, 2, 5, 30, tzinfo=datetime.timezone.utc)  # 23:30 on 1 March in Chicago
    first = audit_event_record(action=AuditAction.DOWNLOAD_ERRORS, actor=admin, district=district)
    second = audit_event_record(action=AuditAction.DOWNLOAD_RESULTS, actor=admin, district=district)
    _at(first, late_on_the_first)
    _at(second, late_on_the_first + datetime.timedelta(hours=1))

    out, _ = _log("--district", "springfield", "--since", "2026-03-02")

    assert "Downloaded a results report" in out and "Downloaded an error report" not in out


def test_nothing_to_print_says_so(springfield):
    out, err = _log("--district", "springfield", "--since", "2030-01-01")

    assert out == "" and "No audit events for springfield since 2030-01-01." in err


def test_a_bad_date_or_district_is_a_clear_error(springfield):
    with pytest.raises(CommandError, match='--since "March 2": give a date as YYYY-MM-DD.'):
        _log("--district", "springfield", "--since", "March 2")
    with pytest.raises(CommandError, match="No district with the slug 'nowhere'"):
        _log("--district", "nowhere")
