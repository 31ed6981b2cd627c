"""The egress proxy in front of the capture browser: plain HTTP and CONNECT (https, wss), nothing else.

One EgressProxy per browser process, on loopback ephemeral ports of the capture worker itself. Each
capture gets a listener of its own bound to its Exit (its allow-list, its one-lookup-per-host DNS
cache, its refusals); the browser context of that capture is told to use that listener, so every
byte the context sends (pages, frames, workers of every kind, WebSockets, popups, prefetches,
favicons) leaves through that capture's checks. Closing the listener cuts its open connections.

Plain HTTP is parsed with h11, so each response body can be held to the size cap while it streams.
A CONNECT tunnel carries TLS the proxy cannot read; it is held to the same number of bytes per
tunnel instead.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11

from snapshots.capture.egress import Exit, Refused, Unresolved

log = logging.getLogger(__name__)

READ_CHUNK = 65536
MAX_HEADER_BYTES = 64 * 1024
# Headers that describe one hop, never forwarded (RFC 9110 section 7.6.1, plus the proxy ones).
HOP_HEADERS = {b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization", b"proxy-authenticate",
               b"te", b"trailer", b"upgrade", b"host"}


class TooLarge(Exception):
    """A response went past the size cap."""


@dataclass(eq=False)
class Listener:
    exit: Exit
    max_bytes: int
    server: asyncio.base_events.Server | None = None
    tasks: set[asyncio.Task] = field(default_factory=set)

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class EgressProxy:
    """Loopback listeners, one per capture, each bound to that capture's Exit."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._listeners: set[Listener] = set()

    async def open(self, exit_: Exit, max_bytes: int | None = None) -> Listener:
        """Start a listener on an ephemeral loopback port for one capture's traffic."""
        listener = Listener(exit_, max_bytes or self.max_bytes)

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            listener.tasks.add(task)
            try:
                await ClientConnection(listener, reader, writer).serve()
            except asyncio.CancelledError:
                pass  # the capture ended; ending quietly also spares asyncio's stream callback a traceback
            finally:
                listener.tasks.discard(task)

        listener.server = await asyncio.start_server(on_client, "127.0.0.1", 0, limit=2**16)
        self._listeners.add(listener)
        return listener

    async def close(self, listener: Listener) -> None:
        """Stop accepting for this capture and cut whatever it still has open."""
        self._listeners.discard(listener)
        listener.server.close()
        for task in list(listener.tasks):
            task.cancel()
        if listener.tasks:
            await asyncio.gather(*listener.tasks, return_exceptions=True)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(listener.server.wait_closed(), 2)

    async def stop(self) -> None:
        for listener in list(self._listeners):
            await self.close(listener)


