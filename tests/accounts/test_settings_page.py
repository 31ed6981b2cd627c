"""The settings page: API token, password, bookmarklet, capture settings, feed token, import/export links."""
import html

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from snapshots.capture_jobs.queue import recapture_interval_days
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_page_shows_token_bookmarklet_feeds_and_forms(alice_client, alice):
    body = alice_client.get("/settings/").content.decode()
    token = Token.objects.get(user=alice).key
    assert f'value="{token}"' in body and 'data-copy="#api-token"' in body
    assert "href=\"javascript:(function(){window.open('http://testserver/add/?url='" in html.unescape(body)
    assert "/feeds/" in body and "/rss/" in body and "/atom/" in body
    assert 'action="/import/"' in body and "/import/export/json/" in body
    assert 'name="old_password"' in body and 'name="recapture_interval_days"' in body


def test_regenerating_the_api_token_retires_the_old_one(alice_client, alice):
    alice_client.get("/settings/")
    old = Token.objects.get(user=alice).key
    assert alice_client.post("/settings/api-token/").status_code == 302
    new = Token.objects.get(user=alice).key
    assert new != old
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api.get("/api/links/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api.get("/api/links/").status_code == 200


def test_password_change_keeps_the_session(alice_client, alice):
    response = alice_client.post("/settings/password/", {
        "old_password": PASSWORD, "new_password1": "a much newer secret 42", "new_password2": "a much newer secret 42"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a much newer secret 42")
    assert alice_client.get("/settings/").status_code == 200


def test_wrong_old_password_is_refused_with_a_message(alice_client, alice):
    response = alice_client.post("/settings/password/", {
        "old_password": "wrong", "new_password1": "a much newer secret 42", "new_password2": "a much newer secret 42"})
    assert response.status_code == 400 and "incorrectly" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_capture_interval_is_saved_and_cleared(alice_client, alice):
    alice_client.post("/settings/capture/", {"recapture_interval_days": "7"})
    assert recapture_interval_days(alice) == 7
    assert 'value="7"' in alice_client.get("/settings/").content.decode()
    bad = alice_client.post("/settings/capture/", {"recapture_interval_days": "0"})
    assert bad.status_code == 400 and recapture_interval_days(alice) == 7
    alice_client.post("/settings/capture/", {"recapture_interval_days": ""})
    assert recapture_interval_days(alice) is None


def test_settings_need_a_login(client):
    assert client.get("/settings/").status_code == 302
    assert client.post("/settings/api-token/").status_code == 302


def test_bookmarklet_prefills_the_add_form(alice_client):
    body = alice_client.get("/add/?url=https%3A%2F%2Fexample.com%2Fx&title=Example").content.decode()
    assert 'value="https://example.com/x"' in body and 'value="Example"' in body
