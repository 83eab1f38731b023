"""Reads for users and custom groups. Every selector takes the district it may look in."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from schools.models import District, School

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


# ---- The Users tab: search, filters and keyset pages ----

USERS_PER_PAGE = 50
# Past this many matches the list says "10,000+": an exact count of a million rows is slow.
USER_COUNT_CAP = 10_000
_NAME_ORDER = ("last_name", "first_name", "pk")


@dataclass(frozen=True)
class UserFilters:
    """What the admin asked the Users list for; blank means "any"."""

    q: str = ""
    school_id: int | None = None
    user_type: str = ""
    grade: str = ""
    active: bool | None = None


@dataclass(frozen=True)
class UserPage:
    users: list
    next_after: int | None  # the last user's id, when a later page exists
    prev_before: int | None  # the first user's id, when an earlier page exists
    count: int  # matches, up to USER_COUNT_CAP + 1
    count_capped: bool


def _prefix(column: str, text: str) -> Q:
    # lower(col) LIKE 'text%': the form the text_pattern_ops indexes of migration 0003 serve.
    return Q(**{f"{column}_lower__startswith": text})


def _search(users: QuerySet, q: str) -> QuerySet:
    """Prefix of a name, District ID, username or email; "Ada Love" or "Lovelace, Ada" match both names."""
    words = [w for w in q.replace(",", " ").lower().split() if w]
    if not words:
        return users
    users = users.alias(
        last_name_lower=Lower("last_name"), first_name_lower=Lower("first_name"),
        district_user_id_lower=Lower("district_user_id"), username_lower=Lower("username"), email_lower=Lower("email"),
    )
    if len(words) == 1:
        (word,) = words
        match = Q()
        for column in ("last_name", "first_name", "district_user_id", "username", "email"):
            match |= _prefix(column, word)
        return users.filter(match)
    first, last = words[0], words[-1]
    return users.filter(
        (_prefix("first_name", first) & _prefix("last_name", last))
        | (_prefix("last_name", first) & _prefix("first_name", last))
    )


def user_search(*, district: District, filters: UserFilters) -> QuerySet[User]:
    """The district's users matching the search and filters, by name."""
    users = User.objects.filter(district=district)
    if filters.school_id is not None:
        users = users.filter(school_id=filters.school_id)
    if filters.user_type:
        users = users.filter(user_type=filters.user_type)
    if filters.grade:
        users = users.filter(grade=filters.grade)
    if filters.active is not None:
        users = users.filter(is_active=filters.active)
    return _search(users, filters.q.strip()).order_by(*_NAME_ORDER)


def _after(user: User) -> Q:
    # Row comparison spelt out; the leading last_name >= gives the index scan its start.
    return Q(last_name__gte=user.last_name) & (
        Q(last_name__gt=user.last_name)
        | Q(last_name=user.last_name, first_name__gt=user.first_name)
        | Q(last_name=user.last_name, first_name=user.first_name, pk__gt=user.pk)
    )


def _before(user: User) -> Q:
    return Q(last_name__lte=user.last_name) & (
        Q(last_name__lt=user.last_name)
        | Q(last_name=user.last_name, first_name__lt=user.first_name)
        | Q(last_name=user.last_name, first_name=user.first_name, pk__lt=user.pk)
    )


def user_page(
    *, district: District, filters: UserFilters, after: int | None = None, before: int | None = None,
    size: int = USERS_PER_PAGE,
) -> UserPage:
    """One page of `user_search`, after or before a user id (keyset: page 20,000 costs what page 1 does)."""
    matches = user_search(district=district, filters=filters)
    anchor_id = after or before
    anchor = User.objects.filter(district=district, pk=anchor_id).only(*_NAME_ORDER[:2]).first() if anchor_id else None
    rows = matches.select_related("school").only(
        "first_name", "middle_name", "last_name", "district_user_id", "username", "user_type", "grade",
        "is_active", "is_district_admin", "school__name",
    )
    if anchor is not None and before:
        found = list(rows.filter(_before(anchor)).order_by("-last_name", "-first_name", "-pk")[: size + 1])
        more_before = len(found) > size
        users = found[:size][::-1]
        next_after = users[-1].pk if users else None
        prev_before = users[0].pk if users and more_before else None
    else:
        if anchor is not None:
            rows = rows.filter(_after(anchor))
        found = list(rows[: size + 1])
        users = found[:size]
        next_after = users[-1].pk if len(found) > size else None
        prev_before = users[0].pk if users and anchor is not None else None
    count = matches.order_by()[: USER_COUNT_CAP + 1].count()
    return UserPage(
        users=users, next_after=next_after, prev_before=prev_before,
        count=min(count, USER_COUNT_CAP), count_capped=count > USER_COUNT_CAP,
    )


