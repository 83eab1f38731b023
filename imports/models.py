import uuid

from django.conf import settings
from django.core.files.storage import storages
from django.db import models

from .types import ALL_SPECS, DEFAULT_TYPE, SPECS, WizardStep, change_heading  # noqa: F401 (WizardStep is imported from here too)
from .types.classes import ROSTER_ADD, ROSTER_POLICIES


def private_storage():
    return storages["private"]


def original_file_path(instance, filename: str) -> str:
    # Random name: the stored path never reveals the district, school or file name.
    return f"imports/{uuid.uuid4().hex}"


# The import types and the wizard's steps are declared in imports/types/; these are their stored names.
ImportType = models.TextChoices("ImportType", [(s.import_type.upper(), (s.import_type, s.label)) for s in ALL_SPECS])


class ImportStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    RUNNING = "running", "Running"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    COMPLETED_WITH_WARNINGS = "completed_with_warnings", "Completed with cautions"  # "caution", as the help article words it
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    DISCARDED = "discarded", "Discarded"


class ValidationPhase(models.TextChoices):
    SCHOOLS = "schools", "Reading school values"
    VALIDATE = "validate", "Validating"


class ConflictPolicy(models.TextChoices):
    IMPORTED_WINS = "imported", "Imported Record Wins"
    EXISTING_WINS = "existing", "Existing Record Wins"


class PasswordPolicy(models.TextChoices):
    MAINTAIN = "keep", "Maintain Password"
    OVERWRITE = "overwrite", "Overwrite Password"


class GroupMembers(models.TextChoices):
    STUDENTS = "students", "Students only"
    ALL = "all", "Everyone on the file"


class ImportSource(models.TextChoices):
    MANUAL = "", "Manual"
    SYNC = "sync", "Sync"


