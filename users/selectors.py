"""Reads for users and custom groups. Every selector takes the district it may look in."""

import operator
import sys
from dataclasses import dataclass
from functools import reduce

from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import Collate, Lower

from imports.models import ImportChange
from imports.types import USER_DATA, get_spec
from schools.models import District, School

from .models import AuditAction, AuditEvent, CustomGroup, User, UserType


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
# Past this many matches the list says "more than 1,000": counting every match of a broad search or
# filter in a million rows costs more than the whole page may take.
USER_COUNT_CAP = 1_000
SEARCHED_COLUMNS = ("last_name", "first_name", "district_user_id", "username", "email")
# The list's order: lower-cased names compared byte by byte (code point order), then id. It is the
# order of the indexes of migration 0003, so a page and a last-name prefix are both one range scan;
# a prefix in this order is exactly the range [prefix, prefix with its last character + 1).
_ORDER = ("last_key", "first_key", "pk")
_BYTE_COLLATION = {"postgresql": "C", "sqlite": "BINARY"}


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
    count: int  # matches, up to USER_COUNT_CAP
    count_capped: bool


def _keyed(users: QuerySet) -> QuerySet:
    """users with the byte-ordered lower() keys of every searched column as aliases."""
    collation = _BYTE_COLLATION.get(connection.vendor, "C")
    keys = {f"{column}_key": Collate(Lower(column), collation) for column in SEARCHED_COLUMNS}
    keys["last_key"], keys["first_key"] = keys.pop("last_name_key"), keys.pop("first_name_key")
    return users.alias(**keys)


def _prefix(key: str, text: str) -> Q:
    """key starts with text, as a range the byte-ordered index can scan (no LIKE, so % and _ are plain)."""
    if not text or ord(text[-1]) >= sys.maxunicode:
        return Q(**{f"{key}__startswith": text})
    return Q(**{f"{key}__gte": text, f"{key}__lt": text[:-1] + chr(ord(text[-1]) + 1)})


def _search_branches(q: str) -> list[Q]:
    """Each way the search can match: a prefix of a name, District ID, username or email.

    "Ada Love" and "Lovelace, Ada" match first and last name together.
    """
    words = [w for w in q.replace(",", " ").lower().split() if w]
    if not words:
        return []
    if len(words) == 1:
        (word,) = words
        keys = ("last_key", "first_key", "district_user_id_key", "username_key", "email_key")
        return [_prefix(key, word) for key in keys]
    first, last = words[0], words[-1]
    return [
        _prefix("last_key", last) & _prefix("first_key", first),
        _prefix("last_key", first) & _prefix("first_key", last),
    ]


def _filtered(*, district: District, filters: UserFilters) -> QuerySet:
    users = _keyed(User.objects.filter(district=district))
    if filters.school_id is not None:
        users = users.filter(school_id=filters.school_id)
    if filters.user_type:
        users = users.filter(user_type=filters.user_type)
    if filters.grade:
        # Staff never have a grade (the import and the edit form clear it), so that asks for nobody;
        # said here, it costs no scan of the district.
        users = users.none() if filters.user_type == UserType.STAFF else users.filter(grade=filters.grade)
    if filters.active is not None:
        users = users.filter(is_active=filters.active)
    return users


def user_search(*, district: District, filters: UserFilters) -> QuerySet[User]:
    """The district's users matching the search and filters, in the list's order."""
    users = _filtered(district=district, filters=filters)
    branches = _search_branches(filters.q.strip())
    if branches:
        users = users.filter(reduce(operator.or_, branches))
    return users.order_by(*_ORDER)


def _after(last_key: str, first_key: str, pk: int) -> Q:
    # Row comparison spelt out; the leading last_key >= gives the index scan its start.
    return Q(last_key__gte=last_key) & (
        Q(last_key__gt=last_key) | Q(last_key=last_key, first_key__gt=first_key)
        | Q(last_key=last_key, first_key=first_key, pk__gt=pk)
    )


def _before(last_key: str, first_key: str, pk: int) -> Q:
    return Q(last_key__lte=last_key) & (
        Q(last_key__lt=last_key) | Q(last_key=last_key, first_key__lt=first_key)
        | Q(last_key=last_key, first_key=first_key, pk__lt=pk)
    )


def _page_ids(users: QuerySet, branches: list[Q], *, descending: bool, limit: int) -> list[int]:
    """Ids of the first `limit` users in order (or reverse order).

    With a search on PostgreSQL, each way of matching takes its own first `limit` users and the
    union is ordered again: a single OR lets the planner walk the whole name index when the
    matches cluster (every "Smith" sits under S), which costs seconds at a million users.
    SQLite cannot limit a branch of a UNION, and its development data is small.
    """
    order = [f"-{k}" if descending else k for k in _ORDER]
    if not branches:
        return list(users.order_by(*order).values_list("pk", flat=True)[:limit])
    if connection.vendor != "postgresql" or len(branches) == 1:
        return list(users.filter(reduce(operator.or_, branches)).order_by(*order).values_list("pk", flat=True)[:limit])
    keyed = users.annotate(last_sort=F("last_key"), first_sort=F("first_key"))
    parts = [keyed.filter(branch).order_by(*order).values_list("id", "last_sort", "first_sort")[:limit] for branch in branches]
    union_order = [o.replace("last_key", "last_sort").replace("first_key", "first_sort").replace("pk", "id") for o in order]
    return [row[0] for row in parts[0].union(*parts[1:]).order_by(*union_order)[:limit]]


