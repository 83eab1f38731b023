"""The Classes tab's forms; their school choices come from the district."""
from django import forms

from .models import RosterRole, SchoolClass


class ClassFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search by class name, SIS ID or teacher")
    school = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="School")

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = [("", "All schools"), *((s.pk, s.name) for s in schools)]

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {"search": self.cleaned_data["q"] or "", "school_id": self.cleaned_data["school"]}


class ClassForm(forms.ModelForm):
    class Meta:
        model = SchoolClass
        fields = ("name", "sis_id", "school", "course_name", "course_number", "subject", "term_name", "term_start", "term_end")
        widgets = {"term_start": forms.DateInput(attrs={"type": "date"}), "term_end": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools

    def validate_unique(self):
        """The district's uniqueness is the service's to check (the form does not know the district)."""


class MemberAddForm(forms.Form):
    district_id = forms.CharField(max_length=64, label="District ID")
    role = forms.ChoiceField(choices=RosterRole.choices, initial=RosterRole.STUDENT, label="As")