class ImportJob(models.Model):
    """One import: a draft while the wizard runs, then a scheduled, running and finished job."""

    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="import_jobs")
    number = models.PositiveIntegerField(help_text="Sequential per district.")
    description = models.CharField(max_length=255, blank=True, default="")
    import_type = models.CharField(max_length=32, choices=ImportType.choices, default=DEFAULT_TYPE)
    status = models.CharField(max_length=32, choices=ImportStatus.choices, default=ImportStatus.DRAFT)
    step = models.CharField(max_length=16, choices=WizardStep.choices, default=WizardStep.UPLOAD)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Wizard choices. Mapping is {field_key: column label}; fixed values are {field_key: value}.
    field_mapping = models.JSONField(default=dict, blank=True)
    fixed_values = models.JSONField(default=dict, blank=True)
    # One value for every row of one file (Student.csv: student, Teacher.csv: staff); wins over fixed_values.
    file_fixed_values = models.JSONField(default=dict, blank=True, help_text="{file name: {field_key: value}}")
    school_mapping = models.JSONField(default=dict, blank=True, help_text="{file value: school id}")
    value_mapping = models.JSONField(
        default=dict, blank=True, help_text='{field_key: {file value: Classworks value or "skip"}}',
    )
    new_schools = models.JSONField(
        default=dict, blank=True, help_text='{file value: {"name": ..., "sis_id": ...}}, created on submit',
    )
    conflict_policy = models.CharField(
        max_length=16, choices=ConflictPolicy.choices, default=ConflictPolicy.IMPORTED_WINS
    )
    password_policy = models.CharField(max_length=16, choices=PasswordPolicy.choices, default=PasswordPolicy.MAINTAIN)
    custom_group = models.ForeignKey(
        "users.CustomGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    group_members = models.CharField(max_length=16, choices=GroupMembers.choices, default=GroupMembers.STUDENTS)
    email_staff = models.BooleanField(default=False)
    # Overwrite Password leaves alone the passwords of people who have signed in, unless this is ticked.
    replace_claimed_passwords = models.BooleanField(default=False)

    # Validation and outcome.
    validated_at = models.DateTimeField(null=True, blank=True)
    validation_summary = models.JSONField(default=dict, blank=True)
    # Background validation. Every change of mapping or options bumps the generation, so a task
    # started for an older one finds itself superseded and never writes over the newer result.
    validation_generation = models.PositiveIntegerField(default=0)
    validation_phase = models.CharField(max_length=16, choices=ValidationPhase.choices, blank=True, default="")
    validation_claim = models.CharField(max_length=32, blank=True, default="", help_text="Token of the task that runs it.")
    validation_heartbeat_at = models.DateTimeField(null=True, blank=True)
    validation_rows_done = models.PositiveIntegerField(default=0)
    validation_error = models.TextField(blank=True, default="")
    # Close X on a draft with many problems: hidden at once, deleted by a task a batch at a time.
    closed_at = models.DateTimeField(null=True, blank=True)
    # What the stored school values were read for ("" = not read yet): the School column or one value for all rows.
    school_values_key = models.TextField(blank=True, default="")
    # What the stored built rows of the last validation were made from ("" = none): the run reuses them when it matches.
    built_rows_key = models.CharField(max_length=64, blank=True, default="")
    counts = models.JSONField(default=dict, blank=True)
    # A OneRoster or SDS upload: its kind, rows not imported and why, ignored files, warnings (no student data).
    bundle_summary = models.JSONField(default=dict, blank=True)

    # Running. run_after lives here, not as a broker ETA, so a restarted broker loses nothing.
    submitted_at = models.DateTimeField(null=True, blank=True)
    run_after = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    # Rows whose chunk is committed, and the spreadsheet row after the last of them (the row a failure reached).
    rows_committed = models.PositiveIntegerField(default=0)
    next_row = models.PositiveIntegerField(null=True, blank=True)
    # Safety hold: a job that would change too much of the district waits for an admin's approval.
    hold_summary = models.JSONField(default=dict, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # A short, data-free note on why a job waits, e.g. another import of the district is running.
    status_note = models.CharField(max_length=255, blank=True, default="")
    failure_reason = models.TextField(blank=True, default="")
    failed_row = models.PositiveIntegerField(null=True, blank=True)
    completion_email_error = models.TextField(blank=True, default="")
    # An undo is a job of its own that reverts this finished import; at most one that is not cancelled.
    undo_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="undos",
        help_text="The import this job undoes.",
    )
    # Classes: add the file's members to each class, or replace each class's roster with the file's.
    roster_policy = models.CharField(max_length=8, choices=ROSTER_POLICIES, default=ROSTER_ADD)
    # A user import whose upload also holds classes: they are written after the users, in the same run.
    also_classes = models.BooleanField(default=False)

    # A sync (drop folder or OneRoster API) imports its valid rows; a manual import must have no error.
    source = models.CharField(max_length=16, choices=ImportSource.choices, blank=True, default=ImportSource.MANUAL)
    # A full-roster sync's plan: {"disable": [user ids], "enable": [user ids]}, applied after the rows are written.
    roster_changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["district", "number"], name="import_number_unique_per_district"),
            models.UniqueConstraint(
                fields=["undo_of"], condition=~models.Q(status__in=["cancelled", "discarded"]),
                name="one_undo_per_import",
            ),
        ]
        indexes = [models.Index(fields=["status", "run_after"])]

    def __str__(self) -> str:
        return f"Import {self.number}"

    @property
    def type_label(self) -> str:
        """What history's Type column says: the import type, or which import this job undoes."""
        if self.undo_of_id:
            return f"Undo of import {self.undo_of.number}"
        if self.source == ImportSource.SYNC:
            return f"Sync · {self.get_import_type_display()}"
        return self.get_import_type_display()

    @property
    def live_undo(self):
        """The undo of this import that counts (not cancelled or discarded), or None."""
        return self.undos.exclude(status__in=[ImportStatus.CANCELLED, ImportStatus.DISCARDED]).order_by("id").first()

    @property
    def is_undoable(self) -> bool:
        return not self.undo_of_id and self.status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_WARNINGS)

    def skipped_changes(self, limit: int = 200):
        """An undo's users with fields left alone because they changed after the undone import."""
        return self.changes.exclude(skipped={}).order_by("id")[:limit]

    @property
    def writes_every_valid_row(self) -> bool:
        """Group members and login emails need every valid row, unchanged ones too, not only those that change."""
        return bool(self.custom_group_id or self.email_staff)

    @property
    def is_draft(self) -> bool:
        return self.status == ImportStatus.DRAFT

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 100 if self.is_finished else 0
        return min(100, round(100 * self.rows_done / self.rows_total))


FINISHED_STATUSES = {
    ImportStatus.COMPLETED,
    ImportStatus.COMPLETED_WITH_WARNINGS,
    ImportStatus.FAILED,
    ImportStatus.CANCELLED,
    ImportStatus.DISCARDED,
}


class BundleRole(models.TextChoices):
    NONE = "", "Read as uploaded"
    MEMBER = "member", "Part of a OneRoster or SDS upload, kept as uploaded"
    GENERATED = "generated", "User file made from a OneRoster or SDS upload"


