"""Times on the list rows: relative within a week, a date after that, ISO 8601 for <time datetime>."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.timesince import timesince

from snapshots.web.display import Clock


@pytest.mark.parametrize("age", [timedelta(minutes=1), timedelta(minutes=59, seconds=30), timedelta(hours=1),
                                 timedelta(hours=5, minutes=3), timedelta(days=1), timedelta(days=6, hours=23)])
def test_recent_times_read_like_django_timesince(age):
    clock = Clock()
    moment = clock.now - age
    assert clock.ago(moment) == f"{timesince(moment, clock.now, depth=1)} ago"


def test_just_now_missing_and_old_times():
    clock = Clock()
    assert clock.ago(clock.now - timedelta(seconds=20)) == "just now"
    assert clock.ago(None) == "" and clock.iso(None) == ""
    old = clock.now - timedelta(days=40)
    assert clock.ago(old) == format_date(timezone.localtime(old).date(), "M j, Y")


def test_iso_time_is_in_the_site_time_zone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    timezone.activate("Asia/Tokyo")
    try:
        moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt_timezone.utc)
        assert Clock().iso(moment) == "2026-01-02T12:04:05+09:00"
    finally:
        timezone.deactivate()
