"""Validation, one module per job:

- checking.py: the one pass that validates every row and previews what the import will do;
- result.py: its counts and examples, and where its problems are stored;
- reuse.py: the rows and verdicts a pass keeps for the run;
- values.py: the distinct school and coded values School Mapping and value mapping list;
- background.py: the wizard's pass as a claimed background task.

The users' look-ups and checks belong to the write target (imports/targets/). The names below stay
importable from imports.services.validation.
"""
from ...targets.users import (
    USERNAME_TAKEN_BY_ACCOUNT, USERNAME_TAKEN_ELSEWHERE, USERNAME_TAKEN_ELSEWHERE_SUGGESTION, USERNAME_TAKEN_HERE,
    USERNAME_TAKEN_HERE_SUGGESTION,
)
from .background import (
    DELETE_BATCH, ERROR_PASS_FAILED, REFRESHED, VALIDATION_STALE_AFTER, Superseded, import_job_validation_ensure,
    import_job_validation_invalidate, import_job_validation_redispatch_if_stale, import_job_validation_run,
    import_job_validation_start, import_job_validations_redispatch_stale, school_values_key, school_values_ready,
    validation_running,
)
from .checking import given_record_columns, validate_import
from .result import BATCH_ROWS, COUNT_KEYS, ERROR_SAME_USER, LARGEST_CHANGES_KEPT, ValidationResult, store_issues
from .reuse import (
    BUILT_ROWS_BLOCK, BUILT_ROWS_DIR, MARK_VALID, MARK_WRITES, BuiltRows, ReusedPass, built_pass_reusable,
    built_rows_current, built_rows_delete, built_rows_key, built_verdicts_delete, fingerprint_columns, users_fingerprint,
)
from .values import (
    ERROR_TOO_MANY_SCHOOL_VALUES, MAX_CODED_VALUES, MAX_SCHOOL_VALUES, file_value_counts, file_value_counts_bounded,
    school_values_store, source_rows,
)

__all__ = [
    "BATCH_ROWS", "BUILT_ROWS_BLOCK", "BUILT_ROWS_DIR", "COUNT_KEYS", "DELETE_BATCH", "ERROR_PASS_FAILED", "ERROR_SAME_USER",
    "ERROR_TOO_MANY_SCHOOL_VALUES", "LARGEST_CHANGES_KEPT", "MARK_VALID", "MARK_WRITES", "MAX_CODED_VALUES",
    "MAX_SCHOOL_VALUES", "REFRESHED", "USERNAME_TAKEN_BY_ACCOUNT", "USERNAME_TAKEN_ELSEWHERE",
    "USERNAME_TAKEN_ELSEWHERE_SUGGESTION", "USERNAME_TAKEN_HERE", "USERNAME_TAKEN_HERE_SUGGESTION", "VALIDATION_STALE_AFTER",
    "BuiltRows", "ReusedPass", "Superseded", "ValidationResult", "built_pass_reusable", "built_rows_current",
    "built_rows_delete", "built_rows_key", "built_verdicts_delete", "file_value_counts", "file_value_counts_bounded",
    "fingerprint_columns", "given_record_columns", "import_job_validation_ensure", "import_job_validation_invalidate",
    "import_job_validation_redispatch_if_stale", "import_job_validation_run", "import_job_validation_start",
    "import_job_validations_redispatch_stale", "school_values_key", "school_values_ready", "school_values_store",
    "source_rows", "store_issues", "users_fingerprint", "validate_import", "validation_running",
]