class ImportFile(models.Model):
    """One uploaded file, kept byte for byte as the admin sent it."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveSmallIntegerField(default=0)
    original_name = models.CharField(max_length=255)
    stored = models.FileField(storage=private_storage, upload_to=original_file_path, max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    encoding = models.CharField(max_length=32, blank=True, default="")
    delimiter = models.CharField(max_length=4, blank=True, default="")
    file_format = models.CharField(max_length=8, default="csv")
    has_header = models.BooleanField(default=True)
    headers = models.JSONField(default=list, blank=True, help_text="The header row as read, or [] without one.")
    column_count = models.PositiveIntegerField(default=0)
    row_count = models.PositiveIntegerField(default=0)
    # An xlsx's first data rows, read at upload: Map Fields shows its samples without opening the workbook.
    sample_rows = models.JSONField(default=list, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Set when retention removed the bytes.")
    # A version written when the admin corrects error rows on Validate File. It belongs to the same
    # job, so Close X and retention delete it with the original; the original is never rewritten.
    corrected_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="correction",
        help_text="The uploaded file this corrected version replaces in the import.",
    )
    corrected_rows = models.JSONField(default=list, blank=True, help_text="Row numbers corrected in the browser.")
    # The files of a OneRoster/SDS upload are kept as uploaded (MEMBER) and read through the
    # user files made from them (GENERATED), which the import reads like any upload.
    bundle_role = models.CharField(max_length=16, choices=BundleRole.choices, blank=True, default=BundleRole.NONE)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.original_name


class Severity(models.TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"


class ImportIssue(models.Model):
    """One problem found by validation, kept so that 50,000 of them can be paged."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    file = models.ForeignKey(ImportFile, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    row = models.PositiveIntegerField(null=True, blank=True)
    column = models.CharField(max_length=255, blank=True, default="")
    field = models.CharField(max_length=64, blank=True, default="")
    code = models.CharField(max_length=64)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    message = models.TextField()
    suggestion = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["job", "severity", "code"]),
            # errors.csv streams a file's issues in row order: no sort of a million rows before the first byte.
            models.Index(fields=["job", "file", "row", "id"], name="import_issue_report_order"),
        ]


class ImportSchoolValue(models.Model):
    """A distinct school value of the job's files, read once by a background task, so School Mapping pages it."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="school_values")
    position = models.PositiveIntegerField(help_text="First-seen order in the files.")
    value = models.TextField()
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="one_school_value_per_position")]


class ImportCodedValue(models.Model):
    """A distinct value of a coded field (User Type, Grade, flags...) that is not recognised at once, read in the background."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="coded_values")
    position = models.PositiveIntegerField(help_text="Field order, then first-seen order in the files.")
    field_key = models.CharField(max_length=64)
    value = models.TextField()
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="one_coded_value_per_position")]


class ImportChange(models.Model):
    """An existing user the import updated, with each field's before and after."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="changes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    district_user_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, help_text="{field: [before, after]}")
    old_email_notified = models.BooleanField(
        default=False, help_text="The user signs in, so the replaced address was sent a notice of the change."
    )
    # An undo's fields left alone because they changed after the import: {field: [import's after, current]}.
    skipped = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    @property
    def change_lines(self) -> list[tuple[str, object, object]]:
        """(field heading, before, after) for each changed field, as pages show them."""
        return [(change_heading(key), before, after) for key, (before, after) in self.changes.items()]

    @property
    def skipped_lines(self) -> list[tuple[str, str, str]]:
        """(field heading, the import's value, the current value) for each skipped field, as shown."""
        def shown(value) -> str:
            if isinstance(value, bool):
                return "Yes" if value else "No"
            return "(blank)" if value in (None, "") else str(value)

        return [
            (change_heading(key), shown(after), shown(now))
            for key, (after, now) in self.skipped.items()
        ]


class ImportGroupAddition(models.Model):
    """A user the import put in its custom group who was not a member before: what an undo removes."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="group_additions")
    group = models.ForeignKey("users.CustomGroup", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "group", "user"], name="one_group_addition_per_user"),
        ]


class PasswordBatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class PasswordBatch(models.Model):
    """A slice of the job's rows whose file passwords still need hashing.

    Hashing is the one CPU-bound step, so it fans out as one task per batch: more workers, less time.
    Only the row range travels; the task reads its slice of the stored file, from where it starts.
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="password_batches")
    start_index = models.PositiveIntegerField(help_text="First row of the job's row stream, from 0.")
    end_index = models.PositiveIntegerField(help_text="One past the last row.")
    # Where start_index begins in the stored files (sources.StreamStart), so the task reads only its own
    # rows. Positions only, never a value: passwords must not rest anywhere in clear text but the upload.
    start = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=PasswordBatchStatus.choices, default=PasswordBatchStatus.PENDING)
    hashed = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "start_index"], name="one_password_batch_per_slice"),
        ]


class EmailKind(models.TextChoices):
    LOGIN = "login", "Login information"
    COMPLETION = "completion", "Import complete"
    # To the address an import replaced, for someone who signs in: a takeover does not go unnoticed.
    EMAIL_CHANGED = "email_changed", "Email address changed"
    # To the stored address of someone who signs in and whose password an import replaced.
    PASSWORD_CHANGED = "password_changed", "Password replaced"


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ImportEmail(models.Model):
    """An email owed by an import; the unique key makes a second delivery of a task harmless."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=16, choices=EmailKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "kind", "user"], name="one_email_per_person_per_import"),
        ]


class DistrictImportMemory(models.Model):
    """The district's last confirmed mappings, proposed on its next import."""

    district = models.OneToOneField("schools.District", on_delete=models.CASCADE, related_name="import_memory")
    field_mapping = models.JSONField(default=dict, blank=True)
    school_mapping = models.JSONField(default=dict, blank=True)
    value_mapping = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
