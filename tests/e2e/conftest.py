"""A real Chromium driving the web UI served by pytest-django's live server.

The browser stays on loopback: every host name but 127.0.0.1 fails to resolve and anything that
would leave through a proxy goes to a closed local port.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, expect, sync_playwright

from snapshots.capture_jobs.engine_config import chromium_path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
]
TIMEOUT_MS = 8_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="package")
def browser(django_db_setup) -> Iterator[Browser]:
    """One browser for the e2e package.

    Playwright's sync API keeps an event loop running in this thread while it is open, which
    Django's async-safety check would take for async code calling the ORM. The test thread only
    uses the ORM between browser calls, so the check is lifted for exactly as long as the browser
    is open (closed after this package, so later tests run with the loop gone and the check back on).
    The configured Chromium (the capture worker's) is used; without it the root conftest skips e2e tests.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def base_url(live_server) -> str:
    # 127.0.0.1 rather than "localhost": the resolver rules above only let that address through.
    return f"http://127.0.0.1:{live_server.thread.port}"


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def alice_page(page: Page, alice, base_url: str) -> Page:
    """A tab where alice is logged in (the login form itself has its own test)."""
    client = Client()
    client.force_login(alice)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}])
    return page
