"""Compact monitor history: per-hour time in each state, checks and a latency histogram."""

from bisect import bisect_left
from datetime import timedelta

from .. import status as rules
from ..extensions import db
from ..models import MonitorHour

# Upper bounds of the latency buckets (ms); the last bucket holds everything slower.
LATENCY_BUCKETS_MS = (5, 10, 25, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000,
                      5000, 10000, 30000)
# Seconds between two checks are credited to the state the monitor was in; a gap longer than
# this many intervals (worker down) is not counted as up or down time.
MAX_GAP_INTERVALS = 3

UP, DEGRADED, DOWN = "up", "degraded", "down"
CONTRIBUTION_BUCKET = {rules.OPERATIONAL: UP, rules.DEGRADED: DEGRADED, rules.MAJOR_OUTAGE: DOWN}


def hour_of(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def state_bucket(monitor_type, state):
    """up | degraded | down for a monitor state, or None for states that say nothing."""
    return CONTRIBUTION_BUCKET.get(rules.monitor_contribution(monitor_type, state))


def load_hours(keys):
    """Preload the MonitorHour rows of ``keys`` [(type, id, hour)] into the session, one query.

    Returns:
        The cache ``get_hour`` reads: {key: row}, with None for keys known to have no row yet.
    """
    keys = set(keys)
    if not keys:
        return {}
    ids = {key[1] for key in keys}
    hours = {key[2] for key in keys}
    rows = db.session.scalars(db.select(MonitorHour).where(
        MonitorHour.monitor_id.in_(ids), MonitorHour.hour.in_(hours))).all()
    cache = dict.fromkeys(keys)
    cache.update({(row.monitor_type, row.monitor_id, row.hour): row for row in rows})
    return cache


def get_hour(cache, monitor_type, monitor_id, hour):
    key = (monitor_type, monitor_id, hour)
    if key in cache:
        row = cache[key]
    else:
        # An hour that was not preloaded (time credited to an earlier hour than the batch's
        # checks) may already have its row: adding a second one would fail the whole batch.
        row = cache[key] = db.session.get(MonitorHour, key)
    if row is None:
        row = MonitorHour(monitor_type=monitor_type, monitor_id=monitor_id, hour=hour,
                          up_seconds=0.0, degraded_seconds=0.0, down_seconds=0.0, checks=0,
                          failures=0, latency_sum_ms=0.0, latency_count=0,
                          latency_histogram=[0] * (len(LATENCY_BUCKETS_MS) + 1))
        db.session.add(row)
        cache[key] = row
    return row


def credit_time(cache, monitor_type, monitor_id, state, start, end, interval):
    """Add the seconds from ``start`` to ``end`` spent in ``state`` to the hours they fall in."""
    bucket = state_bucket(monitor_type, state)
    if bucket is None or start is None or end <= start:
        return
    if (end - start).total_seconds() > interval * MAX_GAP_INTERVALS:
        return
    while start < end:
        hour = hour_of(start)
        stop = min(end, hour + timedelta(hours=1))
        row = get_hour(cache, monitor_type, monitor_id, hour)
        column = f"{bucket}_seconds"
        setattr(row, column, getattr(row, column) + (stop - start).total_seconds())
        start = stop


def count_check(cache, monitor_type, monitor_id, at, ok, latency_ms):
    row = get_hour(cache, monitor_type, monitor_id, hour_of(at))
    row.checks += 1
    if not ok:
        row.failures += 1
    if latency_ms is not None:
        row.latency_sum_ms += latency_ms
        row.latency_count += 1
        histogram = list(row.latency_histogram or [0] * (len(LATENCY_BUCKETS_MS) + 1))
        histogram[bisect_left(LATENCY_BUCKETS_MS, latency_ms)] += 1
        row.latency_histogram = histogram  # a new list, so the JSON column sees the change


def percentile_ms(histogram, fraction=0.95):
    """The upper bound of the bucket that holds the given fraction of the checks."""
    total = sum(histogram)
    if not total:
        return None
    needed = fraction * total
    running = 0
    for index, count in enumerate(histogram):
        running += count
        if running >= needed:
            return float(LATENCY_BUCKETS_MS[index]) if index < len(LATENCY_BUCKETS_MS) \
                else float(LATENCY_BUCKETS_MS[-1])
    return float(LATENCY_BUCKETS_MS[-1])
