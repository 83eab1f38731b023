"""Classes: a district's classes, their teachers (one primary) and students, and each class's history."""
from django.conf import settings
from django.db import models


class RosterRole(models.TextChoices):
    TEACHER = "teacher", "Teacher"
    STUDENT = "student", "Student"


class SchoolClass(models.Model):
    """One class of a school, known to its SIS by sis_id (unique within the district)."""

    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="classes")
    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="classes")
    sis_id = models.CharField("Class SIS ID", max_length=64)
    name = models.CharField("Class Name", max_length=255)
    course_name = models.CharField(max_length=255, blank=True, default="")
    course_number = models.CharField(max_length=64, blank=True, default="")
    subject = models.CharField(max_length=128, blank=True, default="")
    term_name = models.CharField(max_length=128, blank=True, default="")
    term_start = models.DateField(null=True, blank=True)
    term_end = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    # What an undo of that import deletes (with the class's roster).
    created_by_import = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="created_classes"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "class"
        verbose_name_plural = "classes"
        constraints = [
            models.UniqueConstraint(fields=["district", "sis_id"], name="class_sis_id_unique_per_district"),
        ]
        indexes = [models.Index(fields=["district", "name", "id"], name="class_district_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.sis_id})"


class ClassTeacher(models.Model):
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="teacher_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teaching")
    is_primary = models.BooleanField(default=False)
    # The import that added this teacher to the class: what an undo of it removes.
    added_by_import = models.ForeignKey("imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school_class", "user"], name="one_teacher_link_per_class")]


class ClassStudent(models.Model):
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="student_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    added_by_import = models.ForeignKey("imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school_class", "user"], name="one_student_link_per_class")]


class ClassChangeKind(models.TextChoices):
    CREATED = "created", "Class created"
    UPDATED = "updated", "Class changed"
    DEACTIVATED = "deactivated", "Class deactivated"
    ACTIVATED = "activated", "Class activated"
    DELETED = "deleted", "Class deleted"
    MEMBER_ADDED = "member_added", "Member added"
    MEMBER_REMOVED = "member_removed", "Member removed"


class ClassChange(models.Model):
    """One change to a class or its roster, by an import (job) or by an administrator (actor).

    An import's additions are marked on the rows themselves (created_by_import, added_by_import),
    so a fresh import of a million enrollments writes no log row per enrollment; what an undo cannot
    read back from the rows (a class's values before, a removed member) is logged here.
    """

    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey("imports.ImportJob", null=True, blank=True, on_delete=models.CASCADE, related_name="class_changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    school_class = models.ForeignKey(SchoolClass, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes")
    class_sis_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=ClassChangeKind.choices)
    # A member's change: who (kept as the District ID too, so the log still reads after the user is gone).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    district_user_id = models.CharField(max_length=64, blank=True, default="")
    role = models.CharField(max_length=8, choices=RosterRole.choices, blank=True, default="")
    is_primary = models.BooleanField(default=False)
    added_by_import = models.ForeignKey("imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    fields = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["school_class", "id"], name="class_change_by_class")]
