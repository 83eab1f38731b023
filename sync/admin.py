from django.contrib import admin

from .models import SyncRun, SyncSettings


@admin.register(SyncSettings)
class SyncSettingsAdmin(admin.ModelAdmin):
    list_display = ("district", "source", "schedule_time", "full_roster", "next_run_at", "last_run_at", "running_since")
    list_filter = ("source", "full_roster")
    # The encrypted secret is never shown, not even encrypted; sync_setup or the settings page replaces it.
    exclude = ("client_secret_encrypted",)
    readonly_fields = ("next_run_at", "last_run_at", "running_since", "dispatched_at")


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("district", "started_at", "trigger", "status", "received")
    list_filter = ("status", "trigger")
    readonly_fields = ("district", "trigger", "status", "received", "message", "delta", "jobs", "started_at", "finished_at")
