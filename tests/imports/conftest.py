"""Helpers for the import tests: upload a file for a person and run its job right here."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from imports import runner, services
from imports.models import ImportJob


def upload(data: bytes, name: str = "bookmarks.html") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/html")


def run_file(user, data: bytes, name: str = "bookmarks.html", folders_as_tags: bool = False) -> ImportJob:
    job = services.start_import(user, upload(data, name), folders_as_tags=folders_as_tags)
    runner.run_import(job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def import_file():
    return run_file


@pytest.fixture
def bob_client(bob):
    client = Client()
    client.force_login(bob)
    return client
