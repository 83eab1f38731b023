import pytest
from django.core.exceptions import ValidationError

from schools.models import School
from schools.services import school_upsert
from users.tests.factories import make_district

pytestmark = pytest.mark.django_db


def test_school_upsert_creates_then_renames():
    district = make_district()

    school, created = school_upsert(district=district, sis_id="101", name="First Street ES")
    again, created_again = school_upsert(district=district, sis_id="101", name="First Street Elementary")

    assert created is True and created_again is False
    assert again.pk == school.pk
    assert School.objects.get(pk=school.pk).name == "First Street Elementary"


def test_school_upsert_refuses_blank_name():
    with pytest.raises(ValidationError):
        school_upsert(district=make_district(), sis_id="101", name="")
