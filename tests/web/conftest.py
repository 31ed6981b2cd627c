"""Fixtures for the web page tests: a second logged-in person and a helper for messages."""
import re

import pytest
from django.test import Client


@pytest.fixture
def bob_client(bob):
    client = Client()
    client.force_login(bob)
    return client


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def listed_link_ids(response) -> list[int]:
    """Ids of the link rows a list page shows, in order (read from the HTML, cached rows included)."""
    return [int(pk) for pk in re.findall(r'<li class="link-row[^"]*" data-link-id="(\d+)"', response.content.decode())]
