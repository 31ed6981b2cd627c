"""The worker's capture configuration comes from Django settings alone."""
import pytest

from snapshots.capture.config import CaptureConfig
from snapshots.capture_jobs.engine_config import build_capture_config

pytestmark = pytest.mark.no_postgres


def test_engine_settings_reach_the_capture_config(settings):
    settings.LINKSHOT_CAPTURE_ENGINE = {"nav_timeout_s": 7.5, "keep_pdf": False, "extra_chromium_args": ["--x"]}
    settings.LINKSHOT_ASSET_MAX_BYTES = 1234
    settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS = ["nas.lan"]
    settings.LINKSHOT_CHROMIUM = "/opt/chromium/chrome"
    config = build_capture_config()
    assert (config.nav_timeout_s, config.keep_pdf, config.extra_chromium_args) == (7.5, False, ["--x"])
    assert (config.asset_max_bytes, config.allowed_private, config.chromium_path) == (1234, ["nas.lan"], "/opt/chromium/chrome")
    assert config.step_timeout_s == CaptureConfig().step_timeout_s  # unset: the engine's default


def test_the_whole_job_stays_inside_the_celery_soft_limit(settings):
    settings.LINKSHOT_CAPTURE_ENGINE = {"job_timeout_s": 500.0}
    settings.LINKSHOT_CAPTURE_SOFT_TIME_LIMIT = 40
    assert build_capture_config().job_timeout_s == 30.0  # a quarter of the soft limit is left to store


def test_the_engine_reads_no_environment(monkeypatch):
    monkeypatch.setenv("LINKSHOT_CAPTURE_NAV_TIMEOUT", "1")
    assert CaptureConfig().nav_timeout_s == 20.0
    assert not hasattr(CaptureConfig, "from_env")
