import datetime
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone: {value}")


class District(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    timezone = models.CharField(max_length=64, default="America/New_York", validators=[validate_timezone])
    # Imports run off-peak so they never slow the school day; the window may wrap past midnight.
    offpeak_start = models.TimeField(default=datetime.time(20, 0))
    offpeak_end = models.TimeField(default=datetime.time(6, 0))
    # Safety hold: a job that would change more than this share of existing users waits for approval.
    change_threshold_percent = models.PositiveSmallIntegerField(default=20)
    # Uploaded student files and reports are deleted after this many days; the history row stays.
    file_retention_days = models.PositiveIntegerField(default=90)
    # The last import number given: numbers are never given twice, even once a closed draft is deleted.
    last_import_number = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class School(models.Model):
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="schools")
    name = models.CharField(max_length=200)
    sis_id = models.CharField("SIS ID/code", max_length=64)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "sis_id"], name="school_sis_id_unique_per_district"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sis_id})"
