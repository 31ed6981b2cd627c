"""A hostile site on an allowed loopback host, canaries standing in for internal services, a DNS server.

The site is 127.0.0.1:<port> (the one allowed address and port). The canaries count every request
and every TCP connection they accept:
- far: 127.0.0.2, any port;       near: another port of 127.0.0.1;
- rebound: 127.0.0.3 on the site's port (where a rebinding name points the second time);
- v6: [::1] on the site's port (where "localhost" also leads).
The capture resolves names with a DNS server of the test's own on 127.0.0.1.

LINKSHOT_TEST_EGRESS_BYPASS=1 launches the capture browser without the egress proxy, with the same
pages and canaries, to show what the proxy stops: the tests of test_capture_egress.py fail then.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time

from snapshots.capture import CaptureConfig
from snapshots.capture_jobs.engine_config import chromium_path
from tests.support.dns_server import LoopbackDNSServer
from tests.support.pageserver import LoopbackServer, blob, chunked_stream, page, png_bytes, redirect, send

BYPASS = os.environ.get("LINKSHOT_TEST_EGRESS_BYPASS") == "1"
CAP_BYTES = 5 * 1024 * 1024

# Without the proxy (the bypass run) Chromium resolves names itself: "rebind.test" then gets the
# rebound answer, as a rebinding DNS server would give it; the proxy replaces these rules.
BROWSER_ARGS = [
    "--no-sandbox",
    "--host-resolver-rules=MAP rebind.test 127.0.0.3 , MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , "
    "EXCLUDE 127.0.0.2 , EXCLUDE 127.0.0.3 , EXCLUDE localhost , EXCLUDE [::1]",
]


class UDPCanary:
    """Counts datagrams sent to it (WebRTC's STUN and TURN over UDP would land here)."""

    def __init__(self, host: str) -> None:
        self.datagrams = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._count, daemon=True).start()

    def _count(self) -> None:
        while True:
            try:
                self._sock.recvfrom(2048)
            except OSError:
                return
            self.datagrams += 1

    def close(self) -> None:
        self._sock.close()


