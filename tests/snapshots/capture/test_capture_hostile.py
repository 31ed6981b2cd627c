"""Hostile pages finish within their limits with a clear outcome; a dead browser is replaced."""
import io
import os
import signal
import time
from pathlib import Path

import pytest
from PIL import Image

from snapshots.capture import CaptureConfig, Capturer, close_capturer, get_capturer
from tests.support.capture_site import capture_config

pytestmark = [pytest.mark.chromium, pytest.mark.no_postgres]


def timed_capture(capturer, url, limit_s):
    started = time.monotonic()
    result = capturer.capture(url)
    elapsed = time.monotonic() - started
    assert elapsed < limit_s, f"{url} took {elapsed:.1f} s, over its {limit_s} s limit"
    return result


def test_endless_dialogs_are_dismissed(capturer, site):
    result = timed_capture(capturer, site.url("/alerts"), 15)
    assert result.title == "Nag"
    assert "screenshot" in result.assets


def test_request_that_never_completes_is_cut_off(capturer, site):
    result = timed_capture(capturer, site.url("/hangs"), 20)
    assert result.title == "Hangs"
    assert any("did not finish loading" in note for note in result.notes)
    assert "screenshot" in result.assets


def test_very_tall_page_is_clipped(capturer, site):
    result = timed_capture(capturer, site.url("/tall"), 30)
    with Image.open(io.BytesIO(result.assets["full_page"])) as shot:
        assert shot.size == (1280, 15000)
    assert "full page cut at 15000 px of 50000 px" in result.notes


def test_download_trigger_is_refused_and_the_page_kept(capturer, site):
    result = timed_capture(capturer, site.url("/download"), 15)
    assert result.title == "Download"
    assert result.final_url == site.url("/download")


def test_busy_script_is_stopped_and_the_page_still_captured(capturer, site):
    result = timed_capture(capturer, site.url("/busy"), 30)
    assert "a script kept the page busy; it was stopped" in result.notes
    assert "screenshot" in result.assets
    assert "Busy page" in result.text


def test_page_still_works_after_the_hostile_ones(capturer, site):
    assert timed_capture(capturer, site.url("/plain"), 10).title == "Plain"


def chromium_browser_pids() -> list[int]:
    """Main Chromium processes (no --type=) started under this test process."""
    mine, pids = {os.getpid()}, []
    for _ in range(3):  # python -> playwright driver -> chromium
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            if ppid in mine:
                mine.add(int(proc.name))
                if os.path.basename(cmdline[0]) == b"chromium" and not any(a.startswith(b"--type=") for a in cmdline):
                    pids.append(int(proc.name))
    return sorted(set(pids))


def test_crashed_browser_is_relaunched(site):
    engine = Capturer(capture_config(site))
    try:
        others = set(chromium_browser_pids())
        assert engine.capture(site.url("/plain")).title == "Plain"
        pids = set(chromium_browser_pids()) - others
        assert len(pids) == 1, f"expected this engine's one browser, found {pids}"
        os.kill(pids.pop(), signal.SIGKILL)
        time.sleep(0.5)
        assert engine.capture(site.url("/plain")).title == "Plain"
        assert engine.browser_launches == 2
    finally:
        engine.close()


def test_get_capturer_is_one_lazy_instance_per_process(site):
    calls = []

    def factory() -> CaptureConfig:
        calls.append(1)
        return capture_config(site)

    try:
        first = get_capturer(factory)
        assert get_capturer(factory) is first
        assert calls == [1] and first.browser_launches == 0  # nothing launched before the first job
    finally:
        close_capturer()
