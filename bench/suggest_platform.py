"""A whole Linkshot for benchmarks: `./linkshot up`'s launcher on a fresh data dir, driven over REST.

Used by bench/suggest_eval.py. Everything stays on loopback: the platform listens on 127.0.0.1,
the pages come from a local server, and every name is resolved offline (IP literals and localhost only).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.process_tree import smaps_rollup

ROOT = Path(__file__).resolve().parent.parent
# Every name the platform looks up (submission checks, the capture egress proxy) goes to a resolver
# that knows only IP literals and localhost, so nothing is looked up or reached off the machine.
OFFLINE_RESOLVER = "tests.support.offline_dns.getaddrinfo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Platform:
    """The launcher's web + worker + beat + private Redis, on its own data dir and port."""

    def __init__(self, data_dir: Path, allowed_private: str, env: dict[str, str] | None = None,
                 root: Path = ROOT):
        # root: the checkout whose code runs (bench/worker_memory.py runs main's beside this one).
        self.data_dir, self.port, self.root = data_dir, free_port(), root
        self.env = {**os.environ, "LINKSHOT_DATA_DIR": str(data_dir), "LINKSHOT_PORT": str(self.port),
                    "LINKSHOT_ALLOWED_PRIVATE_HOSTS": allowed_private, "LINKSHOT_DNS_RESOLVER": OFFLINE_RESOLVER,
                    "LINKSHOT_ADMIN_PASSWORD": "bench-admin-password",
                    "LINKSHOT_MODELS_DIR": os.environ.get("LINKSHOT_MODELS_DIR", str(ROOT / "data" / "models")),
                    **(env or {})}
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"):
            self.env.pop(name, None)
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> None:
        log = (self.data_dir / "platform.log").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "config.launcher", "up"], cwd=self.root, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Linkshot exited; see {self.data_dir / 'platform.log'}")
            try:
                if self.call("GET", "/healthz").get("workers", {}).get("count"):
                    return
            except (OSError, ValueError):
                pass
            time.sleep(1)
        raise RuntimeError("Linkshot did not become healthy in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def memory_mb(self) -> dict[str, dict[str, float]]:
        """RSS and PSS (shared pages divided among sharers) of the platform's processes, by role."""
        roles: dict[str, dict[str, float]] = {}
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if os.getsid(int(proc.name)) != self.proc.pid:
                    continue
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                rollup = smaps_rollup(int(proc.name))
            except (OSError, ProcessLookupError, ValueError):
                continue
            role = _role(command)
            entry = roles.setdefault(role, {"processes": 0, "rss_mb": 0.0, "pss_mb": 0.0})
            entry["processes"] += 1
            entry["rss_mb"] += rollup["Rss"] / 1024
            entry["pss_mb"] += rollup["Pss"] / 1024
        return {role: {k: round(v, 1) for k, v in entry.items()} for role, entry in roles.items()}

    def create_user(self, username: str, password: str) -> str:
        """A person account (manage.py, as an admin would) and its API token (REST)."""
        code = ("from django.contrib.auth import get_user_model as g; import sys; "
                f"g().objects.filter(username={username!r}).exists() or "
                f"g().objects.create_user({username!r}, password={password!r})")
        subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=self.root, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)
        return self.call("POST", "/api/auth/token/", {"username": username, "password": password})["token"]

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            if error.code == 503 and path == "/healthz":
                return {}
            raise RuntimeError(f"{method} {path}: {error.code} {error.read()[:300]!r}") from None

    def all_links(self, token: str) -> list[dict]:
        links, page = [], 1
        while True:
            got = self.call("GET", f"/api/links/?page_size=200&page={page}", token=token)
            links += got["results"]
            if not got.get("next"):
                return links
            page += 1


def _role(command: str) -> str:
    if "celery" in command and " worker" in command:
        return "worker"
    if "celery" in command and " beat" in command:
        return "beat"
    for role in ("chrom", "gunicorn", "redis-server", "config.launcher"):
        if role in command:
            return {"chrom": "chromium", "config.launcher": "launcher"}.get(role, role)
    return "other"
