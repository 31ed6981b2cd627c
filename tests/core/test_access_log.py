"""The web server's access log shows the real size of files it sends (screenshots, PDFs)."""
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from config import launcher
from tests.support.hung_redis import free_port

pytestmark = pytest.mark.no_postgres
ROOT = Path(__file__).resolve().parents[2]


def test_access_log_shows_the_size_of_a_sent_file(tmp_path):
    body = tmp_path / "shot.png"
    body.write_bytes(b"\x89PNG" + b"x" * 12_345)
    port = free_port()
    web = launcher.services(port, tmp_path)["web"]
    web[web.index("config.wsgi")] = "tests.support.file_wsgi:app"
    env = {**os.environ, "LINKSHOT_TEST_FILE": str(body)}
    server = subprocess.Popen(web, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while not launcher.answers(f"http://127.0.0.1:{port}", timeout=0.2):
            assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/asset") as answer:
            assert len(answer.read()) == body.stat().st_size
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    line = next(line for line in output.splitlines() if '"GET /asset' in line)
    assert f" 200 {body.stat().st_size} " in line, line
