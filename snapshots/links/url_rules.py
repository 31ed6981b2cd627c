"""Validation and normalisation of the URLs people save.

Normalising makes "HTTP://Example.com:80/a?utm_source=x#top" and "http://example.com/a" the same
link, so saving it twice merges instead of duplicating: scheme and host case, default ports,
fragments, tracking parameters (courlan's list) and the order of query parameters do not count.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from courlan.clean import TRACKERS_RE
from django.core.exceptions import ValidationError

from snapshots.ssrf import ALLOWED_SCHEMES, DEFAULT_PORTS

MAX_URL_LENGTH = 2048
# Query parameters that only say where a click came from. courlan's list (maintained with
# trafilatura) covers utm_*, gclid, fbclid, mc_cid, ref, ref_src and friends; these few it misses.
EXTRA_TRACKING_PARAMS = {"_hsenc", "_hsmi"}
# A host, optionally with a port, then a path: what people type without "https://".
_SCHEMELESS_HOST = re.compile(r"^(?:localhost|\[[0-9a-f:.]+\]|[^\s/:?#]+\.[^\s/:?#]+)(?::\d+)?(?:[/?#]|$)", re.I)


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    if lowered in EXTRA_TRACKING_PARAMS:
        return True
    found = TRACKERS_RE.search(lowered)
    # The list's words count as whole words only: "ref" and "ref_src" track, "reference" does not.
    return bool(found) and (found.group().endswith("_") or found.end() == len(lowered)
                            or lowered[found.end()] in "_-")


def _canonical_query(query: str) -> str:
    """Tracking parameters dropped, the rest sorted by name (the order of repeated names kept)."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _is_tracking(k)]
    return urlencode(sorted(pairs, key=lambda pair: pair[0]))


def _with_scheme(url: str) -> str:
    """"example.com/a" means https://example.com/a; anything else without "://" is refused."""
    if "://" in url:
        return url
    if url.startswith("//"):
        return "https:" + url
    if _SCHEMELESS_HOST.match(url):
        return "https://" + url
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme and scheme not in ALLOWED_SCHEMES and re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
        raise ValidationError(f"Only http and https links can be saved, not {scheme}:.")
    raise ValidationError("Enter a full URL starting with http:// or https://.")


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
        if "." not in url and "/" not in url:
            raise ValidationError(f"“{url[:40]}” is not a web address: enter one such as https://example.com/page.")
        raise ValidationError("URLs cannot contain spaces or control characters (a space is written %20).")
    parts = urlsplit(_with_scheme(url))
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise ValidationError(f"Only http and https links can be saved, not {scheme}:.")
    if parts.username or parts.password:
        raise ValidationError("URLs with a user name or password in them cannot be saved.")
    host = _host(parts)
    port = _port(parts, scheme)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    path = quote(unquote(parts.path), safe="/%:@!$&'()*+,;=~-._") or "/"
    query = _canonical_query(parts.query)
    normalized = urlunsplit((scheme, netloc, path, query, ""))
    if len(normalized) > MAX_URL_LENGTH:
        raise ValidationError(f"URLs can be at most {MAX_URL_LENGTH} characters long.")
    return normalized
