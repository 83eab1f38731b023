from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import AuditAction, CustomGroup, User
from .services import audit_event_record


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "first_name",
        "last_name",
        "district",
        "district_user_id",
        "user_type",
        "is_district_admin",
    )
    list_filter = ("district", "user_type", "is_district_admin", "is_active")
    search_fields = ("username", "first_name", "last_name", "email", "district_user_id")
    list_select_related = ("district",)
    raw_id_fields = ("school", "created_by_import")
    fieldsets = DjangoUserAdmin.fieldsets + (
        (
            "District",
            {
                "fields": (
                    "district",
                    "is_district_admin",
                    "district_user_id",
                    "user_type",
                    "middle_name",
                    "grade",
                    "school",
                    "state_user_id",
                    "alternate_user_id",
                    "limited_english",
                    "economically_disadvantaged",
                    "created_by_import",
                )
            },
        ),
    )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A user record seen or saved here goes on the district's audit trail."""
        response = super().change_view(request, object_id, form_url, extra_context)
        saved = request.method == "POST" and response.status_code == 302
        if (request.method == "GET" and response.status_code == 200) or saved:
            user = self.get_object(request, unquote(object_id))
            if user is not None:
                audit_event_record(
                    action=AuditAction.EDIT_USER if saved else AuditAction.VIEW_USER,
                    request=request, subject_user=user, district=user.district,
                )
        return response

    def changelist_view(self, request, extra_context=None):
        """The ops admin's user list (every district's names) goes on the audit trail too."""
        response = super().changelist_view(request, extra_context)
        if request.method == "GET" and response.status_code == 200:
            audit_event_record(action=AuditAction.VIEW_ADMIN_USERS, request=request,
                               detail={"searched": bool(request.GET.get("q"))})
        return response


@admin.register(CustomGroup)
class CustomGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "district")
    list_filter = ("district",)
    search_fields = ("name",)
    raw_id_fields = ("members",)

