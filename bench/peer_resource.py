"""The peer: django-import-export 4.x importing our user file, set up for its best speed.

The benchmark runs this resource on the same files as our engine so the two can be compared
row for row. It does the minimum our import does for a row (map the headings, turn User Type,
Grade and the Y/N flags into stored values, find the school, name new users) and no more:
none of our checks (duplicates, email owners, lengths, leading zeros) are repeated here.

Its settings are the ones its documentation recommends for large files:

- ``use_bulk`` with ``batch_size = 1000``: new and changed rows are written with
  ``bulk_create`` / ``bulk_update`` a thousand at a time instead of one ``save()`` per row;
- ``skip_unchanged`` with ``report_skipped = False``: an identical row is not written and not
  kept in the result;
- ``skip_html_diff``: no HTML diff is rendered per row;
- ``CachedInstanceLoader``: existing users are loaded in one query instead of one per row. It
  supports a single ``import_id_fields`` entry, so the match is on District ID and the
  district is fixed by ``get_queryset`` (only this district's users can match);
- the School SIS ID column is resolved from a dict built once, in place of a
  ``ForeignKeyWidget`` that would query the schools table for every row.
"""
import secrets

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from import_export import resources, widgets
from import_export.fields import Field
from import_export.instance_loaders import CachedInstanceLoader

from imports.services.writers import base_username
from schools.models import District, School
from users.models import User

TRUE_WORDS = frozenset({"y", "yes", "1", "true"})
GRADES = frozenset({"PK", "K", *(str(n) for n in range(1, 13))})


class UserTypeWidget(widgets.Widget):
    """0 or Student -> "student", 1 or Staff -> "staff"."""

    VALUES = {"0": "student", "student": "student", "1": "staff", "staff": "staff"}

    def clean(self, value, row=None, **kwargs):
        try:
            return self.VALUES[(value or "").strip().casefold()]
        except KeyError:
            raise ValueError(f"Unknown user type {value!r}.") from None


class GradeWidget(widgets.Widget):
    """PK, K or 1-12 (a leading zero is dropped); blank stays blank."""

    def clean(self, value, row=None, **kwargs):
        text = (value or "").strip().upper()
        if text.isdecimal():
            text = str(int(text))
        if text and text not in GRADES:
            raise ValueError(f"Unknown grade {value!r}.")
        return text


class FlagWidget(widgets.Widget):
    """Y/Yes/1/True -> True; anything else, blank included, -> False."""

    def clean(self, value, row=None, **kwargs):
        return (value or "").strip().casefold() in TRUE_WORDS


class SchoolIdWidget(widgets.Widget):
    """School SIS ID -> school id, from a dict of the district's schools built once."""

    def __init__(self, ids_by_sis_id: dict[str, int]):
        super().__init__()
        self.ids_by_sis_id = ids_by_sis_id

    def clean(self, value, row=None, **kwargs):
        try:
            return self.ids_by_sis_id[(value or "").strip()]
        except KeyError:
            raise ValueError(f"Unknown school {value!r}.") from None


def _text(column: str, attribute: str) -> Field:
    return Field(attribute=attribute, column_name=column, widget=widgets.CharWidget(allow_blank=True))


class PeerUserResource(resources.ModelResource):
    """Users of one district, matched by District ID, from a file with our sample headings."""

    first_name = _text("First Name", "first_name")
    middle_name = _text("Middle Name", "middle_name")
    last_name = _text("Last Name", "last_name")
    district_user_id = _text("District ID", "district_user_id")
    user_type = Field(attribute="user_type", column_name="User Type", widget=UserTypeWidget())
    grade = Field(attribute="grade", column_name="Grade", widget=GradeWidget())
    email = _text("Email Address", "email")
    # The widget is replaced per district in __init__, with that district's schools.
    school = Field(attribute="school_id", column_name="School SIS ID", widget=SchoolIdWidget({}))
    state_user_id = _text("State User ID", "state_user_id")
    alternate_user_id = _text("Alternate User ID", "alternate_user_id")
    limited_english = Field(attribute="limited_english", column_name="Limited English", widget=FlagWidget())
    economically_disadvantaged = Field(
        attribute="economically_disadvantaged", column_name="Economically Disadvantaged", widget=FlagWidget()
    )

    class Meta:
        model = User
        fields = (
            "first_name", "middle_name", "last_name", "district_user_id", "user_type", "grade", "email",
            "school", "state_user_id", "alternate_user_id", "limited_english", "economically_disadvantaged",
        )
        import_id_fields = ("district_user_id",)
        instance_loader_class = CachedInstanceLoader
        use_bulk = True
        batch_size = 1000
        skip_unchanged = True
        report_skipped = False
        skip_html_diff = True
        clean_model_instances = False

    def __init__(self, *, district: District, **kwargs):
        super().__init__(**kwargs)
        self.district = district
        schools = dict(School.objects.filter(district=district).values_list("sis_id", "id"))
        self.fields["school"].widget = SchoolIdWidget(schools)

    def get_queryset(self):
        # Only this district's users can match: tenancy, and the second half of the natural key.
        return User.objects.filter(district=self.district)

    def init_instance(self, row=None):
        """A new user of the district, named by the same rule as our import, unable to sign in until set up."""
        district_user_id = (row or {}).get("District ID", "").strip()
        return User(
            district=self.district,
            username=base_username(self.district.slug, district_user_id),
            # What our import stores for a user without a password in the file.
            password=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30),
        )
