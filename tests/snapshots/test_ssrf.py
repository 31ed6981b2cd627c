"""The SSRF guard as pure functions: nothing here connects anywhere; DNS is a fake resolver."""
import ipaddress
import socket

import pytest

from snapshots.ssrf import (
    HostNotFound,
    UnsafeURL,
    check_url,
    is_public_address,
    parse_allow_entry,
    parse_host_address,
)

pytestmark = pytest.mark.no_postgres

NOT_PUBLIC = [
    "127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1", "100.127.255.254",  # CGNAT
    "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "192.0.0.8", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "192.88.99.1",
    "::", "::1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1",
    "2001:db8::1", "3fff::1", "100::1", "64:ff9b:1::a00:1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",  # IPv4-mapped
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",  # NAT64 of loopback, metadata
    "2002:7f00:1::1", "2002:a00:1::",  # 6to4 of loopback, 10/8
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo whose client is 192.0.2.45
    "::127.0.0.1",  # deprecated IPv4-compatible form
    "2001:2::1", "2001:10::1",  # IETF protocol assignments
    "4000::1",  # outside global unicast 2000::/3
]
PUBLIC = [
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.32.0.1",
    "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
]


@pytest.mark.parametrize("ip", NOT_PUBLIC)
def test_non_public_addresses_are_refused(ip):
    assert is_public_address(ip) is False


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses_pass(ip):
    assert is_public_address(ip) is True


def test_ipaddress_objects_and_junk():
    assert is_public_address(ipaddress.ip_address("8.8.4.4")) is True
    assert is_public_address("not an ip") is False
    assert is_public_address("") is False


@pytest.mark.parametrize("spelling", [
    "0x7f000001", "2130706433", "0177.1", "127.1", "0x7f.1", "0177.0.0.01", "127.0.0.1.",
    "0x7F.0x0.0x0.0x1", "017700000001", "%31%32%37.0.0.1", "\uff11\uff12\uff17.0.0.1",
])
def test_odd_ipv4_spellings_read_as_loopback(spelling):
    assert parse_host_address(spelling) == ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize("host,expected", [
    ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
    ("[::1]", "::1"),
    ("::1", "::1"),
    ("169.254.169.254", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("0", "0.0.0.0"),
    ("1.2.3", "1.2.0.3"),
])
def test_host_addresses_parse(host, expected):
    assert parse_host_address(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize("host", ["example.com", "localhost", "256.1.1.1", "1.2.3.4.5", "0x1g", "a.1", ""])
def test_host_names_and_invalid_numbers_are_not_addresses(host):
    assert parse_host_address(host) is None


def fake_resolver(table):
    """A getaddrinfo stand-in answering from a dict, so no test depends on real DNS."""
    def resolve(host, port, type=0, **_):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, type, 6, "", (ip, port))
                for ip in table[host]]
    return resolve


PUBLIC_DNS = fake_resolver({"example.com": ["93.184.216.34", "2606:2800:220:1::1"]})


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://0x7f000001/", "http://2130706433/", "http://0177.1/",
    "http://127.1/", "http://[::1]:8000/", "http://[::ffff:127.0.0.1]/", "http://169.254.169.254/latest/",
    "https://10.0.0.1/", "http://[fd00::1]/", "http://[64:ff9b::7f00:1]/", "HTTP://LOCALHOST.:80/",
    "http://127.0.0.1\\@example.com/", "http://user:pw@127.0.0.1/", "http://\t127.0.0.1/",
])
def test_check_url_refuses_private_targets(url):
    resolver = fake_resolver({"localhost": ["127.0.0.1", "::1"], "example.com": ["93.184.216.34"]})
    with pytest.raises(UnsafeURL):
        check_url(url, resolver=resolver)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "javascript:alert(1)",
                                 "data:text/html,hi", "gopher://example.com/", "example.com", "http:///x"])
def test_check_url_refuses_other_schemes_and_hostless(url):
    with pytest.raises(UnsafeURL):
        check_url(url, resolver=PUBLIC_DNS)


def test_check_url_passes_public_host():
    check_url("https://example.com/page?q=1", resolver=PUBLIC_DNS)


def test_every_resolved_address_must_be_public():
    mixed = fake_resolver({"rebind.example": ["93.184.216.34", "10.0.0.5"]})
    with pytest.raises(UnsafeURL, match="rebind.example resolves to 10.0.0.5, which is a private address"):
        check_url("http://rebind.example/", resolver=mixed)


def test_unresolvable_host_is_reported_as_not_found():
    with pytest.raises(HostNotFound, match="could not be found"):
        check_url("http://nowhere.invalid/", resolver=PUBLIC_DNS)


def test_refusal_message_says_why():
    with pytest.raises(UnsafeURL, match="127.0.0.1 is a loopback address"):
        check_url("http://0x7f000001/")
    with pytest.raises(UnsafeURL, match="169.254.169.254 is a link-local address"):
        check_url("http://169.254.169.254/")


def test_allow_list_by_address_cidr_and_name():
    lan = fake_resolver({"nas.lan": ["192.168.1.20"], "printer.office.lan": ["192.168.1.30"]})
    check_url("http://127.0.0.1:8000/", ["127.0.0.1"], resolver=lan)
    check_url("http://192.168.1.20/", ["192.168.1.0/24"], resolver=lan)
    check_url("http://nas.lan/", ["nas.lan"], resolver=lan)
    check_url("http://printer.office.lan/", ["*.lan"], resolver=lan)
    with pytest.raises(UnsafeURL):
        check_url("http://127.0.0.2/", ["127.0.0.1"], resolver=lan)
    with pytest.raises(UnsafeURL):
        check_url("http://nas.lan/", ["other.lan"], resolver=lan)


def test_allow_list_with_port_allows_only_that_port():
    check_url("http://127.0.0.1:8123/", ["127.0.0.1:8123"])
    with pytest.raises(UnsafeURL, match="loopback"):
        check_url("http://127.0.0.1:8124/", ["127.0.0.1:8123"])
    check_url("http://[::1]:9000/", ["[::1]:9000"])


@pytest.mark.parametrize("entry", ["", "*", "10.0.0.0/33", "host:notaport", "[::1"])
def test_bad_allow_entries_are_named(entry):
    with pytest.raises(ValueError):
        parse_allow_entry(entry)
