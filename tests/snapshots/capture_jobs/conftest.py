"""Fixtures of the capture-job tests: the loopback site with its canary, one Capturer for it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from snapshots.capture import Capturer
from tests.support.capture_jobs_site import Site, capture_config


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


@pytest.fixture(scope="module")
def capturer(site: Site) -> Iterator[Capturer]:
    engine = Capturer(capture_config(site))
    yield engine
    engine.close()
