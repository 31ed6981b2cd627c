"""Connecting to the first of several checked addresses that answers (Happy Eyeballs, RFC 8305).

A host often has several addresses, IPv6 and IPv4. Where one of them drops packets (an IPv6 route
that leads nowhere, one server of a pool down), trying them one after the other costs the whole
connect timeout before the next is tried: longer than a capture's navigation may take. Here the
attempts are staggered instead: the next address is tried CONNECTION_ATTEMPT_DELAY_S after the
previous attempt started, or at once when it fails, and the first connection made wins. Only the
addresses given are ever contacted: nothing is resolved here.
"""
from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

from snapshots.ssrf import IPAddress

CONNECTION_ATTEMPT_DELAY_S = 0.25  # RFC 8305, section 5: the recommended delay
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def interleaved(addresses: Sequence[IPAddress]) -> list[IPAddress]:
    """The addresses with their families alternating, the resolver's first family first (section 4)."""
    families: dict[int, list[IPAddress]] = {}
    for address in addresses:
        families.setdefault(address.version, []).append(address)
    rounds = itertools.zip_longest(*families.values())
    return [address for group in rounds for address in group if address is not None]


async def first_connection(addresses: Sequence[IPAddress], port: int, timeout_s: float,
                           delay_s: float = CONNECTION_ATTEMPT_DELAY_S) -> Streams:
    """A TCP connection to the first of ``addresses`` that accepts one; each attempt gives up after
    ``timeout_s``. Raises the last attempt's OSError when none connects."""
    waiting = interleaved(addresses)
    attempts: dict[asyncio.Task, IPAddress] = {}
    error: OSError | None = None
    try:
        while waiting or attempts:
            if waiting:
                address = waiting.pop(0)
                attempts[asyncio.ensure_future(_attempt(address, port, timeout_s))] = address
            done, _ = await asyncio.wait(attempts, timeout=delay_s if waiting else None,
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                address = attempts.pop(task)
                exc = task.exception()
                if exc is None:
                    return task.result()
                error = exc if isinstance(exc, OSError) else OSError(f"timed out connecting to {address}")
    finally:
        await _abandon(attempts)
    raise error or OSError("no address to connect to")


async def _attempt(address: IPAddress, port: int, timeout_s: float) -> Streams:
    return await asyncio.wait_for(asyncio.open_connection(str(address), port, limit=2**16), timeout_s)


async def _abandon(attempts: dict[asyncio.Task, IPAddress]) -> None:
    """Cancel the attempts still running; close any that connected before it took effect."""
    for task in attempts:
        task.cancel()
    for outcome in await asyncio.gather(*attempts, return_exceptions=True):
        if isinstance(outcome, tuple):
            outcome[1].close()
