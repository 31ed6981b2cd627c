"""Fixtures of the tagging tests: the loopback site the real-worker tests capture."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.capture_jobs_site import Site


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()
