"""The egress proxy as a library: HTTP, CONNECT, refusals, the size cap, the per-capture resolver.

Everything runs on loopback: an allowed site on 127.0.0.1 and canaries on 127.0.0.2 and on another
port of 127.0.0.1, whose accepted TCP connections are counted.
"""
from __future__ import annotations

import asyncio
import socket

import pytest

from snapshots.capture import CaptureConfig
from snapshots.capture.egress import Exit
from snapshots.capture.egress_proxy import EgressProxy
from tests.support.pageserver import Blackhole, LoopbackServer, chunked_stream, page

pytestmark = pytest.mark.no_postgres
CAP = 200_000


@pytest.fixture(scope="module")
def origin():
    server = LoopbackServer("127.0.0.1")
    server.routes.update({
        "/hello": page("<p>hello</p>"),
        "/big": page("x" * (CAP + 1)),
    })
    yield server
    server.close()


@pytest.fixture
def canaries():
    far, near = LoopbackServer("127.0.0.2"), LoopbackServer("127.0.0.1")
    yield far, near
    far.close()
    near.close()


def table_resolver(table: dict[str, list[list[str]]], calls: list[str]):
    """getaddrinfo from a table; each name's answers are used in turn (the last one repeats)."""
    def resolve(host, port, type=0, **_):
        calls.append(host)
        answers = table.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        ips = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, type, 6, "", (ip, port)) for ip in ips]
    return resolve


def run_with_proxy(exit_: Exit, body, cap: int = CAP):
    async def main():
        proxy = EgressProxy(cap)
        listener = await proxy.open(exit_)
        try:
            return await body(listener.port)
        finally:
            await proxy.stop()
    return asyncio.run(main())


