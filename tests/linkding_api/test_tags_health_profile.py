"""linkding's /health, /api/tags/ and /api/user/profile/, beside Linkshot's own tag fields."""
import pytest

from tagging.models import Tag
from tests.factories import make_link

pytestmark = pytest.mark.django_db


def test_health_reports_the_linkding_api_level(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"version": "1.46.2", "status": "healthy"}


def test_tags_in_linkdings_shape_with_limit_offset(alice_api, alice):
    for name in ("alpha", "beta", "gamma"):
        Tag.objects.create(user=alice, name=name)
    body = alice_api.get("/api/tags/?limit=2").json()
    assert body["count"] == 3 and body["next"] == "http://testserver/api/tags/?limit=2&offset=2"
    assert body["previous"] is None
    first = body["results"][0]
    assert {"id", "name", "date_added"} <= set(first) and first["name"] == "alpha"
    assert first["date_added"] == first["created_at"]
    assert [t["name"] for t in alice_api.get("/api/tags/?limit=2&offset=2").json()["results"]] == ["gamma"]


def test_linkshot_tag_fields_and_pages_still_work(alice_api, alice):
    make_link(alice, "https://example.com/", tags=["alpha"])
    body = alice_api.get("/api/tags/?page_size=1").json()
    assert body["results"][0]["link_count"] == 1 and body["count"] == 1


def test_retrieve_and_create_tag(alice_api, bob_api, alice):
    created = alice_api.post("/api/tags/", {"name": "example"}, format="json")
    assert created.status_code == 201 and created.json()["name"] == "example" and "date_added" in created.json()
    tag_id = created.json()["id"]
    assert alice_api.get(f"/api/tags/{tag_id}/").json()["name"] == "example"
    assert bob_api.get(f"/api/tags/{tag_id}/").status_code == 404


def test_user_profile_has_linkdings_documented_fields(alice_api):
    body = alice_api.get("/api/user/profile/").json()
    assert {"theme", "bookmark_date_display", "bookmark_link_target", "web_archive_integration", "tag_search",
            "enable_sharing", "enable_public_sharing", "enable_favicons", "display_url", "permanent_notes",
            "search_preferences"} <= set(body)
    assert set(body["search_preferences"]) == {"sort", "shared", "unread"}
