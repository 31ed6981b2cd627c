"""A resolver for tests: IP literals and localhost resolve, every other name is unknown.

Tests must not send DNS queries off the machine; settings.LINKSHOT_DNS_RESOLVER points here.
"""
from __future__ import annotations

import ipaddress
import socket

LOCAL_NAMES = {"localhost": "127.0.0.1", "localhost.localdomain": "127.0.0.1"}


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    name = (host.decode() if isinstance(host, bytes) else str(host)).rstrip(".").lower()
    name = LOCAL_NAMES.get(name, name)
    try:
        ipaddress.ip_address(name.strip("[]").split("%")[0])
    except ValueError:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
    return socket.getaddrinfo(name, port, family, type, proto, flags | socket.AI_NUMERICHOST)


# Names under this suffix stand for real hosts the benchmarks serve on loopback (each on its own
# port, named in the URL), so their connections go the whole way through the capture's exit.
LOOPBACK_SUFFIX = ".lo.test"


def getaddrinfo_with_loopback_names(host, port, family=0, type=0, proto=0, flags=0):
    """As getaddrinfo above, and every name under LOOPBACK_SUFFIX resolves to 127.0.0.1."""
    name = (host.decode() if isinstance(host, bytes) else str(host)).rstrip(".").lower()
    if name.endswith(LOOPBACK_SUFFIX):
        name = "127.0.0.1"
    return getaddrinfo(name, port, family, type, proto, flags)
