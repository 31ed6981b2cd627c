"""A tiny DNS server on loopback for tests, and a resolver that asks it (A records only).

A name may have several answers in turn (the last one repeats), which is all a DNS rebinding
attack needs: an allowed address for the first query, an internal one for the next. Nothing here
talks to any address but 127.0.0.1.
"""
from __future__ import annotations

import socket
import struct
import threading


class LoopbackDNSServer:
    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = {name.lower(): list(ips) for name, ips in (answers or {}).items()}
        self.queries: list[str] = []
        self.slow_suffix, self.slow_s = "", 0.0  # names ending so answer "no such name" after slow_s
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.address = self._sock.getsockname()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def set(self, name: str, *ips: str) -> None:
        """Answer name with ips[0] first, then ips[1], ... (the last one from then on)."""
        with self._lock:
            self.answers[name.lower()] = list(ips)

    def _next_answer(self, name: str) -> str | None:
        with self._lock:
            self.queries.append(name)
            ips = self.answers.get(name)
            if not ips:
                return None
            return ips.pop(0) if len(ips) > 1 else ips[0]

    def _serve(self) -> None:
        while True:
            try:
                query, client = self._sock.recvfrom(512)
            except OSError:
                return
            name, end = _read_name(query, 12)
            qtype = struct.unpack("!H", query[end:end + 2])[0]
            ip = self._next_answer(name.lower()) if qtype == 1 else None
            header = query[:2] + struct.pack("!HHHHH", 0x8180 if ip else 0x8183, 1, 1 if ip else 0, 0, 0)
            answer = struct.pack("!HHHIH", 0xC00C, 1, 1, 0, 4) + socket.inet_aton(ip) if ip else b""
            reply = header + query[12:end + 4] + answer
            if self.slow_suffix and name.lower().endswith(self.slow_suffix):
                threading.Timer(self.slow_s, self._reply, (reply, client)).start()  # a resolver that times out
            else:
                self._reply(reply, client)

    def _reply(self, reply: bytes, client) -> None:
        try:
            self._sock.sendto(reply, client)
        except OSError:
            pass

    def close(self) -> None:
        self._sock.close()

    def resolver(self):
        """A getaddrinfo stand-in that asks this server (IP literals answer themselves)."""
        def getaddrinfo(host, port, family=0, type=socket.SOCK_STREAM, proto=0, flags=0):
            name = str(host).rstrip(".").lower()
            try:
                socket.inet_aton(name)
                ips = [name]
            except OSError:
                ips = ask(self.address, name)
            if not ips:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ips]
        return getaddrinfo


def ask(server: tuple[str, int], name: str) -> list[str]:
    """The A records a DNS server gives for name."""
    query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    query += struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(10)
        sock.sendto(query, server)
        reply, _ = sock.recvfrom(512)
    count = struct.unpack("!H", reply[6:8])[0]
    _name, offset = _read_name(reply, 12)
    offset += 4
    ips = []
    for _ in range(count):
        _name, offset = _read_name(reply, offset)
        kind, _cls, _ttl, length = struct.unpack("!HHIH", reply[offset:offset + 10])
        offset += 10
        if kind == 1 and length == 4:
            ips.append(socket.inet_ntoa(reply[offset:offset + 4]))
        offset += length
    return ips


def _read_name(packet: bytes, offset: int) -> tuple[str, int]:
    labels = []
    while True:
        length = packet[offset]
        if length & 0xC0 == 0xC0:  # a pointer ends the name
            pointed, _ = _read_name(packet, struct.unpack("!H", packet[offset:offset + 2])[0] & 0x3FFF)
            labels.append(pointed)
            return ".".join(labels), offset + 2
        offset += 1
        if length == 0:
            return ".".join(labels), offset
        labels.append(packet[offset:offset + length].decode("ascii", "replace"))
        offset += length
