from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import CustomGroup, User


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


@admin.register(CustomGroup)
class CustomGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "district")
    list_filter = ("district",)
    search_fields = ("name",)
    raw_id_fields = ("members",)
