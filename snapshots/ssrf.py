"""Server-side request forgery guard for the URLs Linkshot fetches.

People save arbitrary URLs and captured pages are hostile, so before the capture browser talks to
a host we resolve it and refuse unless every address it resolves to is a public unicast address.
Addresses hidden inside IPv6 transition forms (IPv4-mapped, NAT64, 6to4, Teredo) are unpacked and
judged by the IPv4 address they carry, and the odd IPv4 spellings that browsers accept
(0x7f000001, 2130706433, 0177.1, 127.1) are read the way a browser reads them.

A self-hoster may allow their LAN with LINKSHOT_ALLOWED_PRIVATE_HOSTS: host names, "*.suffix"
patterns, IP addresses or CIDR networks, each optionally with ":port" to allow only that port.

Pure functions, no Django: callers pass the allow-list in.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., list]

ALLOWED_SCHEMES = {"http", "https"}
DEFAULT_PORTS = {"http": 80, "https": 443}

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Named so a refusal can say why; anything outside these that Python still calls non-global is
# refused as "not a public address".
_V4_BLOCKS: tuple[tuple[IPNetwork, str], ...] = (
    (_V4("0.0.0.0/8"), "an unspecified ('this network') address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("100.64.0.0/10"), "a carrier-grade NAT address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("169.254.0.0/16"), "a link-local address (cloud metadata lives here)"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.0.0.0/24"), "an IETF protocol assignment address"),
    (_V4("192.0.2.0/24"), "a documentation address"),
    (_V4("192.88.99.0/24"), "a 6to4 relay address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("198.18.0.0/15"), "a benchmarking address"),
    (_V4("198.51.100.0/24"), "a documentation address"),
    (_V4("203.0.113.0/24"), "a documentation address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
)
_V6_BLOCKS: tuple[tuple[IPNetwork, str], ...] = (
    (_V6("::/128"), "an unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_V6("100::/64"), "a discard-only address"),
    (_V6("2001:db8::/32"), "a documentation address"),
    (_V6("3fff::/20"), "a documentation address"),
    (_V6("5f00::/16"), "a segment-routing address"),
    (_V6("fc00::/7"), "a unique-local address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a site-local address"),
    (_V6("ff00::/8"), "a multicast address"),
)
_V6_GLOBAL_UNICAST = _V6("2000::/3")
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")
_TEREDO = _V6("2001::/32")
_V4_COMPATIBLE = _V6("::/96")
_IETF_PROTOCOL = _V6("2001::/23")


class UnsafeURL(ValueError):
    """The URL must not be fetched; the message says why in words a person understands."""


class HostNotFound(UnsafeURL):
    """The host name did not resolve, so there is nothing safe to fetch."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 transition form routes to; they decide where the packet really goes."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip in _SIX_TO_FOUR and ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip in _TEREDO and ip.teredo is not None:
        return list(ip.teredo)  # (server, client); either may be used to reach a host
    if ip in _V4_COMPATIBLE and int(ip) > 1:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def refusal_reason(ip: IPAddress) -> str | None:
    """Why this address is not public, or None when it is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))  # drop a %zone; it does not change the address class
        embedded = _embedded_ipv4(ip)
        if embedded:
            reasons = [refusal_reason(inner) for inner in embedded]
            bad = next((r for r in reasons if r), None)
            return f"an IPv6 form of {bad}" if bad else None
        blocks: Iterable[tuple[IPNetwork, str]] = _V6_BLOCKS
    else:
        blocks = _V4_BLOCKS
    for network, reason in blocks:
        if ip in network:
            return reason
    if isinstance(ip, ipaddress.IPv6Address):
        if ip not in _V6_GLOBAL_UNICAST:
            return "a reserved address"
        if ip in _IETF_PROTOCOL:
            return "an IETF protocol assignment address"
    if not ip.is_global:
        return "not a public address"
    return None


def is_public_address(ip: str | IPAddress) -> bool:
    """True when ip (text or ipaddress object) is a public unicast address; False for junk too."""
    try:
        address = ip if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)) else ipaddress.ip_address(ip)
    except ValueError:
        return False
    return refusal_reason(address) is None


def _ipv4_part(part: str) -> int | None:
    """One dotted part as a browser reads it: 0x.. hex, leading 0 octal, else decimal."""
    if part.startswith(("0x", "0X")):
        digits, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if digits == "":
        return 0 if base == 16 else None
    try:
        return int(digits, base)
    except ValueError:
        return None


def _parse_loose_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The WHATWG URL IPv4 parser: 1-4 parts, the last one filling the remaining bytes."""
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]  # one trailing dot is allowed, as in "127.0.0.1."
    if not 1 <= len(parts) <= 4 or any(part == "" for part in parts):
        return None
    numbers = [_ipv4_part(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _canonical_host(host: str) -> str:
    """Lower-case, percent-decoded, IDNA-mapped host (maps full-width digits to ASCII)."""
    host = unquote(host).strip().lower()
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return host


def parse_host_address(host: str) -> IPAddress | None:
    """The IP address a URL host spells, however oddly, or None for a host name."""
    host = _canonical_host(host)
    if not host:
        return None
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if ":" in host:
        return None
    return _parse_loose_ipv4(host)


@dataclass(frozen=True)
class _AllowEntry:
    host: str | None = None          # exact host name, or ".suffix" for "*.suffix"
    network: IPNetwork | None = None
    port: int | None = None

    def matches(self, host: str, address: IPAddress | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address is not None and address.version == self.network.version and address in self.network
        if self.host.startswith("."):
            return host.endswith(self.host)
        return host == self.host


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        inner, closed, rest = entry[1:].partition("]")
        if not closed:
            raise ValueError("unclosed [")
        return inner, int(rest[1:]) if rest.startswith(":") else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port)
    return entry, None


def parse_allow_entry(entry: str) -> _AllowEntry:
    """One LINKSHOT_ALLOWED_PRIVATE_HOSTS item; raises ValueError naming the bad item."""
    text = entry.strip().lower()
    try:
        text, port = _split_port(text)
        if "/" in text:
            return _AllowEntry(network=ipaddress.ip_network(text, strict=False), port=port)
        address = parse_host_address(text)
        if address is not None:
            return _AllowEntry(network=ipaddress.ip_network(address), port=port)
    except ValueError:
        raise ValueError(f"{entry!r} is not a host name, IP address or CIDR network") from None
    if not text or text == "*":
        raise ValueError(f"{entry!r} is not a host name, IP address or CIDR network")
    host = text[1:] if text.startswith("*.") else _canonical_host(text).rstrip(".")
    return _AllowEntry(host=host, port=port)


def parse_allow_list(entries: Iterable[str | _AllowEntry]) -> tuple[_AllowEntry, ...]:
    """Parsed allow rules; already parsed ones pass through so hot paths can parse once."""
    return tuple(
        entry if isinstance(entry, _AllowEntry) else parse_allow_entry(entry)
        for entry in entries
        if isinstance(entry, _AllowEntry) or (entry and entry.strip())
    )


def _is_allowed(rules: tuple[_AllowEntry, ...], host: str, address: IPAddress | None, port: int) -> bool:
    return any(rule.matches(host, address, port) for rule in rules)


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise HostNotFound(f"the host {host} could not be found ({exc})") from None
    addresses = []
    for info in infos:
        try:
            addresses.append(ipaddress.ip_address(info[4][0]))
        except ValueError:
            continue
    if not addresses:
        raise HostNotFound(f"the host {host} has no IP address")
    return addresses


def _split_url(url: str) -> tuple[str, str, int]:
    if not isinstance(url, str):
        raise UnsafeURL("the URL is not text")
    # Browsers drop tabs and newlines and read a backslash as "/" in http(s) URLs; parse what they
    # parse, so "http://127.0.0.1<backslash>@example.com/" is judged by the host really contacted.
    cleaned = url.strip().translate({9: None, 10: None, 13: None}).replace("\\", "/")
    try:
        parts = urlsplit(cleaned)
        port = parts.port
        hostname = parts.hostname
    except ValueError as exc:
        raise UnsafeURL(f"the URL is malformed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeURL(f"only http and https URLs are fetched, not {scheme or 'a URL without a scheme'}")
    if not hostname:
        raise UnsafeURL("the URL has no host")
    return scheme, hostname, port or DEFAULT_PORTS[scheme]


def check_url(url: str, allowed_private: Iterable[str | _AllowEntry] = (), resolver: Resolver = socket.getaddrinfo) -> None:
    """Raise UnsafeURL unless url is http(s) to a host whose every address may be fetched.

    An address that is not public passes only when the host (or the address, or a network holding
    it) is in allowed_private, optionally restricted to one port.
    """
    _scheme, raw_host, port = _split_url(url)
    check_host(raw_host, port, allowed_private, resolver)


def check_host(raw_host: str, port: int, allowed_private: Iterable[str | _AllowEntry] = (),
               resolver: Resolver = socket.getaddrinfo) -> list[IPAddress]:
    """The addresses host:port may be reached at, every one of them checked; raises UnsafeURL.

    The egress proxy connects only to an address returned here, so what was checked is what is
    contacted (no second lookup a rebinding DNS server could answer differently).
    """
    if not raw_host:
        raise UnsafeURL("the URL has no host")
    rules = parse_allow_list(allowed_private)
    host = _canonical_host(raw_host).rstrip(".") or raw_host
    literal = parse_host_address(raw_host)
    addresses = [literal] if literal is not None else _resolve(host, port, resolver)
    for address in addresses:
        reason = refusal_reason(address)
        if reason and not _is_allowed(rules, host, address, port):
            shown = f"{host} resolves to {address}, which is" if literal is None else f"{address} is"
            raise UnsafeURL(f"{shown} {reason}")
    return addresses
