"""Imported passwords: checked with Django's validators, hashed, never kept in clear text."""
from django.contrib.auth.password_validation import get_default_password_validators
from django.core.exceptions import ValidationError

from ..pipeline.issues import WARNING, Issue

# Similarity to the user's own attributes needs a user object; length, commonness and digits do not.
_VALIDATORS = [v for v in get_default_password_validators() if type(v).__name__ != "UserAttributeSimilarityValidator"]


def password_issues(row, labels: dict) -> list[Issue]:
    """A weak file password is a warning that names the rule, never the password itself."""
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
        row=row.row, column=labels.get("password", ""), field="password", file=row.file,
    )]
