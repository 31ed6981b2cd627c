"""Small display helpers for the link pages, for Django templates and the Jinja2 list rows alike."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jinja2
from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.timesince import timesince
from django.utils.translation import get_language

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
        return _recent_text(get_language(), *_largest_unit(age))
    return _date_text(get_language(), timezone.localtime(moment).date())


# A list page shows this for every row; Django's timesince and date formatting cost more than the
# rest of a row, yet their text depends only on a unit and a count (or a day), so each is worked
# out once per language.
_UNIT_SECONDS = (86400, 3600, 60)  # day, hour, minute: the units timesince uses within a week
_EPOCH = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)


def _largest_unit(age: timedelta) -> tuple[int, int]:
    """The first non-zero unit timesince would name (in seconds) and its count, for 1 min <= age < 1 week."""
    seconds = age.total_seconds()
    unit = next(unit for unit in _UNIT_SECONDS if seconds >= unit)
    return unit, int(seconds // unit)


@lru_cache(maxsize=1024)
def _recent_text(language: str | None, unit: int, count: int) -> str:
    return f"{timesince(_EPOCH, _EPOCH + timedelta(seconds=unit * count), depth=1)} ago"


@lru_cache(maxsize=1024)
def _date_text(language: str | None, day: date) -> str:
    return format_date(day, "M j, Y")


@register.filter
def host(url: str) -> str:
    """The host of a URL without a leading "www.", for compact display."""
    name = urlsplit(url).hostname or url
    return name.removeprefix("www.")


def isotime(moment: datetime | None) -> str:
    """ISO 8601 in the site's time zone: what Django's ``date:'c'`` gives, for ``<time datetime>``."""
    if moment is None:
        return ""
    return (timezone.localtime(moment) if timezone.is_aware(moment) else moment).isoformat()


def jinja_environment(**options: Any) -> jinja2.Environment:
    """The Jinja2 environment of the templates under templates/jinja2, with the helpers above."""
    environment = jinja2.Environment(**options)
    environment.filters.update(ago=ago, host=host, isotime=isotime)
    return environment
