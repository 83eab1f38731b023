"""The wizard's steps. Each import type lists the ones it has, in order (ImportSpec.steps)."""
from django.db import models


class WizardStep(models.TextChoices):
    UPLOAD = "upload", "Upload File"
    MAP_FIELDS = "fields", "Map Fields"
    MAP_SCHOOLS = "schools", "School Mapping"
    MAP_VALUES = "values", "Value Mapping"  # for a type without School Mapping, whose page holds value mapping
    VALIDATE = "validate", "Validate File"
    ACTIONS = "actions", "Additional Actions"
    REVIEW = "review", "Review"
