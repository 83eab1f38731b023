"""Map Fields: one column may feed several fields, and no match undoes another without saying so."""
import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.models import ImportJob
from users.tests.factories import PASSWORD, make_admin, make_district

FILE = (
    "First Name,Last Name,District ID,User Type,Login,School SIS ID,Staff Email\r\n"
    "Grace,Hopper,T-1,1,grace@springfield.example.org,101,\r\n"
).encode("utf-8")


@pytest.fixture
def admin_client(client):
    district = make_district()
    make_admin(district, username="dadmin")
    client.login(username="dadmin", password=PASSWORD)
    client.district = district
    return client


def _draft(client) -> ImportJob:
    client.post(reverse("imports:start"), {"import_type": "user_data", "files": SimpleUploadedFile("staff.csv", FILE)})
    return ImportJob.objects.get(district=client.district)


def _match(client, job, key, column):
    return client.post(reverse("imports:fields", args=[job.number]), {"action": "match", "field": key, "column": column}, follow=True)


@pytest.mark.django_db
def test_a_username_that_is_also_the_email_address_feeds_both_fields(admin_client):
    job = _draft(admin_client)

    _match(admin_client, job, "username", "Login")
    page = _match(admin_client, job, "email", "Login").content.decode()

    job.refresh_from_db()
    assert (job.field_mapping["username"], job.field_mapping["email"]) == ("Login", "Login")
    assert "The column “Login” feeds Email Address and also Username." in page
    assert "feeds Email Address, Username" in page  # the column list says what it feeds


@pytest.mark.django_db
def test_rematching_a_field_says_which_column_it_no_longer_reads(admin_client):
    job = _draft(admin_client)
    _match(admin_client, job, "email", "Staff Email")

    page = _match(admin_client, job, "email", "Login").content.decode()

    job.refresh_from_db()
    assert job.field_mapping["email"] == "Login"
    assert "Email Address now reads the column “Login” instead of “Staff Email”." in page
