"""The checked exit of one capture: every connection the capture makes is opened here.

An Exit resolves a host once for the whole capture (the request guard, the egress proxy and the
file download all ask the same cache), checks every address with snapshots.ssrf, and connects
only to an address it checked. A DNS server that answers a public address first and an internal
one later (rebinding) therefore cannot move a connection: the later answer is never asked for.
A refused target gets no TCP connection at all.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from snapshots import ssrf
from snapshots.capture.happy_eyeballs import first_connection

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
LOOKUP_THREADS = 16
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def lookup_pool() -> ThreadPoolExecutor:
    """Threads for DNS lookups only, one pool per process (a forked worker child makes its own).

    getaddrinfo blocks, and a page naming dozens of hosts that do not resolve can hold every thread
    it is given for seconds each. In asyncio's default pool those lookups queued the capture's own
    CPU work (the thumbnail, text extraction) behind them until its step timed out.
    """
    pid = os.getpid()
    with _pools_lock:
        pool = _pools.get(pid)
        if pool is None:
            pool = _pools[pid] = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="linkshot-dns")
        return pool


class Refused(Exception):
    """The target may not be contacted; the message says why."""


class Unresolved(Refused):
    """The host name did not resolve: nothing to contact, and nothing worth reporting as refused."""


@dataclass
class EgressRefusal:
    target: str
    reason: str


class CaptureResolver:
    """A getaddrinfo stand-in that asks the real resolver once per host for one capture.

    Thread-safe (the guard resolves in worker threads); concurrent first lookups of one host wait
    for a single query. Failures are remembered too, so a host that did not resolve stays unknown.
    """

    def __init__(self, resolver: ssrf.Resolver | None = None) -> None:
        self._resolver = resolver or socket.getaddrinfo
        self._answers: dict[str, list | BaseException] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.lookups = 0

    def __call__(self, host, port, family=0, type=socket.SOCK_STREAM, proto=0, flags=0) -> list:
        key = str(host).lower()
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._answers:
                self.lookups += 1
                try:
                    self._answers[key] = list(self._resolver(host, port, type=socket.SOCK_STREAM))
                except (socket.gaierror, UnicodeError, OSError) as exc:
                    self._answers[key] = exc
            answer = self._answers[key]
        if isinstance(answer, BaseException):
            raise answer
        # The cached answer carries the first caller's port; report the one asked for.
        return [(af, kind, proto_, name, (addr[0], port, *addr[2:])) for af, kind, proto_, name, addr in answer]


@dataclass
class Exit:
    """What one capture may reach, and the only way it reaches anything."""

    allowed_private: Iterable = ()
    resolver: CaptureResolver = field(default_factory=CaptureResolver)
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    refusals: list[EgressRefusal] = field(default_factory=list)
    oversize: list[str] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self.allowed_private = ssrf.parse_allow_list(self.allowed_private)
        if not isinstance(self.resolver, CaptureResolver):
            self.resolver = CaptureResolver(self.resolver)
        self._verdicts: dict[tuple[str, int], list | Refused] = {}

    async def addresses(self, host: str, port: int) -> list[ssrf.IPAddress]:
        """Every address host:port resolves to, each one checked; raises Refused with the reason."""
        key = (host.lower(), port)
        if key not in self._verdicts:
            try:
                self._verdicts[key] = await asyncio.get_running_loop().run_in_executor(
                    lookup_pool(), ssrf.check_host, host, port, self.allowed_private, self.resolver)
            except ssrf.HostNotFound as exc:
                self._verdicts[key] = Unresolved(str(exc))
            except ssrf.UnsafeURL as exc:
                self._verdicts[key] = Refused(str(exc))
        verdict = self._verdicts[key]
        if isinstance(verdict, Refused):
            raise type(verdict)(str(verdict))
        return verdict

    def refuse(self, target: str, reason: str) -> None:
        log.info("egress refused %s: %s", target, reason)
        self.refusals.append(EgressRefusal(target, reason))

    async def connect(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TCP connection to one checked address of host:port: the first to answer of attempts
        started a quarter of a second apart (happy_eyeballs.py)."""
        try:
            addresses = await self.addresses(host, port)
        except Unresolved:
            raise
        except Refused as exc:
            self.refuse(f"{host}:{port}", str(exc))
            raise
        if not addresses:
            raise OSError(f"{host} has no address to connect to")
        streams = await first_connection(addresses, port, self.connect_timeout_s)
        self.connections += 1
        return streams
