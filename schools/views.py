"""The Manage pages owned by the schools app. Each view is scoped to `request.district`."""

from django.shortcuts import redirect, render

from users.permissions import district_admin_required

from . import selectors


@district_admin_required
def manage_home(request):
    """Manage Classworks opens on the Import tab."""
    return redirect("imports:history")


@district_admin_required
def school_list(request):
    """The signed-in admin's district's schools."""
    schools = selectors.school_list(district=request.district)
    return render(request, "schools/school_list.html", {"schools": schools, "tab": "schools"})
