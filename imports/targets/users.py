"""The users table: the target of User Data (and, updating only, of Student Demographics).

Owns what only this table knows: users are matched by District ID (or the type's other key
columns) among the district's users; administrators are protected; usernames are unique across
every district; a new user gets a username and an unusable password; staff may be sent login
emails, and an import may put its users in a custom group.
"""
import base64
import os
import re
from collections import Counter

from django.apps import apps
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.db.models import Count, Q
from django.db.models.functions import Length, Lower
from django.utils import timezone

from users.locks import district_ids_lock, usernames_lock
from users.protection import PROTECTED_COLUMNS, is_protected_values, protected_q

from ..models import EmailKind, ImportChange, ImportEmail, ImportGroupAddition, ImportIssue, Severity
from ..pipeline.classify import (
    NEW, PASSWORD_OVERWRITE, ExistingUser, classify, existing_user_warnings, protected_account_issues, without_password,
)
from ..pipeline.issues import ERROR, WARNING, Issue
from ..pipeline.masking import mask_value
from ..pipeline.normalize import STAFF, STUDENT
from . import base, users_undo
from .base import RowChecks, WriteTarget, values_getter

USERNAME_TAKEN_HERE = 'Username "{username}" already belongs to District ID {owner} in Classworks; this row is District ID {district_id}.'
USERNAME_TAKEN_HERE_SUGGESTION = "Usernames are unique: correct one of the two, or leave the cell blank to have a username made."
USERNAME_TAKEN_BY_ACCOUNT = (
    'Username "{username}" already belongs to an account of this district without a District ID (such as an '
    "administrator's); this row is District ID {district_id}."
)
# Says nothing of where: a file must not be able to probe which usernames other districts hold.
USERNAME_TAKEN_ELSEWHERE = 'Username "{username}" is not available.'
USERNAME_TAKEN_ELSEWHERE_SUGGESTION = "Choose another, or leave the cell blank to have one made."

# Stored values the checks and the preview read whatever the file gives (warnings, the safety hold's counts, examples).
COLUMNS_READ_BY_CHECKS = frozenset({"user_type", "school_id", "first_name", "last_name", "email"})

_USERNAME_UNSAFE = re.compile(r"[^A-Za-z0-9.@+_-]")
_UNUSABLE_RANDOM_BYTES = 30  # 40 url-safe characters, as secrets.token_urlsafe(30)
USER_MODEL = "users.User"
GROUP_MODEL = "users.CustomGroup"


def _user():
    return apps.get_model(USER_MODEL)


# --- Reads ---------------------------------------------------------------------------------------

def existing_users_by_district_id(
    *, district, district_ids: list[str], spec, columns: tuple[str, ...] | None = None,
) -> dict[str, ExistingUser]:
    """Stored values, in the import type's record columns (or these of them), of the users these keys
    match, as plain data, and whether imports may touch them. Keyed on the file's key; each of the
    type's key columns is tried in turn for the keys not found yet, among the users its match_only allows."""
    record, only = columns if columns is not None else spec.record_columns, tuple(spec.match_only.items())
    found: dict[str, ExistingUser] = {}
    remaining = district_ids
    # The key first (the range scan reads it there), and the District ID not twice when it is the only key;
    # one layout for every key column, as the positions are shared.
    by_district_id = spec.key_columns == ("district_user_id",)
    at_district_id, at_protected = (0, 2) if by_district_id else (2, 3)
    at_only = at_protected + len(PROTECTED_COLUMNS)
    positions = {column: at_only + len(only) + i for i, column in enumerate(record)}  # shared: no dict per user
    for key_column in spec.key_columns:
        columns = (key_column, "id", *(() if by_district_id else ("district_user_id",)), *PROTECTED_COLUMNS,
                   *(c for c, _ in only), *record)
        for row in base.rows_where_in(_user(), district_id=district.id, column=key_column, values=remaining, columns=columns):
            key = row[0]
            if key in found or (only and any(row[at_only + i] != value for i, (_, value) in enumerate(only))):
                continue
            found[key] = ExistingUser(row[1], row[at_district_id], None, is_protected_values(row[at_protected:at_only]),
                                      stored=row, positions=positions)
        if len(spec.key_columns) > 1:
            remaining = [k for k in remaining if k not in found]
    return found


