"""Reads for imports. Every selector a view uses takes the district: tenancy is never optional."""
from django.db import connection
from django.db.models import Count, Min, QuerySet
from django.db.models.functions import Length, Lower

from schools.models import District, School
from users.models import CustomGroup, User
from users.protection import PROTECTED_COLUMNS, is_protected

from .models import ImportChange, ImportIssue, ImportJob, ImportStatus
from .pipeline.classify import ExistingUser
from .pipeline.mapping import SchoolChoice
from .types import get_spec

LOOKUP_BATCH = 5000
ROWS_SHOWN_PER_GROUP = 12  # keeps IN lists under SQLite's variable limit


def import_job_get(*, district: District, number: int) -> ImportJob | None:
    """The district's import by number, or None: another district's job looks exactly like a missing one."""
    # A closed draft waiting for its purge task is gone for every page.
    return (
        ImportJob.objects.filter(district=district, number=number, closed_at__isnull=True)
        .select_related("created_by", "custom_group", "undo_of").first()
    )


def import_job_list(*, district: District) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(district=district).exclude(status=ImportStatus.DRAFT).select_related("undo_of").order_by("-number")


def import_issue_groups(*, job: ImportJob) -> list[dict]:
    """Problems grouped by severity and code, with a count and the first row, errors first."""
    groups = (
        ImportIssue.objects.filter(job=job)
        .values("severity", "code", "field")
        .annotate(count=Count("id"), first_id=Min("id"))
        .order_by("severity", "code")
    )
    firsts = ImportIssue.objects.in_bulk([g["first_id"] for g in groups])
    out = []
    for g in groups:
        first = firsts[g["first_id"]]
        rows = list(
            ImportIssue.objects.filter(job=job, code=g["code"], severity=g["severity"], row__isnull=False)
            .order_by("id").values_list("row", flat=True)[:ROWS_SHOWN_PER_GROUP]
        )
        out.append({**g, "message": first.message, "suggestion": first.suggestion, "column": first.column, "rows": rows})
    return out


def import_issues(*, job: ImportJob, code: str | None = None, severity: str | None = None) -> QuerySet[ImportIssue]:
    qs = ImportIssue.objects.filter(job=job).select_related("file")
    if code:
        qs = qs.filter(code=code)
    if severity:
        qs = qs.filter(severity=severity)
    return qs.order_by("id")


def school_choices(*, district: District) -> list[SchoolChoice]:
    return [SchoolChoice(id=s.id, sis_id=s.sis_id, name=s.name) for s in School.objects.filter(district=district)]


def school_labels(*, district: District) -> dict[int, str]:
    """School id -> "Name (SIS ID)", how change lists and reports name a school."""
    return {s.id: str(s) for s in School.objects.filter(district=district).only("id", "name", "sis_id")}


def import_change_lines(*, job: ImportJob, limit: int) -> list[dict]:
    """The first updated users of an import, each change as (label, before, after) in words."""
    spec, schools = get_spec(job.import_type), school_labels(district=job.district)
    return [
        {
            "district_user_id": c.district_user_id, "old_email_notified": c.old_email_notified,
            "lines": [
                (spec.field_label(k), spec.display(k, before, schools=schools), spec.display(k, after, schools=schools))
                for k, (before, after) in c.changes.items()
            ],
        }
        for c in ImportChange.objects.filter(job=job).order_by("id")[:limit]
    ]


def custom_group_list(*, district: District) -> QuerySet[CustomGroup]:
    return CustomGroup.objects.filter(district=district).order_by("name")


def _batches(items: list, size: int = LOOKUP_BATCH):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _rows_where_in(*, district: District, column: str, values: list, columns: tuple[str, ...]):
    """Rows of the district's users whose column is one of values, a batch at a time."""
    for batch in _batches(values):
        if connection.vendor == "postgresql":
            yield from _district_rows_matching(district=district, match=f"u.{column}", keys=batch,
                                               columns=tuple(f"u.{c}" for c in columns))
        else:
            yield from User.objects.filter(district=district, **{f"{column}__in": batch}).values_list(*columns)


def _district_rows_matching(*, district: District, match: str, keys: list[str], columns: tuple[str, ...]) -> list[tuple]:
    """PostgreSQL: the district's rows whose `match` expression equals one of keys, one index probe per key.

    Not `district_id = <id> AND key = ANY(<literals>)`: when the statistics think the district
    small (taken before its first import, say), PostgreSQL plans that on the district index and
    reads the whole district for every batch. Here the keys are (district, key) pairs joined one
    at a time (OFFSET 0 keeps the subquery from being flattened), so the district is a join value
    that no statistic of one district can make look cheap, and each pair is one probe of the
    (district, key) index.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.* FROM unnest(array_fill(%s::bigint, ARRAY[%s]), %s::text[]) AS k(district_id, key) "
            f"CROSS JOIN LATERAL (SELECT {', '.join(columns)} FROM {User._meta.db_table} u "
            f"WHERE u.district_id = k.district_id AND {match} = k.key OFFSET 0) AS m",
            [district.id, len(keys), keys],
        )
        return cursor.fetchall()


def existing_users_by_district_id(
    *, district: District, district_ids: list[str], spec, columns: tuple[str, ...] | None = None,
) -> dict[str, ExistingUser]:
    """Stored values, in the import type's record columns (or these of them), of the users these keys
    match, as plain data, and whether imports may touch them. Keyed on the file's key; each of the
    type's key columns is tried in turn for the keys not found yet, among the users its match_only allows."""
    record, only = columns if columns is not None else spec.record_columns, tuple(spec.match_only.items())
    found: dict[str, ExistingUser] = {}
    remaining = district_ids
    for key_column in spec.key_columns:
        columns = (key_column, "id", "district_user_id", *PROTECTED_COLUMNS, *(c for c, _ in only), *record)
        first_record = 6 + len(only)
        positions = {column: first_record + i for i, column in enumerate(record)}  # shared: no dict per user
        for row in _rows_where_in(district=district, column=key_column, values=remaining, columns=columns):
            if row[0] in found or (only and any(row[6 + i] != value for i, (_, value) in enumerate(only))):
                continue
            protected = is_protected(**dict(zip(PROTECTED_COLUMNS, row[3:6])))
            found[row[0]] = ExistingUser(row[1], row[2], None, protected, stored=row, positions=positions)
        if len(spec.key_columns) > 1:
            remaining = [k for k in remaining if k not in found]
    return found


