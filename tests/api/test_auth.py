"""Token auth flow and the refusal of anonymous requests."""
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, make_link


def test_token_for_good_credentials_opens_the_api(alice):
    make_link(alice, "https://example.com/mine")
    client = APIClient()
    answer = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert answer.status_code == 200
    token = answer.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = client.get("/api/links/")
    assert listed.status_code == 200
    assert [link["url"] for link in listed.json()["results"]] == ["https://example.com/mine"]


def test_token_is_stable_across_logins_json_or_form(alice):
    client = APIClient()
    first = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    form = urlencode({"username": "alice", "password": PASSWORD})
    second = client.post("/api/auth/token/", form, content_type="application/x-www-form-urlencoded")
    assert first.json()["token"] == second.json()["token"]


def test_wrong_password_is_a_clear_400(alice):
    answer = APIClient().post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert answer.status_code == 400
    assert "Unable to log in" in str(answer.json())
    assert "token" not in answer.json()


def test_missing_password_names_the_field(alice):
    answer = APIClient().post("/api/auth/token/", {"username": "alice"}, format="json")
    assert answer.status_code == 400
    assert "password" in answer.json()


def test_bad_token_is_refused(alice):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/links/").status_code == 401


@pytest.mark.parametrize("method,path", [
    ("get", "/api/links/"), ("post", "/api/links/"), ("get", "/api/links/1/"),
    ("patch", "/api/links/1/"), ("delete", "/api/links/1/"), ("post", "/api/links/1/snapshot/"),
    ("get", "/api/links/1/snapshots/"), ("get", "/api/tags/"), ("post", "/api/tags/"),
    ("patch", "/api/tags/1/"), ("delete", "/api/tags/1/"), ("post", "/api/tags/1/merge/"),
])
def test_anonymous_requests_are_refused(db, method, path):
    answer = getattr(APIClient(), method)(path, {}, format="json")
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == "Token"


def test_logged_in_browser_session_can_read(alice, alice_client):
    make_link(alice, "https://example.com/s")
    assert alice_client.get("/api/links/").json()["count"] == 1


def test_session_writes_need_the_csrf_token(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    answer = client.post("/api/links/", {"url": "https://example.com/"}, format="json")
    assert answer.status_code == 403
    assert "CSRF" in answer.json()["detail"]
