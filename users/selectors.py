"""Reads for users and custom groups. Every selector takes the district it may look in."""

from django.db.models import Prefetch, QuerySet

from schools.models import District

from .models import CustomGroup, User


def user_list(*, district: District) -> QuerySet[User]:
    """Every user of the district (students, staff and admins), by name."""
    return User.objects.filter(district=district).order_by("last_name", "first_name", "pk")


def user_export_list(*, district: District) -> QuerySet[User]:
    """`user_list` with the school and custom groups loaded in bulk, for one pass over many users."""
    return (
        user_list(district=district)
        .select_related("school")
        .prefetch_related(Prefetch("custom_groups", queryset=CustomGroup.objects.only("id", "name").order_by("name")))
    )


def user_get(*, district: District, pk: int) -> User | None:
    """The district's user with this id; another district's user answers like a missing one."""
    return User.objects.filter(district=district, pk=pk).first()


def district_admin_list(*, district: District) -> QuerySet[User]:
    """The people who may manage the district."""
    return user_list(district=district).filter(is_district_admin=True)


def custom_group_list(*, district: District) -> QuerySet[CustomGroup]:
    """The district's custom groups, by name."""
    return CustomGroup.objects.filter(district=district).order_by("name")


def audit_event_list(*, district: District, since=None, job=None, subject_user=None):
    """The district's audit trail, newest first; optionally since a moment, for one job or one user."""
    from .models import AuditEvent

    events = AuditEvent.objects.filter(district=district).select_related("actor", "job", "subject_user")
    if since is not None:
        events = events.filter(created_at__gte=since)
    if job is not None:
        events = events.filter(job=job)
    if subject_user is not None:
        events = events.filter(subject_user=subject_user)
    return events
