from django.contrib import admin

from .models import District, School


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "timezone", "offpeak_start", "offpeak_end", "change_threshold_percent")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ("name", "sis_id", "district")
    list_filter = ("district",)
    search_fields = ("name", "sis_id")
    list_select_related = ("district",)
