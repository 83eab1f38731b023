"""{% fix_rows_editor %}: the error-row editor of Validate File, drawn where the page includes it."""
from django import template

from ..services import corrections

register = template.Library()


@register.inclusion_tag("imports/wizard/_fix_rows.html", takes_context=True)
def fix_rows_editor(context):
    """Nothing when the job has no error rows; a note when it has too many to correct here."""
    job = context["job"]
    return {
        "job": job,
        "editor": corrections.fix_rows_editor(job=job, page_number=context["request"].GET.get("fix_page")),
        "limit": corrections.FIX_ROWS_LIMIT,
        "csrf_token": context.get("csrf_token"),
    }
