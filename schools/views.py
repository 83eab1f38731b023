"""The Manage pages owned by the schools app. Each view is scoped to `request.district`."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render

from core.permissions import district_admin_required, is_district_admin

from . import selectors


def manage_home(request):
    """Manage Classworks opens on the Import tab; anyone else signed in is told what they can do here."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_district_admin(request.user):
        return render(request, "users/signed_in.html", {"teach_url": settings.SITE_URL})
    return redirect("imports:history")


@district_admin_required
def school_list(request):
    """The signed-in admin's district's schools."""
    schools = selectors.school_list(district=request.district)
    return render(request, "schools/school_list.html", {"schools": schools, "tab": "schools"})
