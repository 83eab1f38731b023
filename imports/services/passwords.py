"""Imported passwords: checked with Django's validators, hashed, never kept in clear text."""
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import get_default_password_validators
from django.core.exceptions import ValidationError

from ..models import PasswordBatch
from ..pipeline.issues import WARNING, Issue
from ..targets import get_target
from ..types import get_spec

# Similarity to the user's own attributes needs a user object; length, commonness and digits do not.
_VALIDATORS = [v for v in get_default_password_validators() if type(v).__name__ != "UserAttributeSimilarityValidator"]


def password_issues(row, labels: dict, *, field: str) -> list[Issue]:
    """A weak file password (the type's field `field`) is a warning that names the rule, never the password itself."""
    if not row.password:
        return []
    problems = []
    for validator in _VALIDATORS:
        try:
            validator.validate(row.password)
        except ValidationError as exc:
            problems.extend(exc.messages)
    if not problems:
        return []
    return [Issue(
        WARNING, "weak_password", "The password is weak: " + " ".join(problems),
        "Give a longer password that is not a common word, or leave Password blank so the user sets their own.",
        row=row.row, column=labels.get(field, ""), field=field, file=row.file,
    )]


HASH_BATCH_ROWS = 200  # about 6 s of Argon2id per task (a minute of PBKDF2 at Django's default)


def password_batches_plan(*, job, indexes: list[int], starts: dict | None = None) -> None:
    """Record which slices of the row stream hold file passwords still to hash (idempotent).

    starts maps a row index to its sources.StreamStart; a slice without one is read from the top.
    """
    if not indexes:
        return
    starts = starts or {}
    firsts = sorted({i // HASH_BATCH_ROWS * HASH_BATCH_ROWS for i in indexes})
    PasswordBatch.objects.bulk_create(
        [
            PasswordBatch(job=job, start_index=s, end_index=s + HASH_BATCH_ROWS,
                          start=starts[s].to_json() if s in starts else None)
            for s in firsts
        ],
        ignore_conflicts=True,
    )


def password_batch_hash(*, batch: "PasswordBatch", rows) -> int:
    """Hash the file passwords of one slice and store them; only rows that owe a password are touched.

    rows are (index, row) pairs of the job's row stream, from the slice's start or earlier. A new
    user of this job takes the file password; an existing user only under Overwrite Password.
    """
    job = batch.job
    wanted = {}
    for index, row in rows:
        if index < batch.start_index:
            continue
        if index >= batch.end_index:
            break
        if row.password:
            wanted[row.district_id] = row.password
    if not wanted:
        return 0
    target = get_target(get_spec(job.import_type))
    users = target.password_owners(job=job, district_ids=list(wanted))
    overwrite = job.password_policy == "overwrite"
    hashes = [
        (user_id, make_password(wanted[district_user_id]))
        for user_id, district_user_id, created_by, last_login in users
        if created_by == job.id or (overwrite and (last_login is None or job.replace_claimed_passwords))
    ]
    target.set_passwords(hashes)
    return len(hashes)
