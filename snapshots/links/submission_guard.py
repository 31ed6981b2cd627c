"""The SSRF guard applied when a link is submitted, so a refused URL is never saved.

The capture worker checks again on every navigation, redirect and subresource (DNS answers can
change between submission and capture); this early check gives the person a clear message.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string

from snapshots import ssrf

log = logging.getLogger(__name__)


def validate_submitted_url(url: str) -> None:
    """Raise ValidationError (on "url") when ``url`` points at an address captures may not reach.

    A host that does not resolve right now is accepted: the capture reports it, and a saved
    bookmark should not be lost to a passing DNS outage.
    """
    resolver = import_string(settings.LINKSHOT_DNS_RESOLVER)
    try:
        ssrf.check_url(url, settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS, resolver=resolver)
    except ssrf.HostNotFound as exc:
        log.info("saving %s although its host does not resolve now: %s", url, exc)
    except ssrf.UnsafeURL as exc:
        raise ValidationError({"url": f"This address cannot be captured: {exc}"}) from None
