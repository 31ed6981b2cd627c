"""Validation and normalisation of the URLs people save.

Normalising makes "HTTP://Example.com:80/a?utm_source=x#top" and "http://example.com/a" the same
link, so saving it twice merges instead of duplicating.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError

from snapshots.ssrf import ALLOWED_SCHEMES, DEFAULT_PORTS

MAX_URL_LENGTH = 2048
TRACKING_PARAMS = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid",
    "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "twclid",
}
TRACKING_PREFIXES = ("utm_", "pk_campaign", "pk_kwd")


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _host(parts) -> str:
    try:
        hostname = parts.hostname
    except ValueError:
        hostname = None
    if not hostname:
        raise ValidationError("Enter a URL with a host name, such as https://example.com/.")
    try:
        # IDNA keeps unicode hosts comparable with their punycode spelling.
        return hostname.encode("idna").decode("ascii").lower() if not hostname.isascii() else hostname.lower()
    except UnicodeError:
        raise ValidationError(f"The host name {hostname!r} is not valid.") from None


def _port(parts, scheme: str) -> int | None:
    try:
        port = parts.port
    except ValueError:
        raise ValidationError("The port in this URL is not a number between 0 and 65535.") from None
    return None if port == DEFAULT_PORTS[scheme] else port


def normalize_url(raw: str) -> str:
    """Return the canonical form of a user-supplied URL or raise ValidationError saying why."""
    if not isinstance(raw, str):
        raise ValidationError("Enter a URL as text.")
    url = raw.strip()
    if not url:
        raise ValidationError("Enter a URL.")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"URLs can be at most {MAX_URL_LENGTH} characters long.")
    if any(ch.isspace() for ch in url) or any(ord(ch) < 32 for ch in url):
        raise ValidationError("URLs cannot contain spaces or control characters.")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme and scheme not in ALLOWED_SCHEMES and "." not in scheme:
        raise ValidationError(f"Only http and https links can be saved, not {scheme}:.")
    if scheme not in ALLOWED_SCHEMES or "://" not in url:
        raise ValidationError("Enter a full URL starting with http:// or https://.")
    if parts.username or parts.password:
        raise ValidationError("URLs with a user name or password in them cannot be saved.")
    host = _host(parts)
    port = _port(parts, scheme)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    path = quote(unquote(parts.path), safe="/%:@!$&'()*+,;=~-._") or "/"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)])
    normalized = urlunsplit((scheme, netloc, path, query, ""))
    if len(normalized) > MAX_URL_LENGTH:
        raise ValidationError(f"URLs can be at most {MAX_URL_LENGTH} characters long.")
    return normalized
