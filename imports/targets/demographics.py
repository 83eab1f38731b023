"""Student Demographics' target: the users table again, updating only (the type declares no creation)."""
from .users import UsersTarget


class DemographicsTarget(UsersTarget):
    """The district's students, updated by District ID or OneRoster sourcedId; never created."""

    name = "student_demographics"
