"""Forms of the Users and Groups tabs. A hand edit is checked by the import's own row rules."""
from django import forms

from imports.pipeline import normalize
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


def _text(key: str, **kwargs) -> forms.CharField:
    # Not required at the form level: the import's rules say what is missing, in its words.
    return forms.CharField(required=False, strip=True, label=USER_DATA.by_key[key].heading, **kwargs)


class UserEditForm(forms.Form):
    """One user's import fields, named by their import keys and checked by the import's RowBuilder."""

    first_name = _text("first_name")
    middle_name = _text("middle_name")
    last_name = _text("last_name")
    district_id = _text("district_id")
    user_type = _text("user_type", widget=forms.Select(choices=[(normalize.STUDENT, "Student"), (normalize.STAFF, "Staff")]))
    grade = _text("grade", help_text="Pre-K, K or 1-12; staff have none.")
    email = _text("email", widget=forms.TextInput(attrs={"inputmode": "email", "autocomplete": "off"}))
    school_sis_id = _text("school_sis_id")
    state_user_id = _text("state_user_id")
    alternate_user_id = _text("alternate_user_id")
    limited_english = _text("limited_english", widget=forms.Select(choices=YES_NO))
    economically_disadvantaged = _text("economically_disadvantaged", widget=forms.Select(choices=YES_NO))

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.schools = list(schools)
        self.fields["school_sis_id"].label = "School"
        self.fields["school_sis_id"].widget = forms.Select(
            choices=[("", "—"), *((s.sis_id, f"{s.name} ({s.sis_id})") for s in self.schools)]
        )

    @staticmethod
    def initial_for(user) -> dict:
        return {
            "first_name": user.first_name, "middle_name": user.middle_name, "last_name": user.last_name,
            "district_id": user.district_user_id or "", "user_type": user.user_type,
            "grade": normalize.grade_display(user.grade), "email": user.email,
            "school_sis_id": user.school.sis_id if user.school_id else "",
            "state_user_id": user.state_user_id, "alternate_user_id": user.alternate_user_id,
            "limited_english": "Y" if user.limited_english else "N",
            "economically_disadvantaged": "Y" if user.economically_disadvantaged else "N",
        }

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
                values[column] = User._meta.get_field(column).get_default() if value is None else value
        values["district_user_id"] = self.row.district_id
        return values


class GroupNameForm(forms.Form):
    name = forms.CharField(required=False, label="Group name", max_length=1000)


class MemberAddForm(forms.Form):
    identifier = forms.CharField(required=False, label="District ID or username", max_length=200)
