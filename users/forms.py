"""Forms of the Users and Groups tabs. A hand edit is checked by the import's own row rules."""
from django import forms
from django.db import models

from imports.pipeline.mapping import ColumnPlan
from imports.pipeline.rows import RowBuilder
from imports.types import USER_DATA

from .models import Grade, User, UserType
from .selectors import UserFilters

ANY = ""
YES_NO = (("N", "No"), ("Y", "Yes"))


class UserFilterForm(forms.Form):
    """The Users list's search box and filters (a GET form: the URL can be bookmarked)."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    school = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="School")
    user_type = forms.ChoiceField(required=False, choices=[(ANY, "Any type"), *UserType.choices], label="User type")
    grade = forms.ChoiceField(required=False, choices=[(ANY, "Any grade"), *Grade.choices], label="Grade")
    active = forms.ChoiceField(
        required=False, choices=[(ANY, "Active or not"), ("yes", "Active"), ("no", "Disabled")], label="Active"
    )

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = [(ANY, "Any school"), *((s.id, s.name) for s in schools)]
        self.fields["q"].widget.attrs.update({"type": "search", "placeholder": "Name, District ID, username or email"})

    def filters(self) -> UserFilters:
        if not self.is_valid():
            return UserFilters()
        data = self.cleaned_data
        return UserFilters(
            q=data["q"], school_id=data["school"], user_type=data["user_type"], grade=data["grade"],
            active={"yes": True, "no": False}.get(data["active"]),
        )


# The User Data fields a hand edit shows, in the declaration's order: every field but a password.
EDIT_FIELDS = tuple(f for f in USER_DATA.stored_fields if not f.rule.secret)
HELP_TEXTS = {"grade": "Pre-K, K or 1-12; staff have none."}


def _model_field(field):
    return User._meta.get_field(field.stored_column)


def _form_field(field, schools) -> forms.CharField:
    """A text field checked by the field's import rule; a choice where the stored column is a choice."""
    # Not required at the form level: the import's rules say what is missing, in its words.
    widget = None
    stored = _model_field(field)
    if field.rule.lookup == "schools":
        widget = forms.Select(choices=[("", "—"), *((s.sis_id, f"{s.name} ({s.sis_id})") for s in schools)])
    elif isinstance(stored, models.BooleanField):
        widget = forms.Select(choices=YES_NO)
    elif stored.choices and not stored.blank:  # the User Type: one of its values, never blank
        widget = forms.Select(choices=stored.choices)
    elif field.key == "email":
        widget = forms.TextInput(attrs={"inputmode": "email", "autocomplete": "off"})
    label = "School" if field.rule.lookup == "schools" else field.heading
    return forms.CharField(required=False, strip=True, label=label, widget=widget, help_text=HELP_TEXTS.get(field.key, ""))


def _initial_text(field, user) -> str:
    """The stored value as an import file would spell it (the export's reading of it)."""
    if field.key == USER_DATA.match_field:
        return user.district_user_id or ""
    if field.rule.lookup == "schools":
        return user.school.sis_id if user.school_id else ""
    value = getattr(user, field.stored_column)
    if isinstance(value, bool):
        return "Y" if value else "N"
    if _model_field(field).choices and not _model_field(field).blank:
        return value  # a select's value is the stored one
    return field.rule.to_text(value)


def user_field_rows(user) -> list[tuple[str, str]]:
    """(heading, value as shown) for each User Data field of the user, in the declaration's order."""
    rows = []
    for field in EDIT_FIELDS:
        stored = _model_field(field)
        if field.rule.lookup == "schools":
            text = f"{user.school.name} ({user.school.sis_id})" if user.school_id else ""
            rows.append(("School", text or "—"))
            continue
        value = getattr(user, stored.attname)
        if isinstance(value, bool):
            text = "Yes" if value else "No"
        elif stored.choices:
            text = getattr(user, f"get_{stored.attname}_display")()
        else:
            text = _initial_text(field, user)
        rows.append((field.heading, text or "—"))
    return rows


class UserEditForm(forms.Form):
    """One user's User Data fields, named by their import keys and checked by the import's RowBuilder."""

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.schools = list(schools)
        for field in EDIT_FIELDS:
            self.fields[field.key] = _form_field(field, self.schools)

    @staticmethod
    def initial_for(user) -> dict:
        return {field.key: _initial_text(field, user) for field in EDIT_FIELDS}

    def clean(self):
        data = super().clean()
        plan = ColumnPlan(
            indexes={}, labels={key: USER_DATA.by_key[key].heading for key in self.fields if key in USER_DATA.by_key},
            fixed={key: data.get(key) or "" for key in self.fields}, missing=(),
        )
        builder = RowBuilder(file_name="", plan=plan, school_mapping={s.sis_id: s.id for s in self.schools}, spec=USER_DATA)
        self.row = builder.build(0, [])
        for issue in self.row.issues:
            field = issue.field if issue.field in self.fields else None
            self.add_error(field, f"{issue.message} {issue.suggestion}".strip())
        return data

    def values(self) -> dict:
        """What user_update stores; a blank here clears the stored value (unlike a blank import cell)."""
        values = {}
        for field in USER_DATA.fields:
            column = field.stored_column
            if field.key in self.fields and column in self.row.values:
                value = self.row.values[column]
                stored = User._meta.get_field(column)
                if value in (None, "") and not stored.blank:
                    continue  # a column that cannot be blank (the username) keeps its value
                values[column] = stored.get_default() if value is None else value
        values["district_user_id"] = self.row.district_id
        return values


class GroupNameForm(forms.Form):
    name = forms.CharField(required=False, label="Group name", max_length=1000)


class MemberAddForm(forms.Form):
    identifier = forms.CharField(required=False, label="District ID or username", max_length=200)
