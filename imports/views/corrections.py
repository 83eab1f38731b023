"""Correcting error rows on Validate File. The editor is drawn on that page by {% fix_rows_editor %}."""
from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.permissions import district_admin_required

from ..services import corrections
from ..models import ValidationPhase
from ..services import validation
from ..errors import Refusal
from ..types import get_spec
from .common import get_job_or_404

SAVED = "{count} row{s} corrected and the file checked again. Your original file is kept as you uploaded it."
NOTHING_CHANGED = "Nothing was changed: type a correction in a row, then Save corrections."
ERROR_CELL = "Row {row}, {heading}: {error}"


class FixRowsForm(forms.Form):
    """The typed cells of the rows that were on the page (inputs named fix-<file>-<row>-<field>)."""

    def __init__(self, data, *, spec):
        super().__init__(data)
        self.spec = spec
        self.cells: dict[str, tuple[int, int, str]] = {}
        for key in data.getlist("rows")[: corrections.FIX_ROWS_PER_PAGE]:
            file_id, _, row = key.partition("-")
            if not (file_id.isdigit() and row.isdigit()):
                continue
            for f in spec.fields:
                name = corrections.cell_name(int(file_id), int(row), f.key)
                if name in data:
                    self.fields[name] = forms.CharField(required=False)
                    self.cells[name] = (int(file_id), int(row), f.key)

    def first_error(self) -> str:
        name, errors = next(iter(self.errors.items()))
        _, row, key = self.cells[name]
        return ERROR_CELL.format(row=row, heading=self.spec.by_key[key].heading, error=errors[0])

    def corrections(self) -> dict[tuple[int, int], dict[str, str]]:
        out: dict[tuple[int, int], dict[str, str]] = {}
        for name, (file_id, row, key) in self.cells.items():
            out.setdefault((file_id, row), {})[key] = self.cleaned_data[name]
        return out


@district_admin_required
@require_POST
def fix_rows(request, number: int):
    job = get_job_or_404(request, number)
    if not job.is_draft:
        return redirect("imports:detail", number=job.number)
    page = request.POST.get("fix_page", "")
    # Back to the top of Validate File, where the message and the new counts are.
    back = reverse("imports:validate", args=[job.number]) + (f"?fix_page={page}" if page.isdigit() else "")
    form = FixRowsForm(request.POST, spec=get_spec(job.import_type))
    if not form.is_valid():
        messages.error(request, form.first_error())
        return redirect(back)
    try:
        count = corrections.import_rows_correct(job=job, corrections=form.corrections())
    except Refusal as exc:
        messages.error(request, str(exc))
        return redirect(back)
    if not count:
        messages.info(request, NOTHING_CHANGED)
        return redirect(back)
    job.refresh_from_db()
    validation.import_job_validation_start(job=job, phase=ValidationPhase.VALIDATE)  # in the background, like every pass
    messages.success(request, SAVED.format(count=count, s="" if count == 1 else "s"))
    return redirect(back)
