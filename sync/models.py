"""A district's automated roster sync: where the roster comes from, when, and how careful to be."""
from django.db import models

from imports.types import SPECS

# The import types a sync may include: every registered type (Classes too, once it is declared).
SyncType = models.TextChoices("SyncType", [(s.import_type.upper(), (s.import_type, s.label)) for s in SPECS])


class SyncSource(models.TextChoices):
    FOLDER = "folder", "Drop folder (SFTP)"
    ONEROSTER = "oneroster", "OneRoster REST API"


class OneRosterVersion(models.TextChoices):
    V1_1 = "1.1", "OneRoster 1.1 (OAuth 1.0a, HMAC-SHA256)"
    V1_2 = "1.2", "OneRoster 1.2 (OAuth 2 client credentials)"


class SyncSettings(models.Model):
    """One district's sync: source, schedule, what to import, and the thresholds that hold it."""

    district = models.OneToOneField("schools.District", on_delete=models.CASCADE, related_name="sync_settings")
    source = models.CharField(max_length=16, choices=SyncSource.choices, default=SyncSource.FOLDER)
    # District time, inside its off-peak window; None: no scheduled sync (Sync now still works).
    schedule_time = models.TimeField(null=True, blank=True)
    import_types = models.JSONField(default=list, blank=True, help_text='e.g. ["user_data", "demographics"]')
    # The mappings and options: those of this past import, or (None) the district's remembered ones.
    mapping_from = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    full_roster = models.BooleanField(default=False)
    # Full roster leaves users made by hand or by manual imports alone unless this is on.
    full_roster_manual_users = models.BooleanField(default=False)
    hold_changed_percent = models.PositiveSmallIntegerField(default=20)
    hold_disabled_percent = models.PositiveSmallIntegerField(default=10)
    hold_errors_percent = models.PositiveSmallIntegerField(default=10)
    daily_summary = models.BooleanField(default=False)

    oneroster_url = models.URLField(max_length=500, blank=True, default="")
    oneroster_version = models.CharField(max_length=8, choices=OneRosterVersion.choices, default=OneRosterVersion.V1_1)
    token_url = models.URLField(max_length=500, blank=True, default="")
    client_id = models.CharField(max_length=255, blank=True, default="")
    # Fernet token of the client secret (sync/crypto.py); the secret itself is never stored or shown.
    client_secret_encrypted = models.TextField(blank=True, default="")

    # Scheduling. next_run_at in the database, picked up by the beat task (no broker ETA).
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # Claim: set while a run of this district is in progress, so two never overlap.
    running_since = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["next_run_at", "last_run_at"])]

    def __str__(self) -> str:
        return f"Sync settings of {self.district}"

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret_encrypted)


class SyncRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with errors"
    HELD = "held", "On hold"
    FAILED = "failed", "Failed"
    NOTHING_NEW = "nothing_new", "Nothing new to import"
    BUSY = "busy", "Another import was running"
    DRY_RUN = "dry_run", "Dry run"


class SyncRun(models.Model):
    """One attempt to sync a district: what was fetched, the imports it made and the delta."""

    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=16, default="schedule", help_text="schedule, now or command")
    status = models.CharField(max_length=32, choices=SyncRunStatus.choices, default=SyncRunStatus.RUNNING)
    # Data-free: the upload's name or the API's host, and why it failed or waits.
    received = models.CharField(max_length=255, blank=True, default="")
    message = models.TextField(blank=True, default="")
    delta = models.JSONField(default=dict, blank=True)
    jobs = models.ManyToManyField("imports.ImportJob", blank=True, related_name="sync_runs")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
