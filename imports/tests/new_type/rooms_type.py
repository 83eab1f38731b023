"""The one type file: Rooms, created or updated by their code."""
from imports.pipeline.fields import Field
from imports.pipeline.normalize import Invalid, identifier, text
from imports.types.spec import ImportSpec
from imports.types.steps import WizardStep

ROOMS = ImportSpec(
    import_type="test_rooms",
    label="Rooms",
    command_name="rooms",
    target="test_rooms",
    match_field="code",
    fields=(
        Field("code", "Room Code", True, ("Room",),
              rule=identifier(32, blank=Invalid("code_required", "Room Code is blank.", "Every room needs its code."))),
        Field("name", "Room Name", True, ("Name",), rule=text(100)),
        Field("building", "Building", False, rule=text(100)),
    ),
    steps=(WizardStep.UPLOAD, WizardStep.MAP_FIELDS, WizardStep.VALIDATE, WizardStep.REVIEW),
)
