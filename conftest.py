"""Shared fixtures (named users and their logged-in clients) and the rules that skip tests."""
from pathlib import Path

import pytest
from django.db import connection

from snapshots.capture_jobs.engine_config import chromium_path
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from tests.factories import make_user


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with no cached list rows (ids repeat between tests once rolled back)."""
    yield
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    try:  # only this run's keys: the same Redis holds the broker's queues
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # nothing could have been cached either


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def pytest_collection_modifyitems(config, items) -> None:
    """One rule for each thing a test may need that this machine may lack, each with its reason."""
    browser = chromium_path()
    no_browser = None if Path(browser).exists() else pytest.mark.skip(reason=f"Chromium not found at {browser}")
    not_postgres = (None if connection.vendor == "postgresql"
                    else pytest.mark.skip(reason="needs Postgres: runs in the Postgres pass"))
    for item in items:
        if no_browser and (item.get_closest_marker("chromium") or item.get_closest_marker("e2e")):
            item.add_marker(no_browser)
        if not_postgres and item.get_closest_marker("postgres"):
            item.add_marker(not_postgres)