# ---- One user's page ----


@dataclass(frozen=True)
class HistoryEntry:
    at: object  # datetime or None
    what: str
    who: str = ""
    job: object = None  # ImportJob, for a link to its details page
    changes: dict | None = None  # {heading: (before, after)} for an import's change


def user_imports(*, district: District, user: User):
    """(the import that created the user or None, the import changes to the user newest first)."""
    from imports.models import ImportChange

    created = user.created_by_import if user.created_by_import_id and user.created_by_import.district_id == district.id else None
    changes = list(
        ImportChange.objects.filter(user=user, job__district=district).select_related("job").order_by("-job__number", "-id")
    )
    return created, changes


def user_history(*, district: District, user: User, limit: int = 100) -> list[HistoryEntry]:
    """What happened to the user, newest first: audit events (views, edits, disables, links) and imports."""
    from imports.pipeline.fields import FIELDS_BY_KEY

    created, changes = user_imports(district=district, user=user)
    entries = []
    for event in audit_event_list(district=district, subject_user=user)[:limit]:
        fields = event.detail.get("fields") or []
        what = event.get_action_display()
        if fields:
            what += ": " + ", ".join(FIELDS_BY_KEY[f].heading if f in FIELDS_BY_KEY else f for f in fields)
        entries.append(HistoryEntry(at=event.created_at, what=what, who=event.actor_label, job=event.job))
    school_names = dict(School.objects.filter(district=district).values_list("id", "name"))
    for change in changes[:limit]:
        job = change.job
        shown = {}
        for key, (before, after) in change.changes.items():
            if key == "school_id":  # the change log keeps school ids
                shown["School"] = (school_names.get(before, before), school_names.get(after, after))
            else:
                shown[FIELDS_BY_KEY[key].heading if key in FIELDS_BY_KEY else key] = (before, after)
        entries.append(HistoryEntry(
            at=job.completed_at or job.started_at, what=f"Changed by import {job.number}",
            who=job.created_by.get_username() if job.created_by_id else "", job=job, changes=shown,
        ))
    if created is not None:
        entries.append(HistoryEntry(
            at=created.completed_at or created.started_at or user.date_joined, what=f"Created by import {created.number}",
            job=created,
        ))
    entries.sort(key=lambda e: (e.at is not None, e.at), reverse=True)
    return entries[:limit]


def user_email_changed_at(*, user: User):
    """When the user's email last changed, by an edit here or by an import; None if never seen to."""
    from imports.models import ImportChange

    from .models import AuditAction, AuditEvent

    moments = [
        e.created_at for e in AuditEvent.objects.filter(subject_user=user, action=AuditAction.EDIT_USER).only("created_at", "detail")
        if "email" in (e.detail.get("fields") or [])
    ]
    for change in ImportChange.objects.filter(user=user).select_related("job").only("changes", "job__completed_at", "job__started_at"):
        if "email" in change.changes:
            moments.append(change.job.completed_at or change.job.started_at)
    moments = [m for m in moments if m is not None]
    return max(moments) if moments else None


# ---- The Groups tab ----


def custom_group_list_with_counts(*, district: District) -> QuerySet[CustomGroup]:
    """The district's custom groups, by name, each with `member_count`."""
    return custom_group_list(district=district).annotate(member_count=Count("members"))


def custom_group_get(*, district: District, pk: int) -> CustomGroup | None:
    """The district's group with this id; another district's group answers like a missing one."""
    return CustomGroup.objects.filter(district=district, pk=pk).first()


def custom_group_members(*, group: CustomGroup) -> QuerySet[User]:
    """The group's members, by name."""
    return group.members.select_related("school").order_by(*_NAME_ORDER)


def user_find(*, district: District, identifier: str) -> User | None:
    """The district's user with this District ID, or else this username (any case)."""
    text = identifier.strip()
    if not text:
        return None
    return (
        User.objects.filter(district=district, district_user_id=text).first()
        or User.objects.filter(district=district, username__iexact=text).first()
    )
