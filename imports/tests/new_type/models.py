"""A table no import writes: the rooms of a district, keyed by their code (a test-only model; its table is
made by the test, never by a migration)."""
from django.db import models


class Room(models.Model):
    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=100, blank=True, default="")
    building = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        app_label = "imports"
        db_table = "test_import_room"
        managed = False
