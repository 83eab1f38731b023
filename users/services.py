"""Writes for users: district admins, passwords, custom groups and the demo district."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from schools.models import District
from schools.selectors import district_get
from schools.services import district_create, school_upsert

from .models import CustomGroup, User, UserType

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
    from .models import AuditEvent

    ip_address = None
    if request is not None:
        actor = actor or (request.user if request.user.is_authenticated else None)
        ip_address = request.META.get("REMOTE_ADDR") or None
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
