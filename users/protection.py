"""Which accounts no import, undo or hand edit on the Users tab may change: one rule, used everywhere."""
from django.db.models import Q

# The stored columns the rule reads, for look-ups that fetch plain rows.
PROTECTED_COLUMNS = ("is_district_admin", "is_superuser", "is_staff")


def is_protected(user=None, /, **values) -> bool:
    """Whether an account is a district admin's, a superuser's or ops staff's: a user, or its stored values."""
    if user is not None:
        values = {c: getattr(user, c, False) for c in PROTECTED_COLUMNS}
    return any(bool(values.get(c)) for c in PROTECTED_COLUMNS)


def is_protected_values(values) -> bool:
    """is_protected of the PROTECTED_COLUMNS' stored values, in that order (a look-up's plain row, without a dict)."""
    return any(values)


def protected_q() -> Q:
    """The same rule as a query filter, for writes that exclude protected accounts in bulk."""
    return Q(is_district_admin=True) | Q(is_superuser=True) | Q(is_staff=True)
