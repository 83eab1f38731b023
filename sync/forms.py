from django import forms

from imports.types import SPECS

from .models import OneRosterVersion, SyncSource


class SyncSettingsForm(forms.Form):
    """One page of Sync settings; the service checks what depends on the district (window, past import)."""

    source = forms.ChoiceField(choices=SyncSource.choices, widget=forms.RadioSelect)
    schedule_time = forms.TimeField(required=False, help_text="District time, inside the off-peak window. Blank: off.",
                                    widget=forms.TimeInput(attrs={"type": "time"}))
    import_types = forms.MultipleChoiceField(choices=[(s.import_type, s.label) for s in SPECS], widget=forms.CheckboxSelectMultiple)
    mapping_from = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Mappings and options from")
    full_roster = forms.BooleanField(required=False, label="Full roster: disable users an earlier sync brought in and this one leaves out")
    full_roster_manual_users = forms.BooleanField(required=False, label="Also users made by hand or by manual imports")
    hold_changed_percent = forms.IntegerField(min_value=0, max_value=100, label="Hold when more than this % of users change")
    hold_disabled_percent = forms.IntegerField(min_value=0, max_value=100, label="Hold when more than this % would be disabled")
    hold_errors_percent = forms.IntegerField(min_value=0, max_value=100, label="Hold when more than this % of rows have errors")
    daily_summary = forms.BooleanField(required=False, label="Email a summary after every scheduled sync")
    oneroster_url = forms.URLField(required=False, label="OneRoster base URL", assume_scheme="https")
    oneroster_version = forms.ChoiceField(choices=OneRosterVersion.choices, required=False, label="OneRoster version")
    token_url = forms.URLField(required=False, label="Token URL (1.2; default base URL/token)", assume_scheme="https")
    client_id = forms.CharField(required=False, max_length=255, label="Client ID")
    # Never rendered with a value: the stored secret is not shown again; blank keeps it.
    client_secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False), label="Client secret",
                                    help_text="Leave blank to keep the stored secret.")

    def __init__(self, *args, past_imports=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mapping_from"].choices = [("", "The remembered mappings (the latest import's)")] + [
            (job.id, f"Import {job.number}: {job.type_label}" + (f" ({job.description})" if job.description else "")) for job in past_imports
        ]
