"""Fetching a file (a PDF, an image, the favicon) through the capture's checked exit, to disk.

The body is streamed into a temporary file and the size cap is enforced while reading, so a 2 GB
chunked answer costs the cap and no more. Every redirect hop goes through Exit.connect again, so
each hop's host is resolved, checked and connected to at the address that was checked.
"""
from __future__ import annotations

import asyncio
import ssl
import tempfile
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import h11

from snapshots.capture.egress import Exit, Refused
from snapshots.capture.errors import CapturePermanentError, CaptureRefused, CaptureTransientError

MAX_REDIRECTS = 8
READ_CHUNK = 65536
SPOOL_BYTES = 1024 * 1024  # smaller bodies never touch the disk


@dataclass
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes | None  # None when it was larger than the cap


def size_in_words(size: int) -> str:
    """50 MB, 512 KB: how a cap is shown to a person."""
    return f"{size / 1024**2:g} MB" if size >= 1024**2 else f"{size / 1024:g} KB"


async def fetch(exit_: Exit, url: str, max_bytes: int, timeout_s: float, headers: dict[str, str]) -> Fetched:
    """GET url through the exit, following redirects one checked hop at a time; bounded by timeout_s."""
    try:
        return await asyncio.wait_for(_follow(exit_, url, max_bytes, headers), timeout_s)
    except asyncio.TimeoutError:
        raise CaptureTransientError(f"the site did not send {url} within {timeout_s:g} s") from None


async def _follow(exit_: Exit, url: str, max_bytes: int, headers: dict[str, str]) -> Fetched:
    for _hop in range(MAX_REDIRECTS + 1):
        fetched, location = await _get_once(exit_, url, max_bytes, headers)
        if location is None:
            return fetched
        url = urljoin(url, location)
    raise CapturePermanentError(f"more than {MAX_REDIRECTS} redirects from {url}")


async def _open(exit_: Exit, url: str):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CaptureRefused(f"refused to open {url}: only http and https URLs are fetched")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        reader, writer = await exit_.connect(parts.hostname, port)
    except Refused as exc:
        raise CaptureRefused(f"refused to open {url}: {exc}") from None
    except OSError as exc:
        raise CaptureTransientError(f"could not connect to {parts.hostname} ({exc.strerror or exc})") from None
    if parts.scheme == "https":
        try:
            await writer.start_tls(ssl.create_default_context(), server_hostname=parts.hostname)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            writer.close()
            raise CapturePermanentError(f"a secure connection to {parts.hostname} could not be made "
                                        f"({exc.reason or 'TLS error'})") from None
    return parts, reader, writer


async def _get_once(exit_: Exit, url: str, max_bytes: int, headers: dict[str, str]) -> tuple[Fetched, str | None]:
    parts, reader, writer = await _open(exit_, url)
    conn = h11.Connection(h11.CLIENT)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_headers = [("host", parts.netloc.rsplit("@", 1)[-1]), ("connection", "close"), *headers.items()]
    try:
        writer.write(conn.send(h11.Request(method="GET", target=target, headers=request_headers)))
        writer.write(conn.send(h11.EndOfMessage()))
        response = await _next(conn, reader)
        while isinstance(response, h11.InformationalResponse):
            response = await _next(conn, reader)
        if not isinstance(response, h11.Response):
            raise CaptureTransientError(f"the site closed the connection without answering {url}")
        answer = {name.decode("latin-1"): value.decode("latin-1") for name, value in response.headers}
        location = answer.get("location")
        if 300 <= response.status_code < 400 and location:
            return Fetched(url, response.status_code, answer.get("content-type", ""), None), location
        body = await _read_body(conn, reader, answer, max_bytes)
        return Fetched(url, response.status_code, answer.get("content-type", ""), body), None
    except (h11.ProtocolError, ConnectionError, OSError) as exc:
        raise CaptureTransientError(f"the site sent a broken answer for {url} ({type(exc).__name__})") from None
    finally:
        writer.close()


async def _read_body(conn: h11.Connection, reader: asyncio.StreamReader, headers: dict[str, str],
                     max_bytes: int) -> bytes | None:
    """The body, or None as soon as it passes max_bytes (declared or counted); spooled to disk."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    received = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        while True:
            event = await _next(conn, reader)
            if isinstance(event, h11.Data):
                received += len(event.data)
                if received > max_bytes:
                    return None
                spool.write(event.data)
            elif isinstance(event, h11.EndOfMessage):
                spool.seek(0)
                return spool.read()
            else:
                raise ConnectionError("the answer ended early")


async def _next(conn: h11.Connection, reader: asyncio.StreamReader):
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(READ_CHUNK))
