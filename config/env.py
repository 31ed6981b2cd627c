"""Typed environment helpers that fail loudly on malformed values."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """An environment variable is missing or malformed."""


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def parse_bool(raw: str) -> bool:
    """The one true/false reading of settings and query flags (any case, surrounding spaces ignored).

    Raises ValueError for anything else, so each caller can name the variable or parameter.
    """
    lowered = raw.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError(f"{raw!r} is not true or false")


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ConfigError(f"environment variable {name} is required")
    return value


def env_bool(name: str, default: bool | None = False) -> bool | None:
    """An empty or unset variable gives ``default``."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse_bool(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)") from None


def env_int(name: str, default: int | None) -> int | None:
    return _env_number(name, default, int, "an integer")


def env_float(name: str, default: float | None) -> float | None:
    return _env_number(name, default, float, "a number")


def _env_number(name: str, default, kind, what: str):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not {what}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default).expanduser().resolve()


def stored_secret_key(path: Path) -> str:
    """Return the per-install key kept in the data dir, creating it (mode 600) on first use."""
    if path.exists():
        return path.read_text().strip()

    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def redis_cache_url(broker_url: str) -> str:
    """The Redis a cache can share with this Celery broker URL, in redis-py's spelling; "" if none."""
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    if broker_url.startswith("redis+socket://"):  # kombu's unix socket form; redis-py says unix://
        return "unix://" + broker_url.removeprefix("redis+socket://")
    return ""


# The tests' own Redis database: never the machine's default database 0 a running Linkshot may use.
TESTS_REDIS_URL = "redis://127.0.0.1:6379/15"


def tests_redis_url() -> str:
    """REDIS_URL when set, else the tests' own database."""
    return os.environ.get("REDIS_URL") or TESTS_REDIS_URL
