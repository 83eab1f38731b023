"""The import type declarations: what each one must hold, and the wizard's step order read from them."""
import dataclasses
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports import types
from imports.models import ImportJob, ImportType, WizardStep
from imports.tests.factories import FULL_HEADER, student, write_csv
from users.models import User


@pytest.mark.parametrize("spec", types.SPECS, ids=lambda s: s.import_type)
def test_every_stored_column_exists_and_each_free_text_field_is_held_to_its_size(spec):
    # PostgreSQL refuses a longer value halfway through a run: validation must report it first.
    # (The parts of a combined field are not stored: their combination is.)
    for field in spec.stored_fields:
        if field.rule.secret:
            continue
        column = User._meta.get_field(field.stored_column)
        free_text = column.get_internal_type() in ("CharField", "EmailField") and not column.choices
        assert field.rule.max_length == (column.max_length if free_text else None), field.key


@pytest.mark.parametrize("spec", types.SPECS, ids=lambda s: s.import_type)
def test_every_type_starts_with_upload_and_ends_with_review_through_map_fields_and_validate(spec):
    assert spec.steps[0] == WizardStep.UPLOAD and spec.steps[-1] == WizardStep.REVIEW
    assert spec.has_step(WizardStep.MAP_FIELDS) and spec.has_step(WizardStep.VALIDATE)
    assert spec.match_field in spec.required_keys
    assert {f.key for f in spec.fields} >= {k for row in spec.sample_rows for k in row}


def test_each_step_knows_its_neighbours_and_the_types_that_have_it():
    spec = types.USER_DATA

    assert spec.next_step(WizardStep.MAP_FIELDS) == WizardStep.MAP_SCHOOLS
    assert spec.previous_step(WizardStep.VALIDATE) == WizardStep.MAP_SCHOOLS
    assert spec.previous_step(WizardStep.UPLOAD) is None and spec.next_step(WizardStep.REVIEW) is None
    assert spec.later_step(WizardStep.REVIEW, WizardStep.MAP_FIELDS) == WizardStep.REVIEW
    assert types.types_with_step(WizardStep.MAP_SCHOOLS) == (spec,)


def test_history_and_the_wizard_name_the_type_by_its_label():
    assert ImportType.choices == [(s.import_type, s.label) for s in types.ALL_SPECS]
    with pytest.raises(LookupError, match='Unknown import type "nope"'):
        types.get_spec("nope")


@pytest.fixture
def roster_only(monkeypatch):
    """A test-only type without School Mapping and Additional Actions: the wizard must skip both."""
    spec = dataclasses.replace(
        types.USER_DATA, import_type="roster_only", label="Roster only",
        steps=(WizardStep.UPLOAD, WizardStep.MAP_FIELDS, WizardStep.VALIDATE, WizardStep.REVIEW),
    )
    monkeypatch.setitem(types._BY_TYPE, spec.import_type, spec)
    return spec


def test_the_step_bar_and_next_follow_the_types_own_steps(roster_only, district_admin_client, school, tmp_path):
    client = district_admin_client
    path = write_csv(tmp_path / "roster.csv", [student("1")], header=FULL_HEADER)
    client.post(reverse("imports:start"), {
        "import_type": "user_data", "files": SimpleUploadedFile("roster.csv", path.read_bytes(), content_type="text/csv"),
    })
    job = ImportJob.objects.get()
    ImportJob.objects.filter(id=job.id).update(import_type=roster_only.import_type)

    page = client.get(reverse("imports:fields", args=[job.number])).content.decode()
    after_fields = client.post(reverse("imports:fields", args=[job.number]), {"action": "next"})
    validate = client.get(reverse("imports:validate", args=[job.number])).content.decode()

    assert "Map Fields" in page and "Validate File" in page
    assert "School Mapping" not in page and "Additional Actions" not in page
    assert after_fields["Location"] == reverse("imports:validate", args=[job.number])
    assert f'href="{reverse("imports:fields", args=[job.number])}">Back</a>' in validate
    # A step the type does not have is never shown: its URL leads back to where the job is.
    schools = client.get(reverse("imports:schools", args=[job.number]))
    assert schools.status_code == 302 and schools["Location"] == reverse("imports:validate", args=[job.number])


def test_import_users_takes_the_type_from_the_registry(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1")])
    out = StringIO()

    call_command("import_users", str(path), "--district", district.slug, "--type", "users", "--dry-run", stdout=out)

    assert "\ndry_run: nothing was written. The run would give: rows 1, created 1," in out.getvalue()
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("import_users", str(path), "--district", district.slug, "--type", "nope", "--dry-run")
