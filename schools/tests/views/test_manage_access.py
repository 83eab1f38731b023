"""Who reaches the Manage pages: district admins only; others get 403, anonymous visitors sign in."""

import pytest
from django.urls import reverse

from users.models import UserType
from users.tests.factories import make_user

MANAGE_PAGES = ("manage:home", "manage:schools", "imports:history")
# manage:home is where sign-in lands: for anyone else it says what they can do here (not a 403).
REFUSED_PAGES = ("manage:schools", "imports:history")


@pytest.mark.django_db
@pytest.mark.parametrize("user_type", [UserType.STAFF, UserType.STUDENT])
def test_non_admin_landing_page_says_what_they_can_do(client, district, user_type):
    client.force_login(make_user(district, user_type=user_type))

    response = client.get(reverse("manage:home"))

    assert response.status_code == 200
    assert "What you can do" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", REFUSED_PAGES)
@pytest.mark.parametrize("user_type", [UserType.STAFF, UserType.STUDENT])
def test_non_admin_gets_403_on_every_manage_page(client, district, url_name, user_type):
    client.force_login(make_user(district, user_type=user_type))

    response = client.get(reverse(url_name))

    assert response.status_code == 403
    assert "have access to this page" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", REFUSED_PAGES)
def test_admin_flag_without_district_gets_403(client, url_name):
    client.force_login(make_user(None, user_type=UserType.STAFF, is_district_admin=True, district_user_id=None))

    assert client.get(reverse(url_name)).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", MANAGE_PAGES)
def test_anonymous_is_sent_to_sign_in(client, url_name):
    url = reverse(url_name)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_manage_classworks_opens_on_the_import_tab(district_admin_client):
    response = district_admin_client.get(reverse("manage:home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("imports:history")
