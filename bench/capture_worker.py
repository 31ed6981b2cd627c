"""The product's capture worker, measured as it runs: `./linkshot up`'s Celery worker command, real
Redis, a real database, LINKSHOT_CAPTURE_PAGES_IN_FLIGHT pages in flight per child.

Used by bench/capture.py --in-flight. Each row starts a fresh worker (the launcher's command, served
queues cut to the capture ones so tag analysis does not share its cores), warms both children's
browsers, then saves --pages snapshots at once (as many links saved in a burst, or an import) and
times from the first message sent to the last snapshot finished, from the rows' own timestamps.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.process_tree import MemorySampler, tree_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
CAPTURE_QUEUES = "capture,capture_bulk"
READY_TIMEOUT_S = 90
ROW_TIMEOUT_S = 900


def setup_django(database_url: str, redis_url: str, site) -> Path:
    """Django in this process against the bench database (migrated), the worker's environment."""
    data_dir = Path(tempfile.mkdtemp(prefix="linkshot-bench-worker-"))
    os.environ.update(worker_environment(database_url, redis_url, site, data_dir))
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    return data_dir


def worker_environment(database_url: str, redis_url: str, site, data_dir: Path) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url,
        "LINKSHOT_DATA_DIR": str(data_dir),
        "LINKSHOT_ALLOWED_PRIVATE_HOSTS": ",".join(site.allowed_private),
        # Every name resolves offline: the heavy pages' other hosts do not exist, *.lo.test is loopback.
        "LINKSHOT_DNS_RESOLVER": "tests.support.offline_dns.getaddrinfo_with_loopback_names",
        "LINKSHOT_CACHE_URL": "",
    }


class ProductWorker:
    """The launcher's worker command as a subprocess with LINKSHOT_CAPTURE_PAGES_IN_FLIGHT set."""

    def __init__(self, data_dir: Path, pages_in_flight: int) -> None:
        from config.launcher import services
        command = services(8000, data_dir)["worker"]
        command[command.index("-Q") + 1] = CAPTURE_QUEUES
        self.command = [*command, "--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.log_path = data_dir / f"worker-{pages_in_flight}-{time.time():.0f}.log"
        self.env = {**os.environ, "LINKSHOT_CAPTURE_PAGES_IN_FLIGHT": str(pages_in_flight)}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while b" ready." not in self.log_path.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def _user():
    from django.contrib.auth import get_user_model
    user, _ = get_user_model().objects.get_or_create(username="capture-bench")
    return user


def _queue(urls: list[str]) -> list[int]:
    """One pending snapshot per URL, all rows written first, then every message sent."""
    from snapshots.capture_jobs import tasks
    from snapshots.models import Link, Snapshot
    user = _user()
    ids = [Snapshot.objects.create(link=Link.objects.create(user=user, url=url)).pk for url in urls]
    for snapshot_id in ids:
        tasks.send_capture(snapshot_id)
    return ids


def _wait_finished(ids: list[int], timeout_s: float) -> None:
    from snapshots.models import Snapshot
    deadline = time.monotonic() + timeout_s
    finished = (Snapshot.Status.DONE, Snapshot.Status.FAILED)
    while Snapshot.objects.filter(pk__in=ids).exclude(status__in=finished).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"snapshots still not finished after {timeout_s:g} s")
        time.sleep(0.2)


def _clean(redis_url: str) -> None:
    import redis
    from snapshots.models import Link
    Link.objects.filter(user=_user()).delete()
    redis.Redis.from_url(redis_url).flushdb()


def run_product_worker(site, urls: list[str], warm_urls: list[str], pages_in_flight: int, data_dir: Path,
                       redis_url: str) -> dict:
    """One row: a fresh worker, browsers warmed, then ``urls`` captured; the row's figures."""
    from snapshots.models import Snapshot
    _clean(redis_url)
    worker = ProductWorker(data_dir, pages_in_flight)
    worker.start()
    try:
        _wait_finished(_queue(warm_urls), ROW_TIMEOUT_S)
        sampler = MemorySampler()
        sampler.start()
        load_before, cpu_before = os.getloadavg()[0], tree_cpu_seconds(os.getpid())
        sent_at = time.time()
        ids = _queue(urls)
        _wait_finished(ids, ROW_TIMEOUT_S)
        cpu_after, load_after = tree_cpu_seconds(os.getpid()), os.getloadavg()[0]
        sampler.stopped.set()
    finally:
        worker.stop()
    rows = list(Snapshot.objects.filter(pk__in=ids).values("status", "attempts", "error", "finished_at", "timings"))
    last = max(row["finished_at"] for row in rows).timestamp()
    steps: dict[str, float] = {}
    for row in rows:
        for step, seconds in (row["timings"] or {}).items():
            steps[step] = steps.get(step, 0.0) + seconds / len(rows)
    return {
        "seconds": last - sent_at, "pages": len(rows), "cpu_seconds": cpu_after - cpu_before,
        "failures": [row["error"] for row in rows if row["status"] == Snapshot.Status.FAILED],
        "retried": sum(1 for row in rows if row["attempts"] > 1),
        "peak_bytes": sampler.peak, "peak_pss": sampler.peak_pss, "load": (load_before, load_after), "steps": steps,
        "most_in_flight": _most_in_flight(worker.log_path),
    }


def _most_in_flight(log_path: Path) -> int:
    """The most pages one child had open at once, from its log lines ("N page(s) open")."""
    most = 0
    for line in log_path.read_text(errors="replace").splitlines():
        if "page(s) open)" in line:
            most = max(most, int(line.split(" page(s) open)")[0].rsplit(" ", 1)[1]))
    return most


if __name__ == "__main__":
    sys.exit("run bench/capture.py --in-flight ...")
