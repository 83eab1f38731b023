from django.http import Http404

from .. import selectors
from ..models import ImportJob


def get_job_or_404(request, number: int) -> ImportJob:
    """The signed-in admin's district only: another district's import is a plain 404."""
    job = selectors.import_job_get(district=request.district, number=number)
    if job is None:
        raise Http404("No such import.")
    return job
