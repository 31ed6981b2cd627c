"""Shared fixtures: named users and their logged-in clients."""
import pytest
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
