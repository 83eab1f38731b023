"""Who may reach the Manage pages: signed-in district administrators, and only for their district."""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def is_district_admin(user) -> bool:
    return bool(user.is_authenticated and user.is_district_admin and user.district_id)


def district_admin_required(view):
    """Anonymous users go to sign-in; signed-in users without the right get 403.

    The view receives `request.district`, the only district it may touch.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_district_admin(request.user):
            raise PermissionDenied
        request.district = request.user.district
        return view(request, *args, **kwargs)

    return wrapper
