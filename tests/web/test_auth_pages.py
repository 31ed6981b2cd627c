import pytest
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_and_login(client, alice):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and 'name="username"' in page.content.decode()
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response["Location"] == reverse("link-list")
    assert client.get(reverse("link-list")).status_code == 200


def test_wrong_password_says_so(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_is_a_post(alice_client):
    html = alice_client.get(reverse("link-list")).content.decode()
    assert f'action="{reverse("logout")}"' in html
    response = alice_client.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert alice_client.get(reverse("link-list")).status_code == 302


def test_login_redirects_back_to_the_page_asked_for(client, alice):
    response = client.get(reverse("tag-list"))
    assert response.status_code == 302
    response = client.post(response["Location"], {"username": "alice", "password": PASSWORD,
                                                  "next": reverse("tag-list")})
    assert response["Location"] == reverse("tag-list")