def users_outside_match_only(*, district, district_ids: list[str], spec) -> dict[str, dict]:
    """Keys that find a user of the district whom the type's match_only leaves out (a staff member in
    Student Demographics) -> that user's values of the match_only columns."""
    only = tuple(spec.match_only)
    found: dict[str, dict] = {}
    remaining = list(dict.fromkeys(district_ids)) if only else []
    for key_column in spec.key_columns:
        if not remaining:
            break
        for row in base.rows_where_in(_user(), district_id=district.id, column=key_column, values=remaining,
                                      columns=(key_column, *only)):
            if row[0] not in found and any(row[1 + i] != spec.match_only[c] for i, c in enumerate(only)):
                found[row[0]] = dict(zip(only, row[1:]))
        remaining = [k for k in remaining if k not in found]
    return found


def user_ids_by_district_id(*, district, district_ids: list[str]) -> dict[str, int]:
    rows = base.rows_where_in(_user(), district_id=district.id, column="district_user_id", values=district_ids,
                              columns=("district_user_id", "id"))
    return dict(rows)


def username_owners(*, usernames: list[str]) -> dict[str, tuple[int | None, str]]:
    """Lower-cased username -> (district id, District ID) of the user holding it, in any district.

    Usernames are unique across districts and compared ignoring case, as sign-in compares them.
    """
    owners: dict[str, tuple[int | None, str]] = {}
    rows = base.rows_where_lower_in(_user(), column="username", values={u.lower() for u in usernames},
                                    columns=("username", "district_id", "district_user_id"))
    for name, district_id, district_user_id in rows:
        owners.setdefault(name, (district_id, district_user_id or ""))
    return owners


def taken_usernames(*, usernames: list[str]) -> set[str]:
    """Lower-cased usernames already in use anywhere: usernames are unique across districts."""
    return set(username_owners(usernames=usernames))


def existing_email_owners(*, district, emails: list[str]) -> dict[str, str]:
    """Lower-cased email -> District ID of an existing user of the district with that address."""
    owners: dict[str, str] = {}
    User = _user()
    keys = sorted({e.lower() for e in emails})  # lower(), as SQL compares
    if base.is_postgresql():
        rows = base.rows_where_in(User, district_id=district.id, column="email", values=keys, expression="lower(u.email)",
                                  columns=("lower(u.email)", "district_user_id"))
    else:
        rows = (
            r for start in range(0, len(keys), base.LOOKUP_BATCH)
            for r in User.objects.filter(district=district).annotate(email_ci=Lower("email"))
            .filter(email_ci__in=keys[start:start + base.LOOKUP_BATCH]).values_list("email_ci", "district_user_id")
        )
    for email, district_user_id in rows:
        owners.setdefault(email, district_user_id or "")
    return owners


def shared_emails(*, district) -> set[str]:
    """Lower-cased addresses more than one user of the district holds (usually none)."""
    return set(
        _user().objects.filter(district=district, email__isnull=False).exclude(email="")
        .annotate(email_ci=Lower("email")).values("email_ci").annotate(n=Count("id")).filter(n__gt=1)
        .values_list("email_ci", flat=True)
    )


def zero_padded_id_lengths(*, district) -> list[int]:
    """Lengths of stored District IDs that start with 0: the widths Excel may have stripped."""
    return sorted(
        _user().objects.filter(district=district, district_user_id__startswith="0")
        .annotate(n=Length("district_user_id"))
        .values_list("n", flat=True)
        .distinct()
    )


def existing_district_ids(*, district, district_ids: list[str]) -> set[str]:
    rows = base.rows_where_in(_user(), district_id=district.id, column="district_user_id", values=district_ids,
                              columns=("district_user_id",))
    return {r[0] for r in rows}


def base_username(district_slug: str, district_user_id: str) -> str:
    """Stable: made once from the district and District ID, never changed by a later import."""
    return f"{district_slug}.{_USERNAME_UNSAFE.sub('_', district_user_id)}"[:150]


# --- Validation's checks that need the stored users -----------------------------------------------

