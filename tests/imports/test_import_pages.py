"""Import and export through the web pages and the REST API, owner-checked."""
import pytest
from rest_framework.test import APIClient

from imports import runner
from imports.models import ImportJob
from snapshots.models import Link
from tests.api.conftest import token_client
from tests.imports.conftest import upload
from tests.imports.files import anchor, many, netscape

pytestmark = pytest.mark.django_db


def test_upload_page_starts_a_job_and_progress_polls_until_done(alice_client, alice):
    response = alice_client.post("/import/", {"file": upload(many(3)), "folders_as_tags": "on"})
    job = ImportJob.objects.get(user=alice)
    assert response.status_code == 302 and response["Location"] == f"/import/{job.pk}/"
    assert job.folders_as_tags
    page = alice_client.get(f"/import/{job.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and "Pending" in page
    runner.run_import(job.pk)
    polled = alice_client.get(f"/import/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert polled.status_code == 286  # htmx stops polling
    body = polled.content.decode()
    assert "<strong data-done>3</strong>" in body and "every 1s" not in body


def test_upload_page_shows_why_a_file_is_refused(alice_client):
    response = alice_client.post("/import/", {"file": upload(b"just text", "notes.txt")})
    assert response.status_code == 400
    assert "neither a Netscape bookmark HTML file nor a Linkshot JSON export" in response.content.decode()


def test_progress_lists_skipped_entries_with_reasons(alice_client, alice, import_file):
    job = import_file(alice, netscape(anchor("http://10.0.0.1/"), anchor("https://ok.example/")))
    body = alice_client.get(f"/import/{job.pk}/").content.decode()
    assert "This address cannot be captured" in body and "10.0.0.1" in body


def test_other_peoples_imports_answer_404(alice, bob, import_file, bob_client):
    job = import_file(alice, many(1))
    assert bob_client.get(f"/import/{job.pk}/").status_code == 404
    assert bob_client.get(f"/import/{job.pk}/progress/").status_code == 404
    assert token_client(bob).get(f"/api/imports/{job.pk}/").status_code == 404


def test_export_downloads(alice_client, alice, import_file):
    import_file(alice, many(2))
    response = alice_client.get("/import/export/html/")
    assert response["Content-Disposition"].endswith('.html"')
    assert b"<!DOCTYPE NETSCAPE-Bookmark-file-1>" in b"".join(response.streaming_content)


def test_api_upload_progress_and_export(alice):
    api = token_client(alice)
    response = api.post("/api/imports/", {"file": upload(many(4)), "folders_as_tags": "true"}, format="multipart")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    runner.run_import(response.json()["id"])
    job = api.get(f"/api/imports/{response.json()['id']}/").json()
    assert (job["status"], job["total"], job["done"], job["imported"]) == ("done", 4, 4, 4)
    exported = api.get("/api/export/?type=json")
    assert exported.status_code == 200 and b'"links"' in b"".join(exported.streaming_content)
    assert api.get("/api/export/?type=csv").status_code == 400
    assert Link.objects.filter(user=alice).count() == 4


def test_api_refuses_a_non_bookmark_file_with_the_reason(alice):
    response = token_client(alice).post("/api/imports/", {"file": upload(b"\x00\x01binary")}, format="multipart")
    assert response.status_code == 400 and "binary file" in response.json()["file"][0]


def test_api_without_a_valid_token_is_401():
    anonymous = APIClient()
    anonymous.credentials(HTTP_AUTHORIZATION="Token nope")
    assert anonymous.get("/api/imports/").status_code == 401
