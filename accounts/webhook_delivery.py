"""Sending one webhook request: the SSRF check, a connection pinned to the checked address, the signature.

The target host is resolved once, every address is checked like a capture's (snapshots/ssrf.py), and
the connection goes to the checked address itself, so a DNS answer that changes between the check
and the connect (rebinding) cannot point the request inward. Redirects are not followed.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

from snapshots import ssrf

TIMEOUT_S = 10
SIGNATURE_HEADER = "X-Linkshot-Signature"
USER_AGENT = "Linkshot-Webhook/1"


class Refused(Exception):
    """The target may not be contacted (not retried)."""


@dataclass
class Answer:
    status: int


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_target(url: str) -> str:
    """The address to connect to; Refused when the URL or any address it resolves to is not allowed.

    OSError when the host cannot be resolved now.
    """
    resolver = import_string(settings.LINKSHOT_DNS_RESOLVER)
    try:
        ssrf.check_url(url, settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS, resolver=resolver)
    except ssrf.HostNotFound as exc:
        raise OSError(str(exc)) from None  # DNS may come back: retried like a refused connection
    except ssrf.UnsafeURL as exc:
        raise Refused(f"This address cannot be reached from Linkshot: {exc}") from None
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = ssrf.parse_host_address(host)
    if literal is not None:
        return str(literal)
    port = parts.port or ssrf.DEFAULT_PORTS[parts.scheme.lower()]
    return resolver(host, port, type=socket.SOCK_STREAM)[0][4][0]


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def post(url: str, secret: str, event: str, delivery_id: int, payload: dict) -> Answer:
    """POST the payload; OSError on network failures, Refused when the target is not allowed."""
    address = check_target(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or ssrf.DEFAULT_PORTS[scheme]
    connection_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Linkshot-Event": event,
               "X-Linkshot-Delivery": str(delivery_id), SIGNATURE_HEADER: signature(secret, body),
               "Host": parts.netloc.rpartition("@")[2]}
    connection = connection_class(_bracketless(address), parts.hostname or "", port, TIMEOUT_S)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers=headers)
        return Answer(status=connection.getresponse().status)
    finally:
        connection.close()


def _bracketless(address: str) -> str:
    return str(ipaddress.ip_address(address.strip("[]")))
