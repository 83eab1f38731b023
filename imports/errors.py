"""The one kind of refusal shown to a person: a stable code for callers and tests, and a message
safe to show an administrator (it names files, rows and columns, never a student's data).

Views turn a Refusal into a page message, commands into a CommandError, a worker into a failed job.
Any other exception is a fault: it is logged by its type only and shown as an internal error.
"""


class Refusal(Exception):
    """Something the product refuses to do, said in words an administrator can act on."""

    default_code = "refused"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return self.message