class EgressSite:
    def __init__(self) -> None:
        self.site = LoopbackServer("127.0.0.1")
        self.far = LoopbackServer("127.0.0.2")
        self.near = LoopbackServer("127.0.0.1")
        self.rebound = LoopbackServer("127.0.0.3", port=self.site.port)
        self.v6 = LoopbackServer("::1", port=self.site.port)
        self.dns = LoopbackDNSServer({"localhost": ["127.0.0.1"]})
        self.udp = UDPCanary("127.0.0.2")
        self.pdf_sent: list[int] = []
        self._build()

    @property
    def canaries(self) -> dict[str, LoopbackServer]:
        return {"127.0.0.2": self.far, "other port of 127.0.0.1": self.near, "127.0.0.3": self.rebound,
                "[::1]": self.v6}

    def url(self, path: str) -> str:
        return self.site.url(path)

    def reset(self) -> None:
        for server in (self.site, *self.canaries.values()):
            server.reset()
        self.dns.queries.clear()
        self.udp.datagrams = 0

    def reached(self, settle_s: float = 0.5) -> dict[str, tuple[int, list[str]]]:
        """Each canary that saw a TCP connection or a request: (connections, request paths)."""
        time.sleep(settle_s)
        reached = {name: (c.accepts, list(c.requests)) for name, c in self.canaries.items() if c.accepts or c.requests}
        if self.udp.datagrams:
            reached["udp 127.0.0.2"] = (self.udp.datagrams, [])
        return reached

    def _targets(self) -> list[str]:
        return [self.far.url(""), self.near.url(""), self.v6.url("")]

    def _build(self) -> None:
        targets = json.dumps(self._targets())
        slow = _slow_png(1.0)
        shared_js = f"""const targets = {targets};
for (const t of targets) {{
  fetch(t + "/shared-get").catch(() => {{}});
  fetch(t + "/shared-post", {{method: "POST", body: "secret=1", mode: "no-cors"}}).catch(() => {{}});
  try {{ new WebSocket(t.replace("http", "ws") + "/shared-ws"); }} catch (e) {{}}
}}
onconnect = () => {{}};"""
        dedicated_js = f"""for (const t of {targets}) {{
  try {{ new WebSocket(t.replace("http", "ws") + "/worker-ws"); }} catch (e) {{}}
}}"""
        links = "".join(f'<a class="pop" href="/pop-get/{i}" target="_blank">pop {i}</a>'
                        f'<form class="pop" method="post" action="/pop-post/{i}" target="_blank">'
                        f'<input name="secret" value="1"></form>' for i in range(3))
        rules = {"prefetch": [{"source": "list", "urls": [f"/prefetch/{i}" for i in range(3)]}],
                 "prerender": [{"source": "list", "urls": ["/prerender/0"]}]}
        near = self.near.url
        routes = {
            "/slow.png": slow,
            "/favicon.ico": blob(png_bytes(16, 16), "image/x-icon"),
            "/workers": page('<title>Workers</title><body><h1>Workers</h1><img src="/slow.png"><script>'
                             'new SharedWorker("/shared.js"); new Worker("/dedicated.js");</script></body>'),
            "/shared.js": blob(shared_js.encode(), "text/javascript"),
            "/dedicated.js": blob(dedicated_js.encode(), "text/javascript"),
            "/popups": page(f'<title>Popups</title><body><h1>Popups</h1>{links}<img src="/slow.png"><script>'
                            'document.querySelectorAll("a.pop").forEach(a => a.click());'
                            'document.querySelectorAll("form.pop").forEach(f => f.submit());</script></body>'),
            "/speculation": page('<title>Speculation</title><body><h1>Speculation</h1><img src="/slow.png">'
                                 f'<script type="speculationrules">{json.dumps(rules)}</script></body>'),
            "/rebind": page('<title>Rebind</title><body><h1>Rebind</h1><img src="/slow.png"><script>'
                            'fetch("/secret").then(r => r.text()).then(t => { document.title = t; });'
                            "</script></body>"),
            "/secret": page("site answer"),
            "/dual": page('<title>Dual</title><body><h1>Dual stack</h1><img src="/slow.png"></body>'),
            "/nav-iframe": page(f'<title>Frame</title><body><iframe src="{near("/iframe")}"></iframe></body>'),
            "/nav-js": page(f'<title>J</title><script>location.href = "{near("/js")}";</script>'),
            "/nav-meta": page(f'<title>M</title><meta http-equiv="refresh" content="0;url={near("/meta")}">'),
            "/nav-header": page("<title>H</title><p>refresh header</p>",
                                headers={"Refresh": f"0;url={near('/header')}"}),
            "/many-hosts": page("<title>Many hosts</title><body><h1>Many hosts</h1>" + "".join(
                f'<img src="http://img{k}.slow.test/{k}.png">' for k in range(14)) + "</body>"),
            "/webrtc": page('<title>WebRTC</title><body><h1>WebRTC</h1><img src="/slow.png"><script>'
                            f'const udp = "127.0.0.2:{self.udp.port}";'
                            'const pc = new RTCPeerConnection({iceServers: [{urls: "stun:" + udp},'
                            '  {urls: "turn:" + udp + "?transport=udp", username: "u", credential: "p"}]});'
                            'pc.createDataChannel("x"); pc.createOffer().then(o => pc.setLocalDescription(o));'
                            "</script></body>"),
            "/huge.pdf": chunked_stream("application/pdf", 2 * 1024**3, self.pdf_sent, head=b"%PDF-1.4\n"),
        }
        targets_list = self._targets()
        for i, target in enumerate(targets_list):
            routes[f"/pop-get/{i}"] = redirect(target + "/popup-get")
            routes[f"/pop-post/{i}"] = redirect(target + "/popup-post", 307)
            routes[f"/prefetch/{i}"] = redirect(target + "/prefetched")
        routes["/prerender/0"] = redirect(self.far.url("/prerendered"))
        self.site.routes.update(routes)

    def close(self) -> None:
        for server in (self.site, *self.canaries.values()):
            server.close()
        self.dns.close()
        self.udp.close()


def _slow_png(delay_s: float):
    """An image that answers after delay_s: holds the load event so workers and popups get their turn."""
    data = png_bytes(4, 4)

    def handle(handler) -> None:
        time.sleep(delay_s)
        send(handler, 200, data, "image/png")

    return handle


def egress_config(egress_site: EgressSite) -> CaptureConfig:
    """The capture of these tests: only the site allowed, names from the test's DNS, a 5 MB cap."""
    return CaptureConfig(
        chromium_path=chromium_path(), allowed_private=[f"127.0.0.1:{egress_site.site.port}"],
        resolver=egress_site.dns.resolver(), extra_chromium_args=BROWSER_ARGS, egress_proxy=not BYPASS,
        asset_max_bytes=CAP_BYTES, nav_timeout_s=8, dom_timeout_s=4, network_quiet_cap_s=2.5, step_timeout_s=4,
        job_timeout_s=30, keep_pdf=False, keep_mhtml=False,
    )
