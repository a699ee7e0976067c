"""A monitor's daily history in a time zone, regrouped from its hourly aggregates."""

from datetime import datetime, time, timedelta, timezone
from itertools import zip_longest
from zoneinfo import ZoneInfo

from ..extensions import db
from ..models import MonitorHour, utcnow
from ..monitors.history import percentile_ms


def local_midnight(day, zone):
    """The instant (UTC) a local day starts; a midnight skipped by DST maps to the day's start."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(timezone.utc)


def daily_history(monitor, days, tz_name, now=None):
    """One row per local day, oldest first, from ``days - 1`` days ago to today.

    The stored hours are UTC hours; each counts in the local day it starts in. One query.

    Returns:
        {"items": [day rows], "total": days, "timezone": tz_name}.
    """
    zone = ZoneInfo(tz_name)
    today = (now or utcnow()).astimezone(zone).date()
    dates = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    totals = {day: DayTotals() for day in dates}
    # A day of slack on each side: where clocks fall back across midnight, an hour can belong
    # to a day whose midnight comes after it.
    start = local_midnight(dates[0], zone) - timedelta(days=1)
    end = local_midnight(today + timedelta(days=1), zone) + timedelta(days=1)
    rows = db.session.scalars(db.select(MonitorHour).where(
        MonitorHour.monitor_type == monitor.monitor_type, MonitorHour.monitor_id == monitor.id,
        MonitorHour.hour >= start, MonitorHour.hour < end))
    for row in rows:
        day = totals.get(row.hour.astimezone(zone).date())
        if day is not None:
            day.add(row)
    return {"items": [totals[day].row(day) for day in dates], "total": days,
            "timezone": tz_name}


class DayTotals:
    """The sums of one day's hours."""

    def __init__(self):
        self.up = self.degraded = self.down = self.latency_sum = 0.0
        self.checks = self.failures = self.latency_count = 0
        self.histogram = []

    def add(self, hour):
        self.up += hour.up_seconds
        self.degraded += hour.degraded_seconds
        self.down += hour.down_seconds
        self.checks += hour.checks
        self.failures += hour.failures
        self.latency_sum += hour.latency_sum_ms
        self.latency_count += hour.latency_count
        self.histogram = [a + b for a, b in
                          zip_longest(self.histogram, hour.latency_histogram or [], fillvalue=0)]

    def row(self, day):
        counted = self.up + self.degraded + self.down
        # Degraded counts as up: the service answered, only slowly.
        uptime = round((self.up + self.degraded) / counted * 100, 3) if counted else None
        return {
            "date": day,
            "uptime_percent": uptime,
            "up_seconds": round(self.up, 3),
            "degraded_seconds": round(self.degraded, 3),
            "down_seconds": round(self.down, 3),
            "checks": self.checks,
            "failures": self.failures,
            "latency_mean_ms": round(self.latency_sum / self.latency_count, 3)
            if self.latency_count else None,
            "latency_p95_ms": percentile_ms(self.histogram),
        }


def prune_hours(days, now=None):
    """Delete the hourly aggregates older than ``days`` days (none when ``days`` is 0).

    Nothing reads further back than the page's longest uptime window or a monitor's longest
    history (config.MONITOR_HISTORY_DAYS_MIN keeps both whole), so this only bounds the table:
    a year of hours is 8,760 rows per monitor.

    Returns:
        How many rows were deleted.
    """
    if not days:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    deleted = db.session.execute(db.delete(MonitorHour).where(MonitorHour.hour < cutoff)).rowcount
    db.session.commit()
    return deleted
