"""The launcher behind ./linkshot: broker choice and the private Redis it may start."""
import os
import shutil
import subprocess
import sys

import pytest
import redis

from config import launcher

pytestmark = pytest.mark.no_postgres


def test_redis_url_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/5")
    assert launcher.choose_broker(tmp_path) == ("redis://127.0.0.1:6379/5", None)


def test_filesystem_transport_when_no_redis_exists(monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    assert launcher.choose_broker(tmp_path) == ("filesystem://", None)


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_private_redis_is_started_under_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    url, proc = launcher.choose_broker(tmp_path)
    try:
        assert url == f"redis+socket://{tmp_path / 'redis.sock'}"
        client = redis.Redis(unix_socket_path=str(tmp_path / "redis.sock"))
        assert client.ping()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_answers_detects_closed_port():
    assert not launcher.answers("redis://127.0.0.1:9/0", timeout=0.5)


def test_tests_use_their_own_redis_database(monkeypatch):
    from config.env import tests_redis_url
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert not tests_redis_url().endswith("/0")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/4")
    assert tests_redis_url() == "redis://127.0.0.1:6379/4"


def test_this_run_does_not_use_redis_database_0(settings):
    assert not settings.CELERY_BROKER_URL.rstrip("/").endswith("/0")


def _queues(command: list[str]) -> set[str]:
    return set(command[command.index("-Q") + 1].split(","))


def test_the_models_load_in_one_worker_child_of_their_own(tmp_path):
    commands = launcher.services(8000, tmp_path)
    inference = commands["inference"]
    assert _queues(inference) == {"inference"}
    assert inference[inference.index("--concurrency") + 1] == "1"
    assert "inference" not in _queues(commands["worker"])


def test_every_routed_queue_has_a_worker(tmp_path, settings):
    commands = launcher.services(8000, tmp_path)
    served = _queues(commands["worker"]) | _queues(commands["inference"])
    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} <= served


def test_the_capture_worker_runs_below_the_web_and_the_models_in_cpu_priority(tmp_path):
    """The capture worker's command lowers its priority (its browsers inherit it); the others keep theirs."""
    commands = launcher.services(8000, tmp_path)
    worker = commands["worker"]
    prefix = worker[:worker.index(launcher.PY)]
    assert prefix == ["nice", "-n", str(launcher.CAPTURE_NICE)] and launcher.CAPTURE_NICE > 0
    assert commands["inference"][0] == launcher.PY and commands["web"][0] == launcher.PY
    # The prefix works here: a process started through it runs that much nicer than this one.
    started = subprocess.run([*prefix, sys.executable, "-c", "import os; print(os.nice(0))"],
                             capture_output=True, text=True, check=True)
    assert int(started.stdout) == min(os.nice(0) + launcher.CAPTURE_NICE, 19)


def test_capture_priority_can_be_set_by_the_operator(tmp_path, monkeypatch):
    monkeypatch.setenv("LINKSHOT_CAPTURE_NICE", "0")
    worker = launcher.services(8000, tmp_path)["worker"]
    assert worker[:3] == ["nice", "-n", "0"]
