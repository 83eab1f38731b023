"""Plain factory functions for tests across the project. Each call makes unique, valid rows.

district = make_district()
school = make_school(district, sis_id="101")
student = make_user(district, district_user_id="000123", grade="5")
admin = make_admin(district)
"""

import itertools

from schools.models import District, School
from users.models import CustomGroup, User, UserType

# Every factory-made user can sign in with this password (tests use the fast MD5 hasher).
PASSWORD = "correct-horse-battery-staple"

_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


def make_district(**kw) -> District:
    n = _next()
    kw.setdefault("slug", f"district-{n}")
    kw.setdefault("name", f"District {n}")
    kw.setdefault("timezone", "America/Chicago")
    return District.objects.create(**kw)


def make_school(district: District, **kw) -> School:
    n = _next()
    kw.setdefault("name", f"School {n}")
    kw.setdefault("sis_id", f"S{n:03d}")
    return School.objects.create(district=district, **kw)


def make_user(district: District | None, **kw) -> User:
    """A student by default; pass user_type=UserType.STAFF for staff, password=None for no password."""
    n = _next()
    password = kw.pop("password", PASSWORD)
    groups = kw.pop("custom_groups", ())
    kw.setdefault("username", f"user{n}")
    kw.setdefault("first_name", f"First{n}")
    kw.setdefault("last_name", f"Last{n}")
    kw.setdefault("email", f"user{n}@example.org")
    # A prefix keeps generated ids clear of the realistic ids that tests spell out ("000123").
    kw.setdefault("district_user_id", f"U{n:06d}")
    kw.setdefault("user_type", UserType.STUDENT)
    if kw["user_type"] == UserType.STUDENT:
        kw.setdefault("grade", "5")
    user = User(district=district, **kw)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    if groups:
        user.custom_groups.add(*groups)
    return user


def make_staff(district: District, **kw) -> User:
    kw.setdefault("user_type", UserType.STAFF)
    return make_user(district, **kw)


def make_admin(district: District, **kw) -> User:
    """A district administrator: a staff user with is_district_admin=True."""
    kw.setdefault("user_type", UserType.STAFF)
    kw.setdefault("is_district_admin", True)
    kw.setdefault("district_user_id", None)
    return make_user(district, **kw)


def make_custom_group(district: District, **kw) -> CustomGroup:
    n = _next()
    members = kw.pop("members", ())
    kw.setdefault("name", f"Group {n}")
    group = CustomGroup.objects.create(district=district, **kw)
    if members:
        group.members.add(*members)
    return group
