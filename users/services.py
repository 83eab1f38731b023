"""Writes for users: district admins, passwords, custom groups and the demo district."""

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from imports.models import FINISHED_STATUSES, ImportJob
from imports.types import USER_DATA
from schools.models import District
from schools.selectors import district_get
from schools.services import district_create, school_upsert

from .models import AuditAction, AuditEvent, CustomGroup, User, UserType
from .auth import client_ip_address
from .locks import district_ids_lock
from .protection import is_protected
from .selectors import user_email_changed_at, user_find

logger = logging.getLogger(__name__)

USERNAME_TAKEN = "The username '{username}' is already taken."
EMAIL_REQUIRED = "An email address is required."


def district_admin_create(
    *,
    district: District,
    username: str,
    email: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Create a staff user who may manage the district.

    Without a password the account cannot sign in until one is set (password reset or ops-admin).
    """
    if not email:
        raise ValidationError(EMAIL_REQUIRED, code="email_required")
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(USERNAME_TAKEN.format(username=username), code="username_taken")
        user = User(
            district=district,
            username=username,
            email=email,
            first_name=first_name,
            last_name=last_name,
            user_type=UserType.STAFF,
            is_district_admin=True,
        )
        if password is None:
            user.set_unusable_password()
        else:
            validate_password(password, user)
            user.set_password(password)
        user.full_clean()
        user.save()
    return user


def user_password_set(*, user: User, password: str) -> None:
    """Give the user a new password, checked by the password validators."""
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])


def custom_group_upsert(*, district: District, name: str) -> tuple[CustomGroup, bool]:
    """The district's custom group with this name, created when missing; returns (group, created)."""
    with transaction.atomic():
        return CustomGroup.objects.get_or_create(district=district, name=name)


# The demo district: fixed data so that every run leaves the same district behind.
DEMO_SLUG = "demo"
DEMO_NAME = "Demo Unified School District"
DEMO_TIMEZONE = "America/Chicago"
DEMO_ADMIN_USERNAME = "demo-admin"
DEMO_ADMIN_EMAIL = "dana.whitfield@demo-usd.example"
DEMO_ADMIN_PASSWORD = "classworks-demo"
DEMO_SCHOOLS = (
    ("101", "First Street ES"),
    ("102", "Oak Grove ES"),
    ("201", "Lincoln MS"),
    ("301", "Roosevelt HS"),
)
# (district id, first, middle, last, type, grade, school SIS id, limited English, econ. disadvantaged)
DEMO_USERS = (
    ("T1001", "Maria", "", "Garcia", UserType.STAFF, "", "101", False, False),
    ("T1002", "James", "", "Chen", UserType.STAFF, "", "201", False, False),
    ("T2001", "Aisha", "", "Johnson", UserType.STAFF, "", "301", False, False),
    ("000123", "Ava", "Rose", "Martinez", UserType.STUDENT, "5", "101", True, False),
    ("000124", "Liam", "", "O'Connor", UserType.STUDENT, "K", "102", False, True),
    ("004501", "Noah", "", "Smith", UserType.STUDENT, "7", "201", False, True),
    ("010077", "Sofia", "", "Nguyen", UserType.STUDENT, "PK", "102", True, True),
    ("020311", "Ethan", "", "Brown", UserType.STUDENT, "11", "301", False, False),
)
DEMO_GROUPS = {
    "Robotics Club": ("T1002", "004501", "020311"),
    "Grade 5 Reading": ("000123",),
}


@dataclass(frozen=True)
class DemoSeed:
    district: District
    admin: User
    password: str
    login_url: str


def demo_seed(*, password: str = DEMO_ADMIN_PASSWORD) -> DemoSeed:
    """Create or refresh the demo district, its schools, users and groups, and its admin's password."""
    with transaction.atomic():
        district = district_get(slug=DEMO_SLUG) or district_create(
            slug=DEMO_SLUG, name=DEMO_NAME, timezone=DEMO_TIMEZONE
        )
        schools = {
            sis_id: school_upsert(district=district, sis_id=sis_id, name=name)[0] for sis_id, name in DEMO_SCHOOLS
        }
        users = {}
        for district_user_id, first, middle, last, user_type, grade, school_sis_id, lep, econ in DEMO_USERS:
            user, created = User.objects.update_or_create(
                district=district,
                district_user_id=district_user_id,
                defaults={
                    "username": f"demo.{first}.{last}".lower().replace("'", ""),
                    "email": f"{first}.{last}@demo-usd.example".lower().replace("'", ""),
                    "first_name": first,
                    "middle_name": middle,
                    "last_name": last,
                    "user_type": user_type,
                    "grade": grade,
                    "school": schools[school_sis_id],
                    "limited_english": lep,
                    "economically_disadvantaged": econ,
                },
            )
            if created:
                # Demo students and teachers never sign in to the admin product.
                user.set_unusable_password()
                user.save(update_fields=["password"])
            users[district_user_id] = user
        for name, member_ids in DEMO_GROUPS.items():
            group, _ = custom_group_upsert(district=district, name=name)
            group.members.add(*(users[i] for i in member_ids))

        admin = User.objects.filter(username=DEMO_ADMIN_USERNAME).first()
        if admin is None:
            admin = district_admin_create(
                district=district,
                username=DEMO_ADMIN_USERNAME,
                email=DEMO_ADMIN_EMAIL,
                password=password,
                first_name="Dana",
                last_name="Whitfield",
            )
        else:
            admin.district = district
            admin.is_district_admin = True
            admin.is_active = True
            admin.save(update_fields=["district", "is_district_admin", "is_active"])
            user_password_set(user=admin, password=password)
    login_url = settings.SITE_URL.rstrip("/") + reverse("login")
    return DemoSeed(district=district, admin=admin, password=password, login_url=login_url)


def audit_event_record(
    *,
    action: str,
    actor: User | None = None,
    district: District | None = None,
    request=None,
    job=None,
    subject_user: User | None = None,
    detail: dict | None = None,
):
    """Record who saw or changed student data. `request` gives the address; commands pass none."""
    ip_address = None
    if request is not None:
        actor = actor or (request.user if request.user.is_authenticated else None)
        ip_address = client_ip_address(request) or None  # as throttling sees it: the client, not the proxy
    if district is None:
        district = getattr(job, "district", None) or getattr(actor, "district", None)
    return AuditEvent.objects.create(
        district=district,
        actor=actor,
        actor_label=actor.get_username() if actor else "",
        action=action,
        ip_address=ip_address,
        job=job,
        subject_user=subject_user,
        detail=detail or {},
    )


# ---- The Users tab: hand edits, disable/enable, set-password links ----

ERROR_ADMIN_ACCOUNT = "Administrators' accounts are managed by Classworks support, not on this page."
ERROR_DISTRICT_ID_TAKEN = 'District ID "{district_id}" already belongs to another user of the district.'
ERROR_NOT_YOUR_SCHOOL = "Choose one of your district's schools."
ERROR_LINK_STAFF_ONLY = "Set-password links are for staff; students sign in the way their school set up."
ERROR_LINK_NO_EMAIL = "This staff member has no email address; add one first."
ERROR_LINK_DISABLED = "This account is disabled; enable it before sending a set-password link."
ERROR_LINK_EMAIL_JUST_CHANGED = "The email address was changed {when}, so no set-password link goes to it for {days} days."
ERROR_LINK_EMAIL_CHANGED_SINCE_SIGN_IN = (
    "The email address was changed {when}, after this person last signed in, so no set-password link goes to it "
    "until they sign in again."
)
ERROR_LINK_NOT_SENT = "The email could not be sent just now; nothing was sent. Try again in a few minutes."
# An address changed this recently, or since the person last signed in, is not yet trusted with a link.
EMAIL_CHANGE_HOLD_DAYS = 7


class UserError(Exception):
    """A refusal with a stable code and a message for the admin; `field` names the form field, if any."""

    def __init__(self, message: str, *, code: str, field: str = ""):
        super().__init__(message)
        self.message, self.code, self.field = message, code, field


def _refuse_admins(user: User) -> None:
    if is_protected(user):
        raise UserError(ERROR_ADMIN_ACCOUNT, code="admin_account")


# The fields a hand edit may change: the User Data import's key and record fields, from its declaration.
EDITABLE_FIELDS = (USER_DATA.match_column, *USER_DATA.record_columns)


# The user's column -> the import field key, so the trail names fields by their import headings.
IMPORT_KEYS = {f.stored_column: f.key for f in USER_DATA.fields if f.stored_column != f.key}
ERROR_USERNAME_TAKEN = 'Username "{username}" is already in use in Classworks.'


def user_update(*, user: User, values: dict, request=None, actor: User | None = None) -> list[str]:
    """Save an admin's edit of one user; returns the changed fields. Values are already normalised.

    A changed email of someone who has signed in sends a notice to the old address.
    """
    _refuse_admins(user)
    with transaction.atomic():
        # Two edits (or an import) giving one District ID at once: the second sees the first, never a 500.
        district_ids_lock(district_id=user.district_id)
        locked = User.objects.select_for_update().get(pk=user.pk)
        _refuse_admins(locked)
        district_user_id = values.get("district_user_id")
        if district_user_id and district_user_id != locked.district_user_id and User.objects.filter(
            district_id=locked.district_id, district_user_id=district_user_id
        ).exclude(pk=locked.pk).exists():
            raise UserError(
                ERROR_DISTRICT_ID_TAKEN.format(district_id=district_user_id), code="district_id_taken", field="district_id"
            )
        username = values.get("username")
        if username and username.lower() != locked.username.lower() and User.objects.filter(
            username__iexact=username
        ).exclude(pk=locked.pk).exists():  # usernames are unique across every district, ignoring case
            raise UserError(ERROR_USERNAME_TAKEN.format(username=username), code="username_taken", field="username")
        school_id = values.get("school_id")
        if school_id is not None and not locked.district.schools.filter(pk=school_id).exists():
            raise UserError(ERROR_NOT_YOUR_SCHOOL, code="not_your_school", field="school_sis_id")
        old_email = locked.email
        changed = [key for key in EDITABLE_FIELDS if key in values and getattr(locked, key) != values[key]]
        for key in changed:
            setattr(locked, key, values[key])
        if changed:
            locked.save(update_fields=changed)
            audit_event_record(
                action=AuditAction.EDIT_USER, request=request, actor=actor, district=locked.district,
                subject_user=locked, detail={"fields": [IMPORT_KEYS.get(k, k) for k in changed]},
            )
        if "email" in changed and old_email and locked.last_login:
            editor = actor or getattr(request, "user", None)
            transaction.on_commit(lambda: _email_change_notice_send(user=locked, old_email=old_email, editor=editor))
    for key in changed:
        setattr(user, key, values[key])
    return changed


def _email_change_notice_send(*, user: User, old_email: str, editor) -> None:
    context = {
        "user": user, "district": user.district, "editor": editor.get_full_name() or editor.get_username() if editor else "",
        "site_url": settings.SITE_URL,
    }
    body = render_to_string("users/email/email_changed.txt", context)
    try:
        send_mail("Your Classworks email address was changed", body, None, [old_email])
    except Exception:  # SMTP down: the edit stands; ops see which user's notice is missing (id only)
        logger.exception("Email-change notice not sent for user %s", user.pk)


def user_active_set(*, user: User, active: bool, request=None, actor: User | None = None) -> bool:
    """Enable or disable the user (a disabled user cannot sign in); returns whether anything changed."""
    _refuse_admins(user)
    with transaction.atomic():
        updated = User.objects.filter(pk=user.pk, is_active=not active).update(is_active=active)
        if updated:
            audit_event_record(
                action=AuditAction.ENABLE_USER if active else AuditAction.DISABLE_USER, request=request, actor=actor,
                district=user.district, subject_user=user,
            )
    user.is_active = active
    return bool(updated)


def set_password_url(user) -> str:
    """A single-use link: Django's token stops working once the password is set."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL.rstrip("/") + reverse("password_reset_confirm", args=[uid, token])


def user_password_link_send(
    *, user: User, request=None, actor: User | None = None, now=None, self_service: bool = False,
) -> None:
    """Email a staff member a single-use set-password link, unless their address is not yet trusted.

    self_service: the person asked for it ("Forgot your password?"), so a district administrator may get one too.
    """
    if not (self_service and user.is_district_admin and not (user.is_superuser or user.is_staff)):
        _refuse_admins(user)
    if user.user_type != UserType.STAFF and not (self_service and user.is_district_admin):
        raise UserError(ERROR_LINK_STAFF_ONLY, code="link_staff_only")
    if not user.email:
        raise UserError(ERROR_LINK_NO_EMAIL, code="link_no_email")
    if not user.is_active:
        raise UserError(ERROR_LINK_DISABLED, code="link_disabled")
    now = now or timezone.now()
    changed_at = user_email_changed_at(user=user)
    if changed_at is not None:
        when = timezone.localtime(changed_at, zoneinfo.ZoneInfo(user.district.timezone)).strftime("on %b %d, %Y at %H:%M")
        if changed_at > now - timedelta(days=EMAIL_CHANGE_HOLD_DAYS):
            raise UserError(
                ERROR_LINK_EMAIL_JUST_CHANGED.format(when=when, days=EMAIL_CHANGE_HOLD_DAYS), code="link_email_just_changed"
            )
        # Someone who signs in knows their password: an address set since then is not theirs until they do again.
        if user.last_login and changed_at > user.last_login:
            raise UserError(ERROR_LINK_EMAIL_CHANGED_SINCE_SIGN_IN.format(when=when), code="link_email_changed_since_sign_in")
    context = {
        "user": user, "district": user.district, "url": set_password_url(user), "site_url": settings.SITE_URL,
        "self_service": self_service, "link_days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    try:
        send_mail("Set your Classworks password", render_to_string("users/email/password_link.txt", context), None, [user.email])
    except Exception as exc:  # SMTP down, refused, timed out
        logger.warning("Set-password link not sent for user %s: %s", user.pk, type(exc).__name__)
        raise UserError(ERROR_LINK_NOT_SENT, code="link_not_sent") from None
    audit_event_record(
        action=AuditAction.SEND_PASSWORD_LINK, request=request, actor=actor, district=user.district, subject_user=user
    )


# ---- The Groups tab ----

ERROR_GROUP_NAME_REQUIRED = "Give the group a name."
ERROR_GROUP_NAME_TOO_LONG = "A group name can be at most 150 characters long."
ERROR_GROUP_NAME_TAKEN = 'Your district already has a group named "{name}".'
ERROR_GROUP_IN_USE = "Import {number} adds its users to this group and has not run yet: change or cancel it first."
ERROR_MEMBER_NOT_FOUND = 'No user of your district has the District ID or username "{identifier}".'
ERROR_MEMBER_ALREADY = "{name} is already a member."


def _group_name(*, district: District, name: str, exclude_pk: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise UserError(ERROR_GROUP_NAME_REQUIRED, code="group_name_required", field="name")
    if len(name) > 150:
        raise UserError(ERROR_GROUP_NAME_TOO_LONG, code="group_name_too_long", field="name")
    # Case-insensitive: "Robotics" and "robotics" would be the same group on an import's list.
    if CustomGroup.objects.filter(district=district, name__iexact=name).exclude(pk=exclude_pk).exists():
        raise UserError(ERROR_GROUP_NAME_TAKEN.format(name=name), code="group_name_taken", field="name")
    return name


def custom_group_create(*, district: District, name: str) -> CustomGroup:
    """A new custom group of the district; its name must be new to the district in any case."""
    with transaction.atomic():
        return CustomGroup.objects.create(district=district, name=_group_name(district=district, name=name))


def custom_group_rename(*, group: CustomGroup, name: str) -> CustomGroup:
    """Give the group another name, unique in the district."""
    with transaction.atomic():
        group.name = _group_name(district=group.district, name=name, exclude_pk=group.pk)
        group.save(update_fields=["name"])
    return group


def custom_group_delete(*, group: CustomGroup) -> None:
    """Delete the group (its members stay); refused while an import that has not run will add to it."""
    with transaction.atomic():
        pending = ImportJob.objects.filter(custom_group=group).exclude(status__in=FINISHED_STATUSES).order_by("number").first()
        if pending is not None:
            raise UserError(ERROR_GROUP_IN_USE.format(number=pending.number), code="group_in_use")
        group.delete()


def custom_group_member_add(*, group: CustomGroup, identifier: str) -> User:
    """Add the district's user with this District ID or username to the group."""
    user = user_find(district=group.district, identifier=identifier)
    if user is None:
        raise UserError(
            ERROR_MEMBER_NOT_FOUND.format(identifier=identifier.strip()[:64]), code="member_not_found", field="identifier"
        )
    with transaction.atomic():
        if group.members.filter(pk=user.pk).exists():
            raise UserError(ERROR_MEMBER_ALREADY.format(name=user.full_name or user.username), code="member_already", field="identifier")
        group.members.add(user)
    return user


def custom_group_member_remove(*, group: CustomGroup, user_id: int) -> User | None:
    """Take the district's user out of the group; returns the user, or None if they were not a member."""
    with transaction.atomic():
        user = group.members.filter(pk=user_id, district=group.district).first()
        if user is not None:
            group.members.remove(user)
    return user
