"""Only the capture worker's children load the browser stack: the web server, the inference worker,
beat and management commands import the capture jobs but never Playwright."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.no_postgres

PROBE = """
import json, sys
import django
django.setup()
import config.urls, config.celery  # every view and API, the Celery app
import snapshots.capture_jobs.tasks, imports.runner  # the capture and import tasks, as a worker registers them
import tagging.tasks, tagging.analysis.run, tagging.management.commands.reanalyze  # the inference side
from snapshots.capture_jobs.tasks import close_capture_browser
close_capture_browser()  # a child that never captured shuts down without importing the browser
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "playwright"
                or name == "snapshots.capture.capturer")
from snapshots.capture import Capturer  # what a capture needs is still there, on first use
print(json.dumps({"before": loaded, "after": "playwright" in sys.modules, "capturer": Capturer.__name__}))
"""


def test_processes_that_never_capture_do_not_import_the_browser():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["before"] == []
    assert got["after"] is True
    assert got["capturer"] == "Capturer"


def test_an_unknown_name_of_the_capture_package_is_an_attribute_error():
    import snapshots.capture as capture

    with pytest.raises(AttributeError, match="no attribute 'Capturr'"):
        capture.Capturr  # noqa: B018