class UserChecks(RowChecks):
    """Per batch: the users matched, owners of emails and usernames, and ids Excel stripped of zeros."""

    def __init__(self, target, district, columns):
        super().__init__(target, district, columns)
        self.spec = target.spec
        self._padded_lengths: list[int] | None = None  # read when a key first finds no one (a re-import never does)
        self._shared_emails: set[str] | None = None

    def load(self, rows) -> None:
        super().load(rows)
        emails = [r.values["email"] for r in rows if r.values.get("email")]
        self.email_owners = existing_email_owners(district=self.district, emails=emails)
        names = [r.values["username"] for r in rows if r.values.get("username")]
        self.username_owners = username_owners(usernames=names) if names else {}
        self.padded_matches: dict[str, str] = {}
        unmatched = [r.district_id for r in rows
                     if r.district_id and r.district_id not in self.users and not r.district_id.startswith("0")]
        if unmatched and self._padded_lengths is None:
            self._padded_lengths = zero_padded_id_lengths(district=self.district)
        if unmatched and self._padded_lengths:
            candidates = {}
            for key in unmatched:
                for length in self._padded_lengths:
                    if length > len(key):
                        candidates[key.zfill(length)] = key
            for padded in existing_district_ids(district=self.district, district_ids=list(candidates)):
                self.padded_matches[candidates[padded]] = padded

    def issues(self, row, existing, labels: dict) -> list[Issue]:
        refused = protected_account_issues(row, existing, labels=labels)
        if refused:
            return refused
        issues = existing_user_warnings(row, existing, labels=labels)
        email = row.values.get("email")
        if email:
            owner = self.email_owners.get(email.lower())
            if owner is not None and owner != row.district_id:
                issues.append(Issue(
                    WARNING, "email_taken",
                    "This email address already belongs to another user in Classworks"
                    + (f" (District ID {owner})." if owner else "."),
                    "Check that the District ID is right, or give this user their own address.",
                    row=row.row, column=labels.get("email", ""), field="email", file=row.file,
                ))
        issues += self._username_issues(row, labels)
        padded = self.padded_matches.get(row.district_id)
        if padded:
            issues.append(Issue(
                WARNING, "district_id_leading_zeros",
                f'District ID "{row.district_id}" matches existing user "{padded}" only once leading zeros are restored.',
                "Excel drops leading zeros: format the column as Text, or re-export from your SIS, so the user is updated rather than added.",
                row=row.row, column=labels.get("district_id", ""), field="district_id", file=row.file,
            ))
        return issues

    def silent_when_same(self, values: dict[str, list], n: int) -> list[bool]:
        """An unchanged row's address is its own, so only one another user of the district also holds speaks up;
        its username is its own (unique ignoring case), its type unchanged, and its key found."""
        emails = values.get("email")
        if not emails:
            return [True] * n
        if self._shared_emails is None:
            self._shared_emails = shared_emails(district=self.district)
        shared = self._shared_emails
        return [not e or e.lower() not in shared for e in emails]

    def _username_issues(self, row, labels: dict) -> list[Issue]:
        """A username another user holds: named when they are of this district, never when they are of another."""
        name = row.values.get("username")
        owner = self.username_owners.get(name.lower()) if name else None
        if owner is None:
            return []
        district_id, district_user_id = owner
        if district_id == self.district.id and district_user_id == row.district_id:
            return []  # the row's own user
        if district_id == self.district.id:
            template = USERNAME_TAKEN_HERE if district_user_id else USERNAME_TAKEN_BY_ACCOUNT
            message = template.format(username=name, owner=district_user_id, district_id=row.district_id)
            suggestion = USERNAME_TAKEN_HERE_SUGGESTION
        else:
            message, suggestion = USERNAME_TAKEN_ELSEWHERE.format(username=name), USERNAME_TAKEN_ELSEWHERE_SUGGESTION
        return [Issue(
            ERROR, "username_taken", message, suggestion,
            row=row.row, column=labels.get("username", ""), field="username", file=row.file,
        )]


# --- The target -----------------------------------------------------------------------------------

