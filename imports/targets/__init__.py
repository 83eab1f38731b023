"""Write targets: what each import type writes to. An ImportSpec names its target; the engine asks for it here."""
from .base import WriteTarget
from .demographics import DemographicsTarget
from .users import UsersTarget

TARGETS: dict[str, type[WriteTarget]] = {t.name: t for t in (UsersTarget, DemographicsTarget)}
ERROR_UNKNOWN_TARGET = 'Unknown write target "{name}".'


def register_target(cls: type[WriteTarget]) -> type[WriteTarget]:
    """Add a target (a class decorator): another app's type, or a test's, writes through it."""
    TARGETS[cls.name] = cls
    return cls


def get_target(spec) -> WriteTarget:
    """The write target of an import type, made for it."""
    try:
        cls = TARGETS[spec.target]
    except KeyError:
        raise LookupError(ERROR_UNKNOWN_TARGET.format(name=spec.target)) from None
    return cls(spec)


__all__ = ["TARGETS", "WriteTarget", "get_target", "register_target"]
