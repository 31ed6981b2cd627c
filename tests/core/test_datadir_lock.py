"""One Linkshot per data directory: a second `up` names the holder and exits non-zero."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import launcher
from config.datadir_lock import DataDirBusy, DataDirLock

pytestmark = pytest.mark.no_postgres
ROOT = Path(__file__).resolve().parents[2]


def test_second_lock_on_one_dir_names_the_holder(tmp_path):
    with DataDirLock(tmp_path):
        with pytest.raises(DataDirBusy) as caught:
            DataDirLock(tmp_path).acquire()
    assert f"pid {os.getpid()}" in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_lock_is_free_again_after_release(tmp_path):
    DataDirLock(tmp_path).acquire().release()
    DataDirLock(tmp_path).acquire().release()


def test_different_dirs_are_locked_side_by_side(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with DataDirLock(tmp_path / "a"), DataDirLock(tmp_path / "b"):
        pass


def test_second_up_exits_nonzero_and_leaves_the_first_ones_socket(tmp_path):
    sock = tmp_path / "redis.sock"
    sock.write_text("the first instance's socket")
    env = {**os.environ, "LINKSHOT_DATA_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    with DataDirLock(tmp_path):
        result = subprocess.run([sys.executable, "-m", "config.launcher", "up"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"pid {os.getpid()}" in result.stderr
    assert "in use by another Linkshot" in result.stderr
    assert sock.read_text() == "the first instance's socket"


def test_gunicorn_control_socket_is_per_data_dir(tmp_path):
    web = launcher.services(8000, tmp_path)["web"]
    assert web[web.index("--control-socket") + 1] == str(tmp_path / "gunicorn.ctl")
