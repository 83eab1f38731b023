"""The import types, one declaration each. Adding a type is one file here and a line below."""
from .classes import CLASSES
from .demographics import STUDENT_DEMOGRAPHICS
from .spec import ImportSpec
from .steps import WizardStep
from .user_data import USER_DATA

# The types that write users: the user engine, its undo and the browser wizard read these.
SPECS: tuple[ImportSpec, ...] = (USER_DATA, STUDENT_DEMOGRAPHICS)
# Every type, with those that write through a target of their own (imports/targets/): stored job types, import_users --type.
ALL_SPECS: tuple[ImportSpec, ...] = (*SPECS, CLASSES)
DEFAULT_TYPE = USER_DATA.import_type
_BY_TYPE = {s.import_type: s for s in ALL_SPECS}
_BY_COMMAND_NAME = {s.command_name: s for s in ALL_SPECS}

ERROR_UNKNOWN_TYPE = 'Unknown import type "{name}".'


def get_spec(import_type: str) -> ImportSpec:
    """The declaration of a stored import type (ImportJob.import_type)."""
    try:
        return _BY_TYPE[import_type]
    except KeyError:
        raise LookupError(ERROR_UNKNOWN_TYPE.format(name=import_type)) from None


def get_spec_by_command_name(name: str) -> ImportSpec:
    """The declaration for import_users --type NAME."""
    try:
        return _BY_COMMAND_NAME[name]
    except KeyError:
        raise LookupError(ERROR_UNKNOWN_TYPE.format(name=name)) from None


# What a change log names, by heading: every type's stored columns (the first type's heading wins), the
# school, and what an undo changes besides fields. Pages show these, never a column's name.
CHANGE_HEADINGS = {
    **{f.stored_column: f.heading for spec in reversed(SPECS) for f in spec.fields},
    "school_id": "School", "is_active": "Active", "custom_group": "Custom group", "password": "Password",
}


def change_heading(key: str) -> str:
    """The heading of a change log's key (a stored column such as state_user_id: "State User ID")."""
    return CHANGE_HEADINGS.get(key, key)


def types_with_step(step: str) -> tuple[ImportSpec, ...]:
    """The import types whose wizard has this step."""
    return tuple(s for s in SPECS if s.has_step(step))


__all__ = ["SPECS", "ALL_SPECS", "CLASSES", "DEFAULT_TYPE", "ImportSpec", "WizardStep", "USER_DATA", "STUDENT_DEMOGRAPHICS", "get_spec",
           "get_spec_by_command_name", "types_with_step", "CHANGE_HEADINGS", "change_heading"]
