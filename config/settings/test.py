"""Test settings: the same code paths, fast password hashing, media in a temp dir."""
import os
import tempfile
import uuid
from pathlib import Path

from config.env import tests_redis_url

# Before the base settings read it: the tests' Redis database, never the shared database 0.
os.environ["REDIS_URL"] = tests_redis_url()

from config.settings.base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A worker subprocess started by a test is handed the test's media dir so both see the same files.
MEDIA_ROOT = Path(os.environ.get("LINKSHOT_TEST_MEDIA_ROOT") or tempfile.mkdtemp(prefix="linkshot-media-"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The SQLite test database is a file next to the configured one (not in memory), so that a Celery
# worker subprocess started by a test can share it.
_db = DATABASES["default"]  # noqa: F405
if _db["ENGINE"].endswith("sqlite3") and _db["NAME"] not in ("", ":memory:"):
    _db["TEST"] = {"NAME": str(Path(_db["NAME"]).with_suffix(".test.sqlite3"))}

# No DNS queries leave the machine during tests: only IP literals and localhost resolve.
LINKSHOT_DNS_RESOLVER = "tests.support.offline_dns.getaddrinfo"

# Each test run keeps its cached list rows under its own prefix; a worker subprocess started by a
# test inherits it through the environment. conftest.py empties it between tests.
os.environ.setdefault("LINKSHOT_TEST_CACHE_PREFIX", f"linkshot-test-{uuid.uuid4().hex[:8]}")
CACHES["default"]["KEY_PREFIX"] = os.environ["LINKSHOT_TEST_CACHE_PREFIX"]  # noqa: F405
