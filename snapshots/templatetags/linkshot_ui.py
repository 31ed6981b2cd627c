"""Small display helpers for the link pages."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.timesince import timesince

register = template.Library()

RECENT = timedelta(days=7)


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now", "5 minutes ago" within a week, a plain date after that."""
    if moment is None:
        return ""
    age = timezone.now() - moment
    if age < timedelta(minutes=1):
        return "just now"
    if age < RECENT:
        return f"{timesince(moment, depth=1)} ago"
    return format_date(timezone.localtime(moment), "M j, Y")


@register.filter
def host(url: str) -> str:
    """The host of a URL without a leading "www.", for compact display."""
    name = urlsplit(url).hostname or url
    return name.removeprefix("www.")
