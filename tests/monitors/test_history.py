"""Compact history: per-hour seconds in each state, check counts and a latency histogram."""

from datetime import datetime, timedelta, timezone

import pytest

from maintenant.extensions import db
from maintenant.models import Endpoint, MonitorHour
from maintenant.monitors.base import ProbeResult
from maintenant.monitors.history import LATENCY_BUCKETS_MS, percentile_ms
from maintenant.services.monitors import record_results

T0 = datetime(2026, 3, 2, 10, 59, 50, tzinfo=timezone.utc)


def make_endpoint(status="unknown", **fields):
    endpoint = Endpoint(name="API", target="http://127.0.0.1:9/", status=status,
                        **{"interval_seconds": 30, "failure_threshold": 2, **fields})
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def record(endpoint, *checks):
    """Record checks [(seconds after T0, ProbeResult)], one batch each, as the recorder would."""
    for offset, result in checks:
        record_results([("endpoint", endpoint.id, result, T0 + timedelta(seconds=offset))])


def hours_of(endpoint):
    """{hour: MonitorHour} of one monitor, read afresh."""
    db.session.expire_all()
    rows = db.session.scalars(db.select(MonitorHour).filter_by(monitor_id=endpoint.id)).all()
    return {row.hour: row for row in rows}


def up(latency_ms=20.0):
    return ProbeResult("up", latency_ms)


def down():
    return ProbeResult("down", None, "connection refused")


TEN = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
ELEVEN = datetime(2026, 3, 2, 11, tzinfo=timezone.utc)


def test_time_between_checks_is_split_at_the_hour(app):
    endpoint = make_endpoint()

    # 10:59:50 up (first result), 11:00:20 up: 10 s before the hour, 20 s after it.
    record(endpoint, (0, up()), (30, up()))

    hours = hours_of(endpoint)
    assert set(hours) == {TEN, ELEVEN}
    assert hours[TEN].up_seconds == pytest.approx(10)
    assert hours[ELEVEN].up_seconds == pytest.approx(20)
    assert (hours[TEN].checks, hours[ELEVEN].checks) == (1, 1)


def test_time_is_credited_to_the_confirmed_state_before_the_check(app):
    endpoint = make_endpoint()

    # up, then down twice (confirmed at the second), then on: 30 s each.
    record(endpoint, (0, up()), (30, down()), (60, down()), (90, down()))

    hour = hours_of(endpoint)[ELEVEN]
    # 10:59:50-11:00:20 up (10 s in hour 10), 11:00:20-11:00:50 still up (pending down),
    # 11:00:50-11:01:20 down.
    assert hour.up_seconds == pytest.approx(20 + 30)
    assert hour.down_seconds == pytest.approx(30)
    assert hour.degraded_seconds == 0


def test_a_gap_longer_than_three_intervals_is_not_credited(app):
    endpoint = make_endpoint()

    # The worker was down for 5 minutes between the second and the third check.
    record(endpoint, (0, up()), (30, up()), (30 + 300, up()), (30 + 330, up()))

    hours = hours_of(endpoint)
    assert hours[TEN].up_seconds == pytest.approx(10)
    assert hours[ELEVEN].up_seconds == pytest.approx(20 + 30)
    assert hours[ELEVEN].checks == 3


def test_a_gap_of_three_intervals_is_credited(app):
    endpoint = make_endpoint()

    record(endpoint, (10, up()), (100, up()))

    assert hours_of(endpoint)[ELEVEN].up_seconds == pytest.approx(90)


def test_degraded_time_is_its_own_bucket(app):
    endpoint = make_endpoint()
    slow = ProbeResult("degraded", 900.0, "slow")

    record(endpoint, (10, slow), (40, slow))

    hour = hours_of(endpoint)[ELEVEN]
    assert (hour.degraded_seconds, hour.up_seconds, hour.down_seconds) == (30, 0, 0)


def test_checks_failures_and_latency_are_counted(app):
    endpoint = make_endpoint()
    record(endpoint, (10, up(10.0)), (40, up(30.0)), (70, down()), (100, up(50.0)))

    hour = hours_of(endpoint)[ELEVEN]

    assert (hour.checks, hour.failures) == (4, 1)
    assert hour.latency_count == 3  # the failed check took no measurable latency
    assert hour.latency_sum_ms == pytest.approx(90.0)
    assert sum(hour.latency_histogram) == 3
    assert len(hour.latency_histogram) == len(LATENCY_BUCKETS_MS) + 1


def test_the_histogram_gives_the_p95(app):
    endpoint = make_endpoint(interval_seconds=5)
    # 95 fast checks (<= 25 ms) and 5 slow ones (<= 500 ms) in one hour.
    checks = [(index * 5, up(20.0)) for index in range(1, 96)]
    checks += [(index * 5, up(400.0)) for index in range(96, 101)]
    for offset, result in checks:
        record_results([("endpoint", endpoint.id, result, TEN + timedelta(seconds=offset))])

    hour = hours_of(endpoint)[TEN]

    assert hour.checks == 100
    assert percentile_ms(hour.latency_histogram, 0.95) == 25.0
    assert percentile_ms(hour.latency_histogram, 0.99) == 500.0
    assert percentile_ms(hour.latency_histogram, 0.5) == 25.0


def test_many_monitors_in_one_batch_across_the_hour(app):
    endpoints = [make_endpoint() for _ in range(20)]
    for offset in (0, 30, 60):
        record_results([("endpoint", endpoint.id, up(), T0 + timedelta(seconds=offset))
                        for endpoint in endpoints])

    for endpoint in endpoints:
        hours = hours_of(endpoint)
        assert hours[TEN].up_seconds == pytest.approx(10)
        assert hours[ELEVEN].up_seconds == pytest.approx(50)
        assert hours[TEN].checks + hours[ELEVEN].checks == 3


def test_percentile_of_an_empty_histogram_is_none():
    assert percentile_ms([0] * (len(LATENCY_BUCKETS_MS) + 1)) is None


def test_percentile_of_checks_slower_than_every_bucket():
    histogram = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    histogram[-1] = 3

    assert percentile_ms(histogram) == float(LATENCY_BUCKETS_MS[-1])


def test_a_long_interval_credits_every_hour_it_spans(app):
    endpoint = make_endpoint(interval_seconds=3600)
    start = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)

    for offset in (0, 7200):  # 9:30, then 11:30 (two intervals later: credited)
        record_results([("endpoint", endpoint.id, up(), start + timedelta(seconds=offset))])

    hours = hours_of(endpoint)
    nine = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    assert {hour: row.up_seconds for hour, row in hours.items()} == \
        {nine: 1800, TEN: 3600, ELEVEN: 1800}
