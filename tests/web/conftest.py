"""Fixtures for the web page tests: a second logged-in person and a helper for messages."""
import pytest
from django.test import Client


@pytest.fixture
def bob_client(bob):
    client = Client()
    client.force_login(bob)
    return client


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]
