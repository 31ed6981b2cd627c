"""Loopback HTTP servers for capture tests: canned normal and hostile pages, plus canaries.

PageServer serves pages on 127.0.0.1; Canary records every request it receives so a test can
prove a captured page never reached it. Nothing here listens beyond loopback.
"""
from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

Handler = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    accepts = 0

    def get_request(self):
        """Count every TCP connection accepted, so a test can prove none was even opened."""
        connection = super().get_request()
        self.accepts += 1
        return connection


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass
class LoopbackServer:
    host: str = "127.0.0.1"
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    port: int = 0  # 0: any free port; a fixed one lets a canary share the site's port on another address

    def __post_init__(self) -> None:
        owner = self

        class RequestHandler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                owner.requests.append(self.path)
                route = owner.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    send(self, 404, b"<h1>not found</h1>")
                else:
                    route(self)

            do_POST = do_GET

        self.stopping = threading.Event()
        server_class = _Server6 if ":" in self.host else _Server
        self._server = server_class((self.host, self.port), RequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    @property
    def accepts(self) -> int:
        """TCP connections accepted so far (a refused request must not even open one)."""
        return self._server.accepts

    def reset(self) -> None:
        self.requests.clear()
        self._server.accepts = 0

    def close(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
         headers: dict[str, str] | None = None) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


def page(html: str, status: int = 200, **kwargs) -> Handler:
    return lambda handler: send(handler, status, html.encode("utf-8"), **kwargs)


def redirect(location: str, status: int = 302) -> Handler:
    return lambda handler: send(handler, status, b"", headers={"Location": location})


def blob(data: bytes, content_type: str, **headers: str) -> Handler:
    return lambda handler: send(handler, 200, data, content_type, headers=headers)


def never_finishes(server: LoopbackServer, max_s: float = 60) -> Handler:
    """Answers nothing until the server stops (or max_s): a request that never completes."""
    return lambda handler: server.stopping.wait(max_s)


def png_bytes(width: int, height: int, color=(30, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def pdf_with_text(text: str, title: str = "") -> bytes:
    """A minimal one-page PDF whose text pypdf can extract."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    info = f"<< /Title ({title}) >>" if title else "<< >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        info.encode("latin-1"),
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def wait_for_requests(server: LoopbackServer, settle_s: float = 0.3) -> list[str]:
    """The requests a server got, after letting in-flight ones arrive."""
    time.sleep(settle_s)
    return list(server.requests)


def chunked_stream(content_type: str, total_bytes: int, sent: list[int], head: bytes = b"") -> Handler:
    """A chunked answer of total_bytes made up as it goes (nothing that size is held in memory).

    Appends to sent how many body bytes went out before the reader stopped taking them.
    """
    chunk = b"0" * 65536

    def handle(handler: BaseHTTPRequestHandler) -> None:
        written = 0
        try:
            handler.protocol_version = "HTTP/1.1"
            handler.send_response(200)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Transfer-Encoding", "chunked")
            handler.send_header("Connection", "close")
            handler.end_headers()
            while written < total_bytes:
                data = head if written == 0 and head else chunk
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                written += len(data)
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            sent.append(written)

    return handle


class Blackhole:
    """A loopback port whose accept queue is kept full: a connection attempt there hangs until the
    connecting side gives up (as for a host that drops packets), it is never refused."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.listener = socket.socket()
        self.listener.bind((host, port))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(3):  # never accepted: they fill the queue, so the kernel drops later SYNs
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex((host, self.port))
            self.fillers.append(filler)

    def close(self) -> None:
        for sock in (*self.fillers, self.listener):
            sock.close()
