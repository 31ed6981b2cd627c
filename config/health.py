"""Health endpoint: database, broker and worker status as JSON."""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
import redis
from kombu import Connection

from config.celery import app as celery_app
from config.env import redis_cache_url
from tagging.analysis import jobs as analysis_jobs

log = logging.getLogger(__name__)
# The whole answer stays under 2 s: the broker check gets 1 s, the worker ping 0.5 s.
BROKER_TIMEOUT_S = 2.0


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # any driver error means "down"
        return False, f"{type(exc).__name__}: {exc}"


def _broker_ok() -> tuple[bool, str]:
    redis_url = redis_cache_url(settings.CELERY_BROKER_URL)
    if redis_url:
        return _redis_ok(redis_url)
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_S,
                        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
        return True, "ok"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


def _redis_ok(url: str) -> tuple[bool, str]:
    """PING with short socket timeouts: a hung Redis accepts connections but never answers."""
    client = redis.Redis.from_url(url, socket_timeout=BROKER_TIMEOUT_S / 2,
                                  socket_connect_timeout=BROKER_TIMEOUT_S / 2)
    try:
        client.ping()
        return True, "ok"
    except redis.TimeoutError:
        return False, f"Redis did not answer within {BROKER_TIMEOUT_S / 2:.1f} s (hung or overloaded)"
    except redis.RedisError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        client.close()


def _workers() -> list[str]:
    """Names of workers answering a ping; an empty list is reported, not treated as an outage."""
    try:
        replies = celery_app.control.ping(timeout=0.5) or []
    except Exception as exc:
        log.info("worker ping failed: %s", exc)
        return []
    return sorted(name for reply in replies for name in reply)


def _analyses() -> dict:
    """Tag-suggestion backlog: a down inference worker shows as a growing age, not as an outage."""
    try:
        return analysis_jobs.backlog()
    except Exception as exc:  # the database check reports the cause
        return {"error": f"{type(exc).__name__}: {exc}"}


def healthz(request):
    db_ok, db_detail = _database_ok()
    broker_ok, broker_detail = _broker_ok()
    workers = _workers() if broker_ok else []
    body = {
        "status": "ok" if db_ok and broker_ok else "error",
        "database": db_detail,
        "broker": broker_detail,
        "workers": {"count": len(workers), "names": workers},
        "analyses": _analyses() if db_ok else {},
    }
    return JsonResponse(body, status=200 if db_ok and broker_ok else 503)