def _capped_count(users: QuerySet, branches: list[Q], *, cap: int) -> int:
    """How many users match, counting no further than `cap`.

    On PostgreSQL each branch stops at `cap` on its own index: one OR would build the bitmap of
    every match first (a third of a second for "s" at a million users).
    """
    if not branches:
        return users.order_by()[:cap].count()
    if connection.vendor != "postgresql" or len(branches) == 1:
        return users.filter(reduce(operator.or_, branches)).order_by()[:cap].count()
    parts = [users.filter(branch).order_by().values_list("id")[:cap] for branch in branches]
    return min(parts[0].union(*parts[1:]).count(), cap)


def user_page(
    *, district: District, filters: UserFilters, after: int | None = None, before: int | None = None,
    size: int = USERS_PER_PAGE,
) -> UserPage:
    """One page of `user_search`, after or before a user id (keyset: page 20,000 costs what page 1 does)."""
    users = _filtered(district=district, filters=filters)
    branches = _search_branches(filters.q.strip())
    anchor_id = after or before
    anchor = (
        _keyed(User.objects.filter(district=district, pk=anchor_id))
        .annotate(last_sort=F("last_key"), first_sort=F("first_key")).values_list("last_sort", "first_sort", "pk").first()
        if anchor_id else None
    )
    backwards = anchor is not None and not after
    page = users
    if anchor is not None:
        page = users.filter(_before(*anchor) if backwards else _after(*anchor))
    ids = _page_ids(page, branches, descending=backwards, limit=size + 1)
    more = len(ids) > size
    ids = ids[:size]
    if backwards:
        ids.reverse()
    by_id = User.objects.select_related("school").only(
        "first_name", "middle_name", "last_name", "district_user_id", "username", "user_type", "grade",
        "is_active", "is_district_admin", "school__name",
    ).in_bulk(ids)
    shown = [by_id[i] for i in ids if i in by_id]
    next_after = shown[-1].pk if shown and (more if not backwards else True) else None
    prev_before = shown[0].pk if shown and (more if backwards else anchor is not None) else None
    count = _capped_count(users, branches, cap=USER_COUNT_CAP + 1)
    return UserPage(
        users=shown, next_after=next_after, prev_before=prev_before,
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
    created = user.created_by_import if user.created_by_import_id and user.created_by_import.district_id == district.id else None
    changes = list(
        ImportChange.objects.filter(user=user, job__district=district).select_related("job").order_by("-job__number", "-id")
    )
    return created, changes


HISTORY_HIDDEN_ACTIONS = ("view_user", "view_user_edit")


def user_history(*, district: District, user: User, limit: int = 100) -> list[HistoryEntry]:
    """What happened to the user, newest first: audit events (views, edits, disables, links) and imports."""
    created, changes = user_imports(district=district, user=user)
    entries = []
    # Views of the user are for the audit trail only: the History page tells what happened to them.
    events = audit_event_list(district=district, subject_user=user).exclude(action__in=HISTORY_HIDDEN_ACTIONS)
    for event in events[:limit]:
        fields = event.detail.get("fields") or []
        what = event.get_action_display()
        if fields:
            what += ": " + ", ".join(USER_DATA.by_key[f].heading if f in USER_DATA.by_key else f for f in fields)
        entries.append(HistoryEntry(at=event.created_at, what=what, who=event.actor_label, job=event.job))
    school_names = {s.id: str(s) for s in School.objects.filter(district=district)}
    for change in changes[:limit]:
        job = change.job
        shown = {}
        spec = get_spec(job.import_type)
        for key, (before, after) in change.changes.items():  # in words: the change log keeps ids and codes
            shown[spec.field_label(key)] = (spec.display(key, before, schools=school_names), spec.display(key, after, schools=school_names))
        entries.append(HistoryEntry(
            at=job.completed_at or job.started_at, what=f"Changed by import {job.number}",
            who=job.created_by.get_username() if job.created_by_id else "", job=job, changes=shown,
        ))
    if created is not None:
        entries.append(HistoryEntry(
            at=created.completed_at or created.started_at or user.date_joined, what=f"Created by import {created.number}",
            who=created.created_by.get_username() if created.created_by_id else "", job=created,
        ))
    entries.sort(key=lambda e: (e.at is not None, e.at), reverse=True)
    return entries[:limit]


def user_email_changed_at(*, user: User):
    """When the user's email last changed, by an edit here or by an import; None if never seen to."""
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
    return _keyed(group.members.select_related("school")).order_by(*_ORDER)


def user_find(*, district: District, identifier: str) -> User | None:
    """The district's user with this District ID, or else this username (any case)."""
    text = identifier.strip()
    if not text:
        return None
    return (
        User.objects.filter(district=district, district_user_id=text).first()
        or User.objects.filter(district=district, username__iexact=text).first()
    )


def district_admin_find(*, district: District, username: str) -> User | None:
    """The district's administrator with this username, or None."""
    return district_admin_list(district=district).filter(username=username).first()


def custom_group_find(*, district: District, name: str) -> CustomGroup | None:
    """The district's group with this name, or None."""
    return custom_group_list(district=district).filter(name=name).first()