class UsersTarget(WriteTarget):
    """Users of the district, created or updated by the type's match key."""

    name = "users"
    model_label = USER_MODEL

    def lookup(self, *, district, keys: list[str], columns: tuple[str, ...] | None = None) -> dict[str, ExistingUser]:
        return existing_users_by_district_id(district=district, district_ids=keys, spec=self.spec, columns=columns)

    def checks(self, *, district, columns=None) -> UserChecks:
        return UserChecks(self, district, columns)

    def compared_columns(self, given_keys: set[str]) -> tuple[str, ...]:
        """Only these are compared, so only these are looked up: fetching every column cost a third of an
        unchanged run's look-up (measured)."""
        spec = self.spec
        return tuple(
            f.stored_column for f in spec.record_fields
            if f.key in given_keys or f.stored_column in COLUMNS_READ_BY_CHECKS
            or any(p in given_keys for p in spec.parts_of(f.key))
            or f.required  # a required field blank in the file is no error when it is stored
        )

    def outside_match_only(self, *, district, keys: list[str]) -> dict[str, dict]:
        return users_outside_match_only(district=district, district_ids=keys, spec=self.spec)

    def signed_in_count(self, ids: set[int]) -> int:
        User, ordered = _user(), sorted(ids)
        return sum(
            User.objects.filter(id__in=ordered[i:i + base.LOOKUP_BATCH], last_login__isnull=False).count()
            for i in range(0, len(ordered), base.LOOKUP_BATCH)
        )

    def fingerprint_columns(self, given_keys: set[str]) -> tuple[str, ...]:
        """Every stored column a pass's verdicts depend on: the keys, who is protected, the users a type may
        match, and the record columns it compares (a sign-in's last_login or a new password changes none)."""
        spec = self.spec
        columns = ("id", *spec.key_columns, *PROTECTED_COLUMNS, *spec.match_only,
                   *self.compared_columns(given_keys))
        return tuple(dict.fromkeys(columns))

    # A shared address is likely a mistake; a shared sign-in name cannot be.
    unique_in_file = ("email", "username")

    def fingerprint_covers(self, given_keys: set[str]) -> bool:
        """Not with usernames: they are unique across every district, which the district's fingerprint does not cover."""
        return "username" not in given_keys

    def hold_counts(self, *, district, summary: dict) -> tuple[int, dict[int, int]]:
        User = _user()
        existing = User.objects.filter(district=district, district_user_id__isnull=False).count()
        affected = [int(k) for k in summary.get("affected_by_school", {})]
        if not affected:
            return existing, {}
        totals = dict(
            User.objects.filter(district=district, school_id__in=affected, user_type=STUDENT)
            .values_list("school_id").annotate(n=Count("id"))
        )
        return existing, totals

    def hold_group(self, existing: ExistingUser):
        values = existing.values
        return values.get("school_id") if values.get("user_type") == STUDENT else None

    def preview_name(self, existing: ExistingUser) -> str:
        return " ".join(p for p in (existing.values.get("first_name"), existing.values.get("last_name")) if p)

    # --- The run ---

    def write(self, *, job, rows, options, counts: Counter, hash_inline: bool = True, batch_starts=None,
              plan_passwords=None) -> None:
        """Write one batch of rows. Without hash_inline, file passwords are left to `plan_passwords`.

        Every write is decided again against the stored users, so a re-run after a crash finds the
        rows it already wrote unchanged and writes nothing twice. Rows are looked up, and made-up usernames
        checked, right before they are written, even when the wizard's pass found them new: inserting first
        and catching the unique violation would put the keys in the database server's log.
        """
        # The Users tab checks a District ID under the same lock: neither writes one the other just gave.
        district_ids_lock(district_id=job.district_id)
        written = counts["created"] + counts["updated"]
        if self.refresh_statistics(written_since=written - counts["written_at_analyze"]):
            counts["written_at_analyze"] = written
        existing = self.lookup(district=job.district, keys=[r.district_id for r in rows])
        # Decided before this chunk writes: a password it sets must not make an account look claimed.
        login_allowed = self._login_email_allowed(job, rows, existing) if job.email_staff else set()
        claimed = _claimed_password_ids(job, rows, existing) if options.password_policy == PASSWORD_OVERWRITE else set()
        password_notices = []
        now = timezone.now()
        new_rows, updates, changes, password_hashes, to_hash, replaced_emails = [], [], [], [], [], []
        for row in rows:
            if row.password and not hash_inline:
                to_hash.append(row.index)
                row.password_deferred = True
            current = existing.get(row.district_id)
            outcome = classify(row, current, conflict_policy=options.conflicts, password_policy=options.password_policy)
            if outcome.set_password and current is not None and current.id in claimed:
                if not job.replace_claimed_passwords:
                    outcome = without_password(outcome)
                else:
                    password_notices.append(ImportEmail(job=job, kind=EmailKind.PASSWORD_CHANGED, user_id=current.id))
            if outcome.kind == "conflict":
                counts["conflicts"] += 1
            if outcome.kind == NEW:
                if self.spec.creates_users:  # validation made an unknown key an error for the others
                    new_rows.append(row)
                continue
            if not outcome.writes:
                continue
            counts["updated"] += 1
            if outcome.changes:
                final = dict(current.values)
                final.update({key: after for key, (before, after) in outcome.changes.items()})
                updates.append((current.id, final))
            if outcome.set_password and hash_inline:
                password_hashes.append((current.id, make_password(row.password)))
            # The change log is shown and reported: a file value equal to the row's password is masked there.
            passwords = (row.password,) if row.password else ()
            record = {k: [_plain(b), mask_value(_plain(a), passwords)] for k, (b, a) in outcome.changes.items()}
            if outcome.set_password:
                record["password"] = ["(kept private)", "(changed)"]
            # The stored District ID: a type may match on another key (a OneRoster sourcedId).
            changes.append(_Change(current.id, current.district_user_id or row.district_id, record))
            if _staff_email_replaced(current, outcome):
                replaced_emails.append(changes[-1])

        if new_rows:
            # Another district's import may have taken a username since validation: checked again under a lock
            # every import takes before inserting, so the COPY never meets a unique violation.
            usernames_lock()
            new_rows = _without_taken_usernames(job, new_rows, counts)
        usernames = self.usernames(job, new_rows)
        self.insert(self.new_users(new_rows, job=job, usernames=usernames, now=now))
        counts["created"] += len(new_rows)
        base.update_rows(_user(), updates)
        self.set_passwords(password_hashes)
        notices = _email_change_notices(job, replaced_emails)
        self.log_changes(job=job, changes=changes)
        ImportEmail.objects.bulk_create(notices + password_notices, ignore_conflicts=True)
        if plan_passwords is not None:
            plan_passwords(job=job, indexes=to_hash, starts=batch_starts)

        if not (job.custom_group_id or job.email_staff):
            return  # the ids below are only for group members and login emails
        ids = user_ids_by_district_id(district=job.district, district_ids=[r.district_id for r in new_rows])
        ids.update({d: u.id for d, u in existing.items()})
        _add_to_group(job, rows, ids)
        if job.email_staff:
            ImportEmail.objects.bulk_create(
                [
                    ImportEmail(job=job, kind=EmailKind.LOGIN, user_id=ids[r.district_id])
                    for r in _login_rows(rows)
                    if r.district_id not in existing or existing[r.district_id].id in login_allowed
                ],
                ignore_conflicts=True, batch_size=2000,
            )

    def undo(self, *, job, undo_job):
        return users_undo.undo_batches(job=job, undo_job=undo_job)

    def undo_preview(self, *, job, limit: int):
        return users_undo.undo_preview(job=job, limit=limit)

    def touched(self, *, job) -> int:
        """How many users the import created, changed or put in a group."""
        return users_undo.touched_count(job=job)

    def log_changes(self, *, job, changes: list) -> None:
        base.insert_values(ImportChange, _CHANGE_FIELDS, [
            (job.id, c.user_id, c.district_user_id, c.changes, c.old_email_notified) for c in changes
        ])

    def active_set(self, *, job, ids: list[int], active: bool) -> int:
        """A full roster's plan: enable or disable these users of the job's district, each change logged for
        undo; returns how many changed. Run it inside a transaction. A user already so is left alone."""
        # Protected accounts (admins, ops staff) are never touched by an import, whatever a plan says.
        users = list(
            _user().objects.select_for_update().filter(district_id=job.district_id, id__in=ids, is_active=not active)
            .exclude(protected_q()).values_list("id", "district_user_id")
        )
        _user().objects.filter(id__in=[u for u, _ in users]).update(is_active=active)
        change = [users_undo.DISABLED, users_undo.ACTIVE] if active else [users_undo.ACTIVE, users_undo.DISABLED]
        self.log_changes(job=job, changes=[_Change(u, d or "", {users_undo.ACTIVE_KEY: change}) for u, d in users])
        return len(users)

    def insert(self, new_users) -> None:
        base.insert_rows(_user(), new_users)

    def set_passwords(self, hashes: list[tuple[int, str]]) -> None:
        base.set_column(_user(), "password", hashes)

    def password_owners(self, *, job, district_ids: list[str]):
        """(id, District ID, the import that created them, last sign-in) of the district's users with these
        District IDs that imports may change (protected accounts left out)."""
        return _user().objects.filter(district=job.district, district_user_id__in=district_ids).exclude(protected_q()).values_list(
            "id", "district_user_id", "created_by_import_id", "last_login"
        )

    def created(self, *, job):
        """(District ID, username) of the users the job created, in the order it created them."""
        return _user().objects.filter(created_by_import=job).values_list("district_user_id", "username").order_by("id")

    def new_users(self, rows, *, job, usernames: dict[str, str], now) -> base.NewRows:
        """The chunk's new users as COPY rows: the District ID, password and username, then the record values."""
        spec = self.spec
        if not rows:
            return base.NewRows((), [])
        record = tuple(rows[0].values)  # every row of a run has the same record columns
        values_of = values_getter(record)
        engine = (spec.match_column, "password", "username")
        # A Username column the file left blank: the generated name, not the column's "".
        username_at = len(engine) + record.index("username") if "username" in record else None
        unusable = iter(unusable_passwords(sum(1 for r in rows if not r.password or r.password_deferred)))
        out = []
        for row in rows:
            name = usernames.get(row.district_id, "")
            password = make_password(row.password) if row.password and not row.password_deferred else next(unusable)
            values = [row.district_id, password, name, *values_of(row.values)]
            if username_at is not None and not values[username_at]:
                values[username_at] = name
            out.append(values)
        return base.new_records(
            _user(), spec.insert_defaults, engine, record, out,
            date_joined=now, district_id=job.district_id, created_by_import_id=job.id,
        )

    def usernames(self, job, rows) -> dict[str, str]:
        """Stable usernames for new users the file gives none; a clash with an existing name gets a numeric suffix."""
        given = {r.values["username"].lower() for r in rows if r.values.get("username")}
        wanted = {r.district_id: base_username(job.district.slug, r.district_id) for r in rows if not r.values.get("username")}
        taken = taken_usernames(usernames=list(wanted.values()))
        User = _user()
        out, used = {}, set(given)
        for district_id, name in wanted.items():
            candidate, n = name, 1
            while candidate.lower() in taken or candidate.lower() in used:
                n += 1
                candidate = f"{name}-{n}"
                if User.objects.filter(username__iexact=candidate).exists():
                    taken.add(candidate.lower())
            used.add(candidate.lower())
            out[district_id] = candidate
        return out

    def _login_email_allowed(self, job, rows, existing: dict) -> set[int]:
        """Existing users a set-password link may go to: made by this job, or never signed in and without a password.

        Anyone else already holds the account; a link mailed to an address in the file would hand it over.
        """
        matched = [existing[r.district_id] for r in _login_rows(rows) if r.district_id in existing]
        ids = [u.id for u in matched if not u.protected]
        if not ids:
            return set()
        unclaimed = Q(created_by_import_id=job.id) | Q(last_login__isnull=True, password__startswith=UNUSABLE_PASSWORD_PREFIX)
        return set(
            _user().objects.filter(unclaimed, id__in=ids).exclude(protected_q()).values_list("id", flat=True)
        )


