"""The OpenAPI schema is valid and the docs pages load their assets from this server only."""
import re

import pytest
import yaml
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tests.factories import make_link


@pytest.fixture
def schema(db) -> dict:
    answer = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert answer.status_code == 200
    return answer.json()


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")


def test_schema_describes_every_endpoint(schema):
    assert {
        "/api/auth/token/", "/api/links/", "/api/links/{id}/", "/api/links/{id}/snapshot/",
        "/api/links/{id}/snapshots/", "/api/tags/", "/api/tags/{id}/", "/api/tags/{id}/merge/",
        "/api/snapshots/{id}/{asset}/",
    } <= set(schema["paths"])
    assert set(schema["paths"]["/api/links/"]) >= {"get", "post"}
    assert "put" not in schema["paths"]["/api/links/{id}/"]
    assert {"201", "200"} <= set(schema["paths"]["/api/links/"]["post"]["responses"])


def test_schema_documents_snapshot_and_suggestions(schema):
    link = schema["components"]["schemas"]["Link"]["properties"]
    assert link["suggestions"]["type"] == "array" and link["suggestions"]["description"]
    assert "Snapshot" in str(link["snapshot"])
    assert "urls" in schema["components"]["schemas"]["Snapshot"]["properties"]


def test_schema_as_yaml(db):
    answer = APIClient().get("/api/schema/")
    assert yaml.safe_load(answer.content)["info"]["title"] == "Linkshot API"


def test_docs_page_uses_no_external_urls(db, client):
    answer = client.get("/api/docs/")
    assert answer.status_code == 200
    html = answer.content.decode()
    sources = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', html)
    assert sources, "the page loads its scripts from somewhere"
    assert all(not re.match(r"^(https?:)?//", source) for source in sources), sources
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


def test_docs_assets_are_served(db, client):
    html = client.get("/api/docs/").content.decode()
    script = re.search(r'src="([^"]+swagger-ui-bundle\.js)"', html).group(1)
    assert client.get(script).status_code == 200


@pytest.mark.parametrize("path,expected", [
    ("/api/links/", "https://example.com/"), ("/api/links/{id}/", "https://example.com/"),
    ("/api/tags/", "link_count"), ("/api/links/{id}/snapshots/", "pending"),
])
def test_browsable_api_pages_render_for_a_logged_in_browser(alice, alice_client, path, expected):
    link = make_link(alice, "https://example.com/", tags=["web"])
    answer = alice_client.get(path.format(id=link.pk), HTTP_ACCEPT="text/html")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/html")
    assert expected in answer.content.decode()
