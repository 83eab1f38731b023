from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class UserType(models.TextChoices):
    STUDENT = "student", "Student"
    STAFF = "staff", "Staff"


class Grade(models.TextChoices):
    PRE_K = "PK", "Pre-K"
    K = "K", "K"
    G1 = "1", "1"
    G2 = "2", "2"
    G3 = "3", "3"
    G4 = "4", "4"
    G5 = "5", "5"
    G6 = "6", "6"
    G7 = "7", "7"
    G8 = "8", "8"
    G9 = "9", "9"
    G10 = "10", "10"
    G11 = "11", "11"
    G12 = "12", "12"


class Gender(models.TextChoices):
    MALE = "M", "Male"
    FEMALE = "F", "Female"
    NON_BINARY = "X", "Non-binary"


class User(AbstractUser):
    """Everyone who signs in: district administrators, staff and students."""

    district = models.ForeignKey(
        "schools.District", null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )
    # Text, not a number: SIS ids such as 000123 must keep their leading zeros.
    district_user_id = models.CharField("District ID", max_length=64, null=True, blank=True)
    user_type = models.CharField(max_length=10, choices=UserType.choices, default=UserType.STAFF)
    middle_name = models.CharField(max_length=150, blank=True, default="")
    grade = models.CharField(max_length=2, choices=Grade.choices, blank=True, default="")
    school = models.ForeignKey(
        "schools.School", null=True, blank=True, on_delete=models.SET_NULL, related_name="users"
    )
    state_user_id = models.CharField(max_length=64, blank=True, default="")
    alternate_user_id = models.CharField(max_length=64, blank=True, default="")
    limited_english = models.BooleanField(default=False)
    economically_disadvantaged = models.BooleanField(default=False)
    # Demographics, shared by the User Data and Student Demographics imports. Database defaults too:
    # a bulk load (COPY, INSERT ... SELECT) that does not name these columns still gets a valid row.
    prefix = models.CharField(max_length=32, blank=True, default="", db_default="")
    suffix = models.CharField(max_length=32, blank=True, default="", db_default="")
    birthdate = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=1, choices=Gender.choices, blank=True, default="", db_default="")
    hispanic_latino = models.BooleanField("Hispanic or Latino", default=False, db_default=False)
    # One or more federal race categories, as given, joined by ";".
    race = models.CharField(max_length=255, blank=True, default="", db_default="")
    disabled = models.BooleanField(default=False, db_default=False)
    migrant = models.BooleanField(default=False, db_default=False)
    # The OneRoster sourcedId, so a later demographics.csv keyed on it finds the user.
    oneroster_sourced_id = models.CharField("OneRoster sourcedId", max_length=255, blank=True, default="", db_default="")
    # The right to manage the district, independent of being staff or student.
    is_district_admin = models.BooleanField(default=False)
    # Which import created this user: the change list and a future undo build on it.
    created_by_import = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="created_users"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district", "district_user_id"],
                condition=Q(district_user_id__isnull=False),
                name="user_district_id_unique_per_district",
            ),
            # Sign-in compares usernames ignoring case, so the database holds them unique that way: an import
            # that writes a made-up username without asking first is stopped by the insert, never doubled.
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]
        # Validation looks up existing users' emails case-insensitively, a chunk at a time.
        indexes = [
            models.Index("district", Lower("email"), name="user_district_email_ci"),
            models.Index(fields=["district", "oneroster_sourced_id"], name="user_district_sourced_id"),
        ]

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)


class CustomGroup(models.Model):
    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="custom_groups")
    name = models.CharField(max_length=150)
    members = models.ManyToManyField(User, blank=True, related_name="custom_groups")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="custom_group_name_unique_per_district"),
        ]

    def __str__(self) -> str:
        return self.name


class AuditAction(models.TextChoices):
    DOWNLOAD_ORIGINAL = "download_original", "Downloaded an original file"
    DOWNLOAD_ERRORS = "download_errors", "Downloaded an error report"
    DOWNLOAD_RESULTS = "download_results", "Downloaded a results report"
    EXPORT_USERS = "export_users", "Exported users"
    VIEW_USER = "view_user", "Viewed a user"
    EDIT_USER = "edit_user", "Edited a user"
    DISABLE_USER = "disable_user", "Disabled a user"
    ENABLE_USER = "enable_user", "Enabled a user"
    SEND_PASSWORD_LINK = "send_password_link", "Sent a set-password link"
    SUBMIT = "submit", "Submitted an import"
    APPROVE = "approve", "Approved an import"
    DISCARD = "discard", "Discarded an import"
    CANCEL = "cancel", "Cancelled an import"
    UNDO = "undo", "Undid an import"
    # Pages that show student data: each view is recorded (ids and counts only in detail).
    VIEW_USERS = "view_users", "Viewed the user list"
    VIEW_USER_EDIT = "view_user_edit", "Opened a user's edit form"
    VIEW_IMPORT = "view_import", "Viewed an import's details"
    VIEW_UNDO_PREVIEW = "view_undo_preview", "Viewed an undo preview"
    VIEW_VALIDATION = "view_validation", "Viewed Validate File"
    VIEW_FIELD_SAMPLES = "view_field_samples", "Viewed Map Fields samples"
    VIEW_GROUP = "view_group", "Viewed a group's members"
    CREATE_GROUP = "create_group", "Created a group"
    RENAME_GROUP = "rename_group", "Renamed a group"
    DELETE_GROUP = "delete_group", "Deleted a group"
    ADD_GROUP_MEMBER = "add_group_member", "Added a group member"
    REMOVE_GROUP_MEMBER = "remove_group_member", "Removed a group member"
    VIEW_ADMIN_USERS = "view_admin_users", "Viewed the ops admin's user list"
    VIEW_CLASS = "view_class", "Viewed a class"
    EDIT_CLASS = "edit_class", "Changed a class"
    DELETE_CLASS = "delete_class", "Deleted a class"
    EXPORT_CLASSES = "export_classes", "Exported classes"


class AuditEvent(models.Model):
    """Who saw or changed student data, when and from where.

    Kept past the file retention period: retention deletes files and problems, never these rows.
    """

    district = models.ForeignKey("schools.District", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The actor's name at the time, so the trail still reads after the account is gone.
    actor_label = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    job = models.ForeignKey("imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    subject_user = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Ids and counts only: never names, emails or other student data.
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["district", "created_at"])]
