"""The Schools tab: the signed-in admin's district's schools, and nobody else's."""

import re

import pytest
from django.urls import reverse

from users.tests.factories import make_admin, make_district, make_school

pytestmark = pytest.mark.django_db


def test_admin_sees_own_schools_and_none_of_another_district(client):
    district_a = make_district(name="Alpha District")
    district_b = make_district(name="Beta District")
    make_school(district_a, name="Alpha Elementary", sis_id="A-101")
    make_school(district_a, name="Alpha Middle", sis_id="A-201")
    make_school(district_b, name="Beta High", sis_id="B-301")
    client.force_login(make_admin(district_a))

    page = client.get(reverse("manage:schools")).content.decode()

    assert "Alpha Elementary" in page and "A-101" in page
    assert "Alpha Middle" in page and "A-201" in page
    assert "Beta High" not in page
    assert "B-301" not in page


def test_table_has_name_and_sis_id_columns_in_name_order(district_admin_client, district):
    make_school(district, name="Roosevelt HS", sis_id="301")
    make_school(district, name="First Street ES", sis_id="101")

    page = district_admin_client.get(reverse("manage:schools")).content.decode()

    assert '<th scope="col">School name</th>' in page
    assert '<th scope="col">SIS ID/code</th>' in page
    assert page.index("First Street ES") < page.index("Roosevelt HS")


def test_schools_tab_is_highlighted(district_admin_client):
    page = district_admin_client.get(reverse("manage:schools")).content.decode()

    current = re.findall(r'<a class="tab active" href="([^"]+)" aria-current="page">([^<]+)</a>', page)
    assert current == [(reverse("manage:schools"), "Schools")]
    assert f'href="{reverse("imports:history")}"' in page


def test_district_without_schools_sees_an_explanation(district_admin_client):
    page = district_admin_client.get(reverse("manage:schools")).content.decode()

    assert "No schools have been set up for your district yet." in page


def test_page_shows_admin_name_and_sign_out_is_a_post_form(district_admin_client):
    page = district_admin_client.get(reverse("manage:schools")).content.decode()

    assert "Dana Whitfield" in page
    assert "Manage Classworks" in page
    logout_form = rf'<form method="post" action="{reverse("logout")}">\s*<input type="hidden" name="csrfmiddleware'
    assert re.search(logout_form, page)


def test_sign_out_signs_the_admin_out(district_admin_client):
    response = district_admin_client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert district_admin_client.get(reverse("manage:schools")).status_code == 302