async def exchange(port: int, request: bytes, read_until_close: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            data += chunk
            if not read_until_close and b"\r\n\r\n" in data and _complete(data):
                break
    except (asyncio.TimeoutError, ConnectionError):
        pass
    writer.close()
    return data


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def get(url: str, host: str) -> bytes:
    return f"GET {url} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


def test_plain_http_is_forwarded_and_the_connection_kept(origin):
    exit_ = Exit([f"127.0.0.1:{origin.port}"])

    async def body(port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers = []
        for _ in range(2):
            writer.write(get(origin.url("/hello"), f"127.0.0.1:{origin.port}"))
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")).split(b":")[1])
            answers.append(head + await reader.readexactly(length))
        writer.close()
        return answers

    answers = run_with_proxy(exit_, body)
    assert all(a.startswith(b"HTTP/1.1 200") and a.endswith(b"<p>hello</p>") for a in answers)


def test_connect_tunnels_to_an_allowed_origin(origin):
    exit_ = Exit([f"127.0.0.1:{origin.port}"])
    target = f"127.0.0.1:{origin.port}"

    async def body(port):
        request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()
        inner = f"GET /hello HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n".encode()
        return await exchange(port, request + inner, read_until_close=True)

    answer = run_with_proxy(exit_, body)
    assert answer.startswith(b"HTTP/1.1 200 Connection Established\r\n")
    assert answer.rstrip().endswith(b"<p>hello</p>")


@pytest.mark.parametrize("how", ["get", "connect"])
def test_refused_targets_get_no_tcp_connection(origin, canaries, how):
    exit_ = Exit([f"127.0.0.1:{origin.port}"])
    far, near = canaries

    async def body(port):
        answers = []
        for canary in (far, near):
            authority = f"{canary.host}:{canary.port}"
            request = (get(canary.url("/secret"), authority) if how == "get"
                       else f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
            answers.append(await exchange(port, request))
        return answers

    answers = run_with_proxy(exit_, body)
    assert all(a.startswith(b"HTTP/1.1 403") for a in answers), answers
    assert b"127.0.0.2 is a loopback address" in answers[0]
    assert (far.accepts, near.accepts) == (0, 0)
    assert len(exit_.refusals) == 2


def test_declared_size_over_the_cap_is_not_passed_on(origin):
    exit_ = Exit([f"127.0.0.1:{origin.port}"])
    answer = run_with_proxy(exit_, lambda port: exchange(port, get(origin.url("/big"), "x")))
    assert answer.startswith(b"HTTP/1.1 502") and b"larger than the 200000 byte cap" in answer
    assert exit_.oversize == [origin.url("/big")]


def test_streamed_response_is_cut_at_the_cap(origin):
    sent: list[int] = []
    origin.routes["/endless"] = chunked_stream("application/pdf", 2 * 1024**3, sent)
    exit_ = Exit([f"127.0.0.1:{origin.port}"])
    answer = run_with_proxy(exit_, lambda port: exchange(port, get(origin.url("/endless"), "x"), True))
    assert answer.startswith(b"HTTP/1.1 200")
    assert CAP - 65536 < len(answer) < CAP + 65536  # cut at the cap, not at 2 GB
    for _ in range(50):
        if sent:
            break
        asyncio.run(asyncio.sleep(0.1))
    assert sent and sent[0] < 64 * 1024 * 1024, "the origin kept sending after the proxy hung up"
    assert exit_.oversize == [origin.url("/endless")]


def test_names_are_resolved_by_the_injected_resolver_once_per_capture(origin):
    calls: list[str] = []
    resolver = table_resolver({"site.test": [["127.0.0.1"]]}, calls)
    exit_ = Exit([f"127.0.0.1:{origin.port}"], resolver=resolver)
    url = f"http://site.test:{origin.port}/hello"

    async def body(port):
        return [await exchange(port, get(url, "site.test")) for _ in range(3)]

    answers = run_with_proxy(exit_, body)
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers)
    assert calls == ["site.test"]


def test_a_name_with_one_refused_address_is_refused_whole(origin, canaries):
    far, _near = canaries
    resolver = table_resolver({"mixed.test": [["127.0.0.1", "127.0.0.2"]]}, [])
    exit_ = Exit([f"127.0.0.1:{origin.port}"], resolver=resolver)
    answer = run_with_proxy(exit_, lambda port: exchange(port, get(f"http://mixed.test:{origin.port}/", "x")))
    assert answer.startswith(b"HTTP/1.1 403")
    assert b"mixed.test resolves to 127.0.0.2" in answer
    assert far.accepts == 0


def test_a_rebinding_name_keeps_the_checked_address(origin):
    rebound = LoopbackServer("127.0.0.3", port=origin.port)  # same port, the address a rebind would give
    try:
        resolver = table_resolver({"rebind.test": [["127.0.0.1"], ["127.0.0.3"]]}, [])
        exit_ = Exit([f"127.0.0.1:{origin.port}"], resolver=resolver)
        url = f"http://rebind.test:{origin.port}/hello"

        async def body(port):
            return [await exchange(port, get(url, "rebind.test")) for _ in range(3)]

        answers = run_with_proxy(exit_, body)
        assert all(a.endswith(b"<p>hello</p>") for a in answers)
        assert rebound.accepts == 0
    finally:
        rebound.close()


def test_an_address_that_never_answers_does_not_hold_up_the_next(origin):
    # The resolver's first address drops every connection attempt (an IPv6 route that leads
    # nowhere, a server of a pool that is down); tried one after the other it would cost the whole
    # 10 s connect timeout, longer than the 5 s this exchange waits for an answer.
    silent = Blackhole("127.0.0.3", origin.port)
    try:
        resolver = table_resolver({"pool.test": [["127.0.0.3", "127.0.0.1"]]}, [])
        exit_ = Exit([f"127.0.0.1:{origin.port}", f"127.0.0.3:{origin.port}"], resolver=resolver)
        answer = run_with_proxy(exit_, lambda port: exchange(port, get(f"http://pool.test:{origin.port}/hello", "x")))
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"<p>hello</p>")
        assert exit_.connections == 1
    finally:
        silent.close()


def test_closing_the_listener_cuts_open_connections(origin):
    exit_ = Exit([f"127.0.0.1:{origin.port}"])
    target = f"127.0.0.1:{origin.port}"

    async def main():
        proxy = EgressProxy(CAP)
        listener = await proxy.open(exit_)
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
        await proxy.close(listener)
        return await asyncio.wait_for(reader.read(), 5)

    assert asyncio.run(main()) == b""


def test_the_browser_is_launched_with_no_way_around_the_proxy():
    config = CaptureConfig(extra_chromium_args=["--proxy-server=http://10.0.0.1:3128", "--proxy-bypass-list=*",
                                                "--proxy-pac-url=http://10.0.0.1/pac", "--mute-audio"])
    args = config.launch_args("http://127.0.0.1:4567")
    assert "--proxy-server=http://127.0.0.1:4567" in args and "--proxy-bypass-list=<-loopback>" in args
    assert "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1" in args
    assert not any("10.0.0.1" in arg or arg == "--proxy-bypass-list=*" for arg in args)
    assert "--webrtc-ip-handling-policy=disable_non_proxied_udp" in args and "--mute-audio" in args
    disabled = next(arg for arg in args if arg.startswith("--disable-features="))
    assert {"Prerender2", "SpeculationRulesPrefetchFuture"} <= set(disabled.split("=", 1)[1].split(","))
    assert sum(arg.startswith("--disable-features=") for arg in args) == 1  # a second one would replace it