def users_outside_match_only(*, district: District, district_ids: list[str], spec) -> dict[str, dict]:
    """Keys that find a user of the district whom the type's match_only leaves out (a staff member in
    Student Demographics) -> that user's values of the match_only columns."""
    only = tuple(spec.match_only)
    found: dict[str, dict] = {}
    remaining = list(dict.fromkeys(district_ids)) if only else []
    for key_column in spec.key_columns:
        if not remaining:
            break
        for row in _rows_where_in(district=district, column=key_column, values=remaining, columns=(key_column, *only)):
            if row[0] not in found and any(row[1 + i] != spec.match_only[c] for i, c in enumerate(only)):
                found[row[0]] = dict(zip(only, row[1:]))
        remaining = [k for k in remaining if k not in found]
    return found


def user_ids_by_district_id(*, district: District, district_ids: list[str]) -> dict[str, int]:
    rows = _rows_where_in(district=district, column="district_user_id", values=district_ids, columns=("district_user_id", "id"))
    return dict(rows)


def username_owners(*, usernames: list[str]) -> dict[str, tuple[int | None, str]]:
    """Lower-cased username -> (district id, District ID) of the user holding it, in any district.

    Usernames are unique across districts and compared ignoring case, as sign-in compares them.
    """
    owners: dict[str, tuple[int | None, str]] = {}
    for batch in _batches(sorted({u.lower() for u in usernames})):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT lower(username), district_id, district_user_id FROM {User._meta.db_table} "
                    "WHERE lower(username) = ANY(%s)",
                    [batch],
                )
                rows = cursor.fetchall()
        else:
            rows = (
                User.objects.annotate(username_ci=Lower("username"))
                .filter(username_ci__in=batch)
                .values_list("username_ci", "district_id", "district_user_id")
            )
        for name, district_id, district_user_id in rows:
            owners.setdefault(name, (district_id, district_user_id or ""))
    return owners


def taken_usernames(*, usernames: list[str]) -> set[str]:
    """Lower-cased usernames already in use anywhere: usernames are unique across districts."""
    return set(username_owners(usernames=usernames))


def existing_email_owners(*, district: District, emails: list[str]) -> dict[str, str]:
    """Lower-cased email -> District ID of an existing user of the district with that address."""
    owners: dict[str, str] = {}
    for batch in _batches(sorted({e.lower() for e in emails})):  # lower(), as SQL compares
        if connection.vendor == "postgresql":
            rows = _district_rows_matching(district=district, match="lower(u.email)", keys=batch,
                                           columns=("lower(u.email)", "u.district_user_id"))
        else:
            rows = (
                User.objects.filter(district=district)
                .annotate(email_ci=Lower("email"))
                .filter(email_ci__in=batch)
                .values_list("email_ci", "district_user_id")
            )
        for email, district_user_id in rows:
            owners.setdefault(email, district_user_id or "")
    return owners


def zero_padded_id_lengths(*, district: District) -> list[int]:
    """Lengths of stored District IDs that start with 0: the widths Excel may have stripped."""
    return sorted(
        User.objects.filter(district=district, district_user_id__startswith="0")
        .annotate(n=Length("district_user_id"))
        .values_list("n", flat=True)
        .distinct()
    )


def existing_district_ids(*, district: District, district_ids: list[str]) -> set[str]:
    rows = _rows_where_in(district=district, column="district_user_id", values=district_ids, columns=("district_user_id",))
    return {r[0] for r in rows}


def import_draft_list(*, district: District, created_by) -> QuerySet[ImportJob]:
    """The admin's own unfinished wizards, so they can pick one up again."""
    return ImportJob.objects.filter(
        district=district, created_by=created_by, status=ImportStatus.DRAFT, closed_at__isnull=True,
    ).order_by("-number")


def coded_value_list(*, job: ImportJob, search: str = "") -> QuerySet:
    """The job's unrecognised coded values (value mapping), by field then file order, optionally only those containing `search`."""
    values = job.coded_values.all()
    return values.filter(value__icontains=search) if search else values


def school_value_list(*, job: ImportJob, search: str = "") -> QuerySet:
    """The job's stored school values in file order, optionally only those containing `search` (the job is the district's)."""
    values = job.school_values.all()
    return values.filter(value__icontains=search) if search else values
