"""A table no import writes: the rooms of a district, keyed by their code (a test-only model; its table is
made by the test, never by a migration)."""
from django.db import models


class Room(models.Model):
    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=100, blank=True, default="")
    building = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        # An app label of no installed app: the model stays out of apps.get_models(), which other tests walk.
        app_label = "import_test_rooms"
        db_table = "test_import_room"
        managed = False
