"""Sign-in throttling on the web login and the API token endpoint: per user, per address, admin unlock."""
import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
LIMIT = 5


def _web_login(username: str, password: str, ip: str = "127.0.0.1"):
    return Client(REMOTE_ADDR=ip).post(reverse("login"), {"username": username, "password": password})


def _token(username: str, password: str, ip: str = "127.0.0.1"):
    return APIClient(REMOTE_ADDR=ip).post("/api/auth/token/", {"username": username, "password": password},
                                          format="json")


def test_web_login_locks_a_user_name_after_the_limit(alice, settings):
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    for attempt in range(LIMIT - 1):
        assert _web_login("alice", "wrong", ip=f"127.0.1.{attempt}").status_code == 200
    locked = _web_login("alice", "wrong", ip="127.0.1.99")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # The right password from yet another address is refused too: the user name is locked.
    right = _web_login("alice", PASSWORD, ip="127.0.2.1")
    assert right.status_code == 429 and "_auth_user_id" not in right.client.session


def test_one_address_is_locked_across_user_names(alice, bob):
    for name in ["x1", "x2", "x3", "x4", "x5"]:
        _web_login(name, "wrong", ip="127.0.3.3")
    assert _web_login("bob", PASSWORD, ip="127.0.3.3").status_code == 429
    assert _web_login("bob", PASSWORD, ip="127.0.3.4").status_code == 302


def test_api_token_endpoint_is_throttled_with_a_clear_message(alice):
    for _ in range(LIMIT - 1):
        assert _token("alice", "wrong").status_code == 400
    locked = _token("alice", "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.json()["detail"]
    assert _token("alice", PASSWORD, ip="127.0.4.4").status_code == 429


def test_success_before_the_limit_resets_the_count(alice):
    for _ in range(LIMIT - 1):
        _token("alice", "wrong")
    assert _token("alice", PASSWORD).status_code == 200
    assert _token("alice", "wrong").status_code == 400


def test_admin_unlocks_by_deleting_the_attempt(alice, client):
    for _ in range(LIMIT):
        _token("alice", "wrong")
    assert _token("alice", PASSWORD).status_code == 429
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    ids = list(AccessAttempt.objects.values_list("pk", flat=True))
    answer = client.post(reverse("admin:axes_accessattempt_changelist"),
                         {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert answer.status_code == 302
    assert _token("alice", PASSWORD).status_code == 200
