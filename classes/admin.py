from django.contrib import admin

from .models import ClassChange, SchoolClass


@admin.register(SchoolClass)
class SchoolClassAdmin(admin.ModelAdmin):
    list_display = ("name", "sis_id", "school", "district", "active")
    list_filter = ("active",)
    search_fields = ("name", "sis_id")
    raw_id_fields = ("school", "district", "created_by_import")


@admin.register(ClassChange)
class ClassChangeAdmin(admin.ModelAdmin):
    list_display = ("class_sis_id", "kind", "job", "actor", "created_at")
    raw_id_fields = ("district", "job", "actor", "school_class", "user", "added_by_import")