def unusable_passwords(count: int) -> list[str]:
    """`count` unusable passwords, as make_password(None) makes them (the prefix and 40 random characters,
    url-safe here), from one os.urandom call: a call per user was 7% of a fresh run. 30 bytes encode to 40
    characters without padding, so each user's slice of the encoding is token_urlsafe(30) of its own bytes."""
    if count <= 0:
        return []
    text = base64.urlsafe_b64encode(os.urandom(_UNUSABLE_RANDOM_BYTES * count)).decode("ascii")
    size = _UNUSABLE_RANDOM_BYTES * 4 // 3
    return [UNUSABLE_PASSWORD_PREFIX + text[i:i + size] for i in range(0, size * count, size)]


def _claimed_password_ids(job, rows, existing: dict) -> set[int]:
    """Matched users with a file password who have signed in (not made by this job): their holder owns the password."""
    ids = [existing[r.district_id].id for r in rows if r.password and r.district_id in existing]
    if not ids:
        return set()
    return set(
        _user().objects.filter(id__in=ids, last_login__isnull=False).exclude(created_by_import_id=job.id)
        .values_list("id", flat=True)
    )


def _without_taken_usernames(job, rows, counts: Counter) -> list:
    """The rows whose given username is still free; each of the others is an error of the run, not written."""
    given = [r.values["username"] for r in rows if r.values.get("username")]
    owners = username_owners(usernames=given) if given else {}
    taken = [r for r in rows if r.values.get("username") and r.values["username"].lower() in owners]
    if not taken:
        return rows
    files = dict(job.files.values_list("original_name", "id"))
    ImportIssue.objects.bulk_create([
        ImportIssue(job=job, file_id=files.get(r.file), row=r.row, field="username", code="username_taken",
                    severity=Severity.ERROR, message=USERNAME_TAKEN_ELSEWHERE.format(username=r.values["username"]),
                    suggestion=USERNAME_TAKEN_ELSEWHERE_SUGGESTION)
        for r in taken
    ])
    counts["username_taken"] += len(taken)
    skipped = {id(r) for r in taken}
    return [r for r in rows if id(r) not in skipped]


