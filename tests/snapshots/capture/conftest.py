"""Fixtures of the capture engine tests: the canned loopback site, its two canaries, one Capturer."""
from __future__ import annotations

import pytest

from snapshots.capture import Capturer
from tests.support.capture_site import build_site, capture_config
from tests.support.pageserver import LoopbackServer


@pytest.fixture(scope="session")
def servers():
    far = LoopbackServer("127.0.0.2")
    near = LoopbackServer("127.0.0.1")
    site = LoopbackServer("127.0.0.1")
    build_site(site, far, near)
    yield site, far, near
    for server in (site, far, near):
        server.close()


@pytest.fixture(scope="session")
def site(servers):
    return servers[0]


@pytest.fixture(scope="session")
def capturer(site):
    engine = Capturer(capture_config(site))
    yield engine
    engine.close()