class ClientConnection:
    """One connection from the browser to the proxy: requests in turn, or one CONNECT tunnel."""

    def __init__(self, listener: Listener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.listener, self.exit = listener, listener.exit
        self.reader, self.writer = reader, writer
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        self.upstream: Upstream | None = None

    async def serve(self) -> None:
        try:
            while True:
                event = await self._next_event()
                if not isinstance(event, h11.Request):
                    return
                if event.method == b"CONNECT":
                    await self._tunnel(event)
                    return
                if not await self._forward(event):
                    return
                if self.conn.our_state is not h11.DONE or self.conn.their_state is not h11.DONE:
                    return
                self.conn.start_next_cycle()
        except (h11.ProtocolError, ConnectionError, asyncio.IncompleteReadError, TooLarge, OSError) as exc:
            log.debug("egress connection ended: %r", exc)
        finally:
            if self.upstream is not None:
                self.upstream.close()
            self.writer.close()

    async def _next_event(self):
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await self.reader.read(READ_CHUNK)
            self.conn.receive_data(data)

    async def _send(self, event) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def _refuse(self, target: str, reason: str, status: int = 403, verdict: bytes = b"refused") -> None:
        body = f"Linkshot's capture egress refused {target}: {reason}\n".encode()
        await self._send(h11.Response(status_code=status, headers=[
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            (b"x-linkshot-egress", verdict)]))
        await self._send(h11.Data(data=body))
        await self._send(h11.EndOfMessage())

    async def _tunnel(self, request: h11.Request) -> None:
        target = request.target.decode("latin-1")
        host, port = split_authority(target)
        if host is None:
            await self._refuse(target, "not a host:port", 400)
            return
        try:
            up_reader, up_writer = await self.exit.connect(host, port)
        except Unresolved as exc:
            await self._refuse(target, str(exc), 502, b"unresolved")
            return
        except Refused as exc:
            await self._refuse(target, str(exc))
            return
        except OSError as exc:
            await self._refuse(target, f"could not connect ({exc})", 502, _unreachable(exc))
            return
        try:
            await self._send(h11.Response(status_code=200, headers=[], reason=b"Connection Established"))
            leftover, _closed = self.conn.trailing_data
            if leftover:
                up_writer.write(leftover)
            await pipe_both(self.reader, self.writer, up_reader, up_writer, self.listener.max_bytes)
        finally:
            up_writer.close()

    async def _forward(self, request: h11.Request) -> bool:
        """One plain HTTP request to its origin and the answer back; False when the client must go."""
        url = request.target.decode("latin-1")
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            await self._refuse(url, "only http:// URLs and CONNECT tunnels pass the capture proxy", 400)
            return False
        port = parts.port or 80
        try:
            upstream = await self._upstream_for(parts.hostname, port)
        except Unresolved as exc:
            await self._drain_request()
            await self._refuse(url, str(exc), 502, b"unresolved")
            return True
        except Refused as exc:
            await self._drain_request()
            await self._refuse(url, str(exc))
            return True
        except OSError as exc:
            await self._drain_request()
            await self._refuse(url, f"could not connect ({exc})", 502, _unreachable(exc))
            return True
        headers = [(b"host", parts.netloc.encode("latin-1").rsplit(b"@", 1)[-1])]
        headers += [(name, value) for name, value in request.headers if name not in HOP_HEADERS]
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        await upstream.send(h11.Request(method=request.method, target=target.encode("latin-1"), headers=headers))
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                await upstream.send(event)
            elif isinstance(event, h11.EndOfMessage):
                await upstream.send(h11.EndOfMessage())
                break
            else:
                return False
        return await self._relay_response(upstream, url)

    async def _drain_request(self) -> None:
        while not isinstance(await self._next_event(), (h11.EndOfMessage, h11.ConnectionClosed)):
            pass

    async def _upstream_for(self, host: str, port: int) -> Upstream:
        """Reuse the open upstream connection when it goes to the same place and can take a request."""
        key = (host.lower(), port)
        if self.upstream is not None and self.upstream.key == key and self.upstream.reusable():
            self.upstream.conn.start_next_cycle()
            return self.upstream
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
        reader, writer = await self.exit.connect(host, port)
        self.upstream = Upstream(key, reader, writer)
        return self.upstream

    async def _relay_response(self, upstream: Upstream, url: str) -> bool:
        cap = self.listener.max_bytes
        response = await upstream.next_event()
        while isinstance(response, h11.InformationalResponse):
            response = await upstream.next_event()
        if not isinstance(response, h11.Response):
            return False
        declared = dict(response.headers).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > cap:
            self.exit.oversize.append(url)
            upstream.close()
            self.upstream = None
            await self._refuse(url, f"the response is larger than the {cap} byte cap", 502, b"too-large")
            return True
        headers = [(n, v) for n, v in response.headers if n not in HOP_HEADERS]
        await self._send(h11.Response(status_code=response.status_code, headers=headers, reason=response.reason))
        received = 0
        while True:
            event = await upstream.next_event()
            if isinstance(event, h11.Data):
                received += len(event.data)
                if received > cap:
                    self.exit.oversize.append(url)
                    raise TooLarge(url)
                await self._send(event)
            elif isinstance(event, h11.EndOfMessage):
                await self._send(h11.EndOfMessage())
                return True
            else:
                return False


class Upstream:
    """An h11 client connection to one checked address of an origin."""

    def __init__(self, key: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.key, self.reader, self.writer = key, reader, writer
        self.conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)

    def reusable(self) -> bool:
        return self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE

    async def send(self, event) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def next_event(self):
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self.conn.receive_data(await self.reader.read(READ_CHUNK))

    def close(self) -> None:
        self.writer.close()


def split_authority(authority: str) -> tuple[str | None, int]:
    """'host:port' or '[v6]:port' from a CONNECT request; (None, 0) when it is neither."""
    try:
        parts = urlsplit(f"//{authority}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None, 0
    if not host or port is None:
        return None, 0
    return host, port


async def pipe_both(client_reader, client_writer, up_reader, up_writer, max_bytes: int) -> None:
    """Copy bytes both ways until one side ends (then both go); the download side stops at max_bytes."""
    async def copy(reader, writer, budget: int | None) -> None:
        sent = 0
        try:
            while data := await reader.read(READ_CHUNK):
                sent += len(data)
                if budget is not None and sent > budget:
                    raise TooLarge(f"tunnel passed {budget} bytes")
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                writer.write_eof() if writer.can_write_eof() else writer.close()

    tasks = [asyncio.ensure_future(copy(client_reader, up_writer, None)),
             asyncio.ensure_future(copy(up_reader, client_writer, max_bytes))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class EgressProxyThread:
    """An EgressProxy on an event loop and thread of its own, with the same open/close/stop.

    The browser driver's loop is busy with every request's route and CDP callbacks; the proxy's
    bytes should not wait behind them, nor they behind the proxy's.
    """

    def __init__(self, max_bytes: int) -> None:
        self.proxy = EgressProxy(max_bytes)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="linkshot-egress", daemon=True)
        self._thread.start()

    async def _on_own_loop(self, coro, shielded: bool = False):
        if not self._loop.is_running():  # stopped with its browser: nothing left to open or close
            coro.close()
            raise ConnectionError("the capture egress proxy has stopped")
        future = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))
        # Closing must finish even when the capture that asked is being cancelled (its time is up).
        return await (asyncio.shield(future) if shielded else future)

    async def open(self, exit_: Exit, max_bytes: int | None = None) -> Listener:
        return await self._on_own_loop(self.proxy.open(exit_, max_bytes))

    async def close(self, listener: Listener) -> None:
        with contextlib.suppress(ConnectionError):
            await self._on_own_loop(self.proxy.close(listener), shielded=True)

    async def stop(self) -> None:
        try:
            with contextlib.suppress(ConnectionError):
                await self._on_own_loop(self.proxy.stop(), shielded=True)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 5)


def _unreachable(exc: OSError) -> bytes:
    """The verdict for a failed connection: nothing listening there is not worth retrying soon."""
    return b"connection-refused" if isinstance(exc, ConnectionRefusedError) else b"unreachable"
