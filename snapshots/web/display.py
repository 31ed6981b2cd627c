"""Display helpers for the Jinja2 list rows (templates/jinja2): relative and ISO times."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from functools import lru_cache
from typing import Any

import jinja2
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.timesince import timesince
from django.utils.translation import get_language

RECENT = timedelta(days=7)


class Clock:
    """The time, language and time zone of one rendering, looked up once.

    Each lookup goes through Django's thread-local state; a list page formats two times per row,
    so its rows share one Clock instead of looking them up sixty times.
    """

    def __init__(self) -> None:
        self.now = timezone.now()
        self.language = get_language()
        self.zone = timezone.get_current_timezone()

    def ago(self, moment: datetime | None) -> str:
        """ "just now", "5 minutes ago" within a week, a plain date after that."""
        if moment is None:
            return ""
        age = self.now - moment
        if age < timedelta(minutes=1):
            return "just now"
        if age < RECENT:
            return _recent_text(self.language, *_largest_unit(age))
        return _date_text(self.language, timezone.localtime(moment, self.zone).date())

    def iso(self, moment: datetime | None) -> str:
        """ISO 8601 in the site's time zone (what Django's ``date:'c'`` gives), for ``<time datetime>``."""
        if moment is None:
            return ""
        return (timezone.localtime(moment, self.zone) if timezone.is_aware(moment) else moment).isoformat()


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


def jinja_environment(**options: Any) -> jinja2.Environment:
    """The Jinja2 environment of the templates under templates/jinja2."""
    return jinja2.Environment(**options)
