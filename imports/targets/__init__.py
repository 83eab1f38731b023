"""Write targets: what each import type writes to. An ImportSpec names its target; the engine asks for it here."""
from .base import WriteTarget
from .classes import ClassesTarget
from .demographics import DemographicsTarget
from .users import UsersTarget

TARGETS: dict[str, type] = {t.name: t for t in (UsersTarget, DemographicsTarget, ClassesTarget)}
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


def own_run_target(import_type: str):
    """The target that reads, checks, writes and undoes an import type's files itself (Classes), or None for
    the types whose rows go through the engine (their ImportSpec.target)."""
    cls = TARGETS.get(import_type)
    return cls if getattr(cls, "runs_whole_import", False) else None


__all__ = ["TARGETS", "WriteTarget", "get_target", "own_run_target", "register_target"]
