"""Each form checks one wizard step's input; its choices come from the job."""
from django import forms

from .models import ConflictPolicy, GroupMembers, PasswordPolicy
from .types import ALL_SPECS, DEFAULT_TYPE
from .types.classes import ROSTER_POLICIES


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".csv,.xlsx,.txt,.tsv,.zip"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class StartForm(forms.Form):
    import_type = forms.ChoiceField(choices=[(s.import_type, s.label) for s in ALL_SPECS], initial=DEFAULT_TYPE, label="Import type")
    description = forms.CharField(max_length=255, required=False, label="Description",
                                  widget=forms.TextInput(attrs={"placeholder": "e.g. First Street ES Student File"}))
    files = MultipleFileField(label="Upload File")
    no_header = forms.BooleanField(required=False, label="My file has no header row")


class MatchForm(forms.Form):
    """One click pair: a field on the left, a column on the right."""

    field = forms.ChoiceField(choices=[])
    column = forms.ChoiceField(choices=[])

    def __init__(self, *args, column_labels: list[str], spec, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [(f.key, f.label) for f in spec.fields]
        self.fields["column"].choices = [(c, c) for c in column_labels]


class ActionsForm(forms.Form):
    conflict_policy = forms.ChoiceField(choices=ConflictPolicy.choices, widget=forms.RadioSelect, label="Conflicts")
    password_policy = forms.ChoiceField(choices=PasswordPolicy.choices, widget=forms.RadioSelect, label="Passwords")
    custom_group = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Add users to a custom group")
    group_members = forms.ChoiceField(choices=GroupMembers.choices, widget=forms.RadioSelect, label="Who is added")
    email_staff = forms.BooleanField(required=False, label="Email staff their login information")
    replace_claimed_passwords = forms.BooleanField(required=False)
    also_classes = forms.BooleanField(required=False)
    new_group_name = forms.CharField(max_length=150, required=False, label="Or make a new group named")

    error_messages = {"group_and_new": "Choose an existing group or name a new one, not both."}

    def __init__(self, *args, groups, claimed: int = 0, classes: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["replace_claimed_passwords"].label = f"Also replace the passwords of {claimed} people who already sign in"
        # Offered only for an upload that holds classes (its counts from the upload).
        if classes:
            self.fields["also_classes"].label = (
                f"Also import classes ({classes['classes']} classes, {classes['enrollments']} enrollments)")
        else:
            del self.fields["also_classes"]
        self.fields["custom_group"].choices = [("", "— No group —")] + [(g.id, g.name) for g in groups]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("custom_group") and cleaned.get("new_group_name", "").strip():
            raise forms.ValidationError(self.error_messages["group_and_new"], code="group_and_new")
        return cleaned

class RosterActionsForm(forms.Form):
    """Additional Actions of the Classes type."""

    roster_policy = forms.ChoiceField(choices=ROSTER_POLICIES, widget=forms.RadioSelect, label="Each class's roster")
