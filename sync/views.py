"""Sync settings, Sync now and Test connection: thin views over the sync services."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.permissions import district_admin_required

from . import dropfolder, selectors, services
from .forms import SyncSettingsForm

SAVED = "Sync settings saved."
PAST_IMPORTS_LISTED = 50
SYNC_QUEUED = "Sync started: it appears in Import History in a moment."


def _initial(cfg) -> dict:
    if cfg is None:
        return {"source": "folder", "import_types": ["user_data"], "hold_changed_percent": 20, "hold_disabled_percent": 10,
                "hold_errors_percent": 10, "oneroster_version": "1.1"}
    return {
        "source": cfg.source, "schedule_time": cfg.schedule_time, "import_types": cfg.import_types,
        "mapping_from": cfg.mapping_from_id, "full_roster": cfg.full_roster, "full_roster_manual_users": cfg.full_roster_manual_users,
        "hold_changed_percent": cfg.hold_changed_percent, "hold_disabled_percent": cfg.hold_disabled_percent,
        "hold_errors_percent": cfg.hold_errors_percent, "daily_summary": cfg.daily_summary, "oneroster_url": cfg.oneroster_url,
        "oneroster_version": cfg.oneroster_version, "token_url": cfg.token_url, "client_id": cfg.client_id,
    }


@district_admin_required
def settings_page(request):
    district = request.district
    cfg = selectors.sync_settings_get(district=district)
    past = selectors.sync_mapping_choices(district=district)[:PAST_IMPORTS_LISTED]
    form = SyncSettingsForm(request.POST or None, initial=_initial(cfg), past_imports=past)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["mapping_from_id"] = data.pop("mapping_from")
        data["oneroster_version"] = data["oneroster_version"] or "1.1"
        try:
            services.sync_settings_update(district=district, **data)
        except services.SyncRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, SAVED)
            return redirect("sync:settings")
    return render(request, "sync/settings.html", {
        "form": form, "cfg": cfg, "tab": "import", "runs": selectors.sync_run_list(district=district),
        "incoming": dropfolder.district_folder(district.slug) / dropfolder.INCOMING,
    })


@district_admin_required
@require_POST
def sync_now(request):
    try:
        services.sync_now_request(district=request.district)
    except services.SyncRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, SYNC_QUEUED)
    return redirect("sync:settings")


@district_admin_required
@require_POST
def test_connection(request):
    cfg = selectors.sync_settings_get(district=request.district)
    if cfg is None:
        messages.error(request, services.ERROR_NOT_SET_UP.format(district=request.district.name))
        return redirect("sync:settings")
    try:
        messages.success(request, services.sync_connection_test(cfg=cfg))
    except services.SyncRefused as exc:
        messages.error(request, str(exc))
    return redirect("sync:settings")
