"""A small HTTP load driver: N threads with keep-alive connections, bounded requests and time."""
from __future__ import annotations

import http.client
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    def row(self) -> dict:
        count = len(self.latencies)
        return {
            "scenario": self.name,
            "requests": count,
            "errors": sum(self.errors.values()),
            "p50_ms": round(self.percentile(50) * 1000, 1),
            "p95_ms": round(self.percentile(95) * 1000, 1),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 1) if count else float("nan"),
            "rps": round(count / self.wall, 1) if self.wall else 0.0,
            "error_kinds": dict(self.errors),
        }


class Session:
    """One keep-alive connection that carries a cookie jar (the login session)."""

    def __init__(self, host: str, port: int, cookies: dict[str, str] | None = None):
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.cookies = dict(cookies or {})

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        all_headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        data = None
        if body is not None:
            data = urlencode(body)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=data, headers=all_headers)
        response = self.conn.getresponse()
        payload = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        return response.status, response.headers, payload

    def close(self) -> None:
        self.conn.close()


def login(host: str, port: int, username: str, password: str) -> dict[str, str] | None:
    """Log in through the login form; the session cookies, or None if the form is not there."""
    session = Session(host, port)
    try:
        status, _, page = session.request("GET", "/accounts/login/")
        match = _CSRF_INPUT.search(page.decode("utf-8", "replace"))
        if status != 200 or not match:
            return None
        status, _, _ = session.request(
            "POST", "/accounts/login/",
            body={"username": username, "password": password, "csrfmiddlewaretoken": match.group(1)},
            headers={"Referer": f"http://{host}:{port}/accounts/login/"},
        )
        return session.cookies if status in (302, 303) and "sessionid" in session.cookies else None
    finally:
        session.close()


def drive(name: str, host: str, port: int, cookies: dict[str, str], paths: list[str], clients: int,
          total_requests: int, max_seconds: float, warmup: int = 2) -> Result:
    """Send ``total_requests`` GETs cycling over ``paths`` from ``clients`` threads."""
    result = Result(name)
    lock = threading.Lock()
    counter = iter(range(total_requests))
    clock: dict[str, float] = {}

    def start_clock() -> None:  # runs once, when every client has warmed up
        clock["start"] = time.monotonic()
        clock["deadline"] = clock["start"] + max_seconds

    def worker(worker_id: int) -> None:
        session = Session(host, port, cookies)
        try:
            for i in range(warmup):
                session.request("GET", paths[(worker_id + i) % len(paths)])
            barrier.wait()
            while time.monotonic() < clock["deadline"]:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                _timed_get(session, paths[index % len(paths)], result, lock)
        finally:
            session.close()

    barrier = threading.Barrier(clients + 1, action=start_clock, timeout=120)
    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    for thread in threads:
        thread.join()
    result.wall = time.monotonic() - clock["start"]
    return result


def _timed_get(session: Session, path: str, result: Result, lock: threading.Lock) -> None:
    began = time.perf_counter()
    try:
        try:
            status, _, _ = session.request("GET", path)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed an idle keep-alive connection; a browser would reconnect and retry.
            session.conn.close()
            began = time.perf_counter()
            status, _, _ = session.request("GET", path)
    except (OSError, http.client.HTTPException) as error:
        kind = type(error).__name__
        session.conn.close()
    else:
        kind = None if status == 200 else f"HTTP {status}"
    elapsed = time.perf_counter() - began
    with lock:
        if kind is None:
            result.latencies.append(elapsed)
        else:
            result.errors[kind] = result.errors.get(kind, 0) + 1
