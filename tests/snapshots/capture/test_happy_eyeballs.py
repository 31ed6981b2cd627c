"""Connection attempts over several checked addresses: families alternate, the first to connect wins."""
from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from snapshots.capture.happy_eyeballs import first_connection, interleaved
from tests.support.pageserver import Blackhole, LoopbackServer, page

pytestmark = pytest.mark.no_postgres


def ips(*texts: str) -> list:
    return [ipaddress.ip_address(text) for text in texts]


def test_families_alternate_starting_with_the_resolvers_first():
    given = ips("2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2", "192.0.2.3")
    assert interleaved(given) == ips("2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "192.0.2.3")
    assert interleaved(ips("192.0.2.1", "2001:db8::1")) == ips("192.0.2.1", "2001:db8::1")
    assert interleaved(ips("192.0.2.1", "192.0.2.2")) == ips("192.0.2.1", "192.0.2.2")


def test_the_address_that_answers_wins_over_one_that_never_does():
    server = LoopbackServer("127.0.0.1")
    server.routes["/"] = page("<p>up</p>")
    silent = Blackhole("127.0.0.4", server.port)

    async def main():
        reader, writer = await first_connection(ips("127.0.0.4", "127.0.0.1"), server.port, timeout_s=10)
        peer = writer.get_extra_info("peername")[0]
        writer.close()
        return peer

    try:
        assert asyncio.run(asyncio.wait_for(main(), 5)) == "127.0.0.1"
    finally:
        silent.close()
        server.close()


def test_when_no_address_connects_the_last_error_is_raised():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: every attempt is refused at once
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(first_connection(ips("127.0.0.1", "127.0.0.5"), port, timeout_s=5))
