"""The trust rules of the Users tab's services, where time matters."""
import datetime

import pytest
from django.core import mail
from django.utils import timezone

from users import services
from users.models import AuditAction, AuditEvent
from users.tests.factories import make_district, make_staff

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _changed_email(user, *, days_ago: int) -> None:
    event = services.audit_event_record(action=AuditAction.EDIT_USER, district=user.district, subject_user=user, detail={"fields": ["email"]})
    AuditEvent.objects.filter(pk=event.pk).update(created_at=NOW - datetime.timedelta(days=days_ago))


@pytest.mark.parametrize("changed_days_ago, last_login_days_ago, code", [
    (2, None, "link_email_just_changed"),          # just changed, never signed in
    (2, 30, "link_email_just_changed"),
    (10, 20, "link_email_changed_since_sign_in"),   # changed after their last sign-in
    (10, 5, None),                                  # they signed in since: the address is theirs
    (10, None, None),                               # never signed in, changed long ago
])
def test_a_changed_address_gets_a_link_only_once_it_is_trusted(changed_days_ago, last_login_days_ago, code):
    teacher = make_staff(make_district(), email="t@example.org")
    if last_login_days_ago is not None:
        teacher.last_login = NOW - datetime.timedelta(days=last_login_days_ago)
        teacher.save(update_fields=["last_login"])
    _changed_email(teacher, days_ago=changed_days_ago)
    if code is None:
        services.user_password_link_send(user=teacher, now=NOW)
        assert [m.to for m in mail.outbox] == [["t@example.org"]]
        return
    with pytest.raises(services.UserError) as refused:
        services.user_password_link_send(user=teacher, now=NOW)
    assert refused.value.code == code
    assert mail.outbox == []


def test_a_disabled_or_addressless_staff_member_gets_no_link():
    district = make_district()
    with pytest.raises(services.UserError, match=services.ERROR_LINK_DISABLED):
        services.user_password_link_send(user=make_staff(district, is_active=False))
    with pytest.raises(services.UserError, match=services.ERROR_LINK_NO_EMAIL):
        services.user_password_link_send(user=make_staff(district, email=""))
    assert mail.outbox == []


def test_a_link_that_cannot_be_sent_says_so(monkeypatch):
    teacher = make_staff(make_district(), email="t@example.org")

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(services, "send_mail", refuse)
    with pytest.raises(services.UserError, match=services.ERROR_LINK_NOT_SENT):
        services.user_password_link_send(user=teacher)
    assert not AuditEvent.objects.filter(action=AuditAction.SEND_PASSWORD_LINK).exists()