def _login_rows(rows):
    return [r for r in rows if r.values.get("user_type") == STAFF and r.values.get("email")]


def _staff_email_replaced(current, outcome) -> bool:
    before, after = outcome.changes.get("email", (None, None))
    types = (current.values.get("user_type"), outcome.changes.get("user_type", (None, None))[1])
    return bool(before) and before.lower() != (after or "").lower() and STAFF in types


def _email_change_notices(job, replaced: list) -> list:
    """A notice owed to the replaced address of each staff member who has signed in; their change records it."""
    if not replaced:
        return []
    signed_in = set(
        _user().objects.filter(id__in=[c.user_id for c in replaced], last_login__isnull=False).values_list("id", flat=True)
    )
    notices = []
    for change in replaced:
        if change.user_id in signed_in:
            change.old_email_notified = True
            notices.append(ImportEmail(job=job, kind=EmailKind.EMAIL_CHANGED, user_id=change.user_id))
    return notices


_CHANGE_FIELDS = ("job_id", "user_id", "district_user_id", "changes", "old_email_notified")


class _Change:
    """One user's entry of the change log until it is written (ImportChange's fields, not a model instance)."""

    __slots__ = ("user_id", "district_user_id", "changes", "old_email_notified")

    def __init__(self, user_id: int, district_user_id: str, changes: dict):
        self.user_id, self.district_user_id, self.changes = user_id, district_user_id, changes
        self.old_email_notified = False  # set when the replaced address is sent a notice


def _plain(value):
    return value if value is None or isinstance(value, (str, int, bool)) else str(value)


def _add_to_group(job, rows, ids: dict[str, int]) -> None:
    if not job.custom_group_id:
        return
    students_only = job.group_members == "students"
    member_ids = [ids[r.district_id] for r in rows if not students_only or r.is_student]
    through = apps.get_model(GROUP_MODEL).members.through
    already = set(
        through.objects.filter(customgroup_id=job.custom_group_id, user_id__in=member_ids).values_list("user_id", flat=True)
    )
    through.objects.bulk_create(
        [through(customgroup_id=job.custom_group_id, user_id=uid) for uid in member_ids],
        ignore_conflicts=True, batch_size=2000,
    )
    # Who this import put in its group, so an undo removes them and no one who was a member before.
    added = [uid for uid in member_ids if uid not in already]
    base.insert_links(ImportGroupAddition, constant={"job_id": job.id, "group_id": job.custom_group_id},
                      column="user_id", ids=added)
