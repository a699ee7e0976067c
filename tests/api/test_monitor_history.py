"""GET /api/v1/{kind}/{id}/history: hourly aggregates regrouped into days of a time zone."""

from datetime import date, datetime, timedelta, timezone

import pytest

from maintenant import jobs
from maintenant.config import monitor_history_days
from maintenant.extensions import db
from maintenant.models import Container, MonitorHour, utcnow
from maintenant.monitors.history import LATENCY_BUCKETS_MS
from maintenant.services.monitor_config import get_monitor
from maintenant.services.monitor_history import daily_history

from factories import counting_queries

from .helpers import assert_error, created, ok

BUCKETS = len(LATENCY_BUCKETS_MS) + 1


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def histogram(**counts):
    """A latency histogram with ``counts`` by bucket upper bound: histogram(b25=90)."""
    values = [0] * BUCKETS
    for name, count in counts.items():
        values[LATENCY_BUCKETS_MS.index(int(name[1:]))] = count
    return values


def add_hour(monitor_type, monitor_id, hour, up=0.0, degraded=0.0, down=0.0, checks=0,
             failures=0, latencies=None):
    """One stored hour; ``latencies`` is (sum_ms, histogram)."""
    latency_sum, buckets = latencies or (0.0, [0] * BUCKETS)
    db.session.add(MonitorHour(
        monitor_type=monitor_type, monitor_id=monitor_id, hour=hour, up_seconds=up,
        degraded_seconds=degraded, down_seconds=down, checks=checks, failures=failures,
        latency_sum_ms=latency_sum, latency_count=sum(buckets), latency_histogram=buckets))
    db.session.commit()


@pytest.fixture
def endpoint(api):
    return created(api.post("/endpoints", json={"name": "API", "target": "https://a.example"}))


def history_of(endpoint, days, tz, now):
    return daily_history(get_monitor("endpoint", endpoint["id"]), days, tz, now=now)


def by_date(history):
    return {row["date"]: row for row in history["items"]}


# Winter: Paris is UTC+1, New York UTC-5. Each hour's up seconds is a distinct power of two,
# so a day's sum says which hours it holds.
WINTER_HOURS = [utc(2026, 1, 13, 22), utc(2026, 1, 13, 23), utc(2026, 1, 14, 0),
                utc(2026, 1, 14, 4), utc(2026, 1, 14, 5)]
WINTER_NOW = utc(2026, 1, 15, 12)


@pytest.mark.parametrize("tz, sums", [
    ("UTC", {date(2026, 1, 13): 1 + 2, date(2026, 1, 14): 4 + 8 + 16}),
    ("Europe/Paris", {date(2026, 1, 13): 1, date(2026, 1, 14): 2 + 4 + 8 + 16}),
    ("America/New_York", {date(2026, 1, 13): 1 + 2 + 4 + 8, date(2026, 1, 14): 16}),
])
def test_hours_are_regrouped_into_local_days(endpoint, tz, sums):
    for index, hour in enumerate(WINTER_HOURS):
        add_hour("endpoint", endpoint["id"], hour, up=float(2 ** index), checks=1)
    history = history_of(endpoint, 4, tz, WINTER_NOW)
    assert history["timezone"] == tz and history["total"] == 4
    days = by_date(history)
    assert list(days) == [date(2026, 1, 12), date(2026, 1, 13), date(2026, 1, 14),
                          date(2026, 1, 15)]
    assert {day: row["up_seconds"] for day, row in days.items() if row["up_seconds"]} == sums
    for day, row in days.items():
        assert row["uptime_percent"] == (100.0 if day in sums else None)


def test_new_york_today_starts_at_its_own_midnight(endpoint):
    # 03:00 UTC on the 15th is still the 14th in New York.
    add_hour("endpoint", endpoint["id"], utc(2026, 1, 15, 3), up=60.0)
    add_hour("endpoint", endpoint["id"], utc(2026, 1, 15, 5), up=30.0)
    history = history_of(endpoint, 2, "America/New_York", utc(2026, 1, 15, 4, 30))
    assert [(row["date"], row["up_seconds"]) for row in history["items"]] == [
        (date(2026, 1, 13), 0.0), (date(2026, 1, 14), 60.0)]
    history = history_of(endpoint, 2, "America/New_York", utc(2026, 1, 15, 5, 30))
    assert [(row["date"], row["up_seconds"]) for row in history["items"]] == [
        (date(2026, 1, 14), 60.0), (date(2026, 1, 15), 30.0)]


def test_a_day_with_a_clock_change_has_its_own_hours(endpoint):
    # Paris moves to summer time at 01:00 UTC on 2026-03-29: that day has 23 hours,
    # from 23:00 UTC on the 28th to 22:00 UTC on the 29th.
    hours = {utc(2026, 3, 28, 22): 1.0, utc(2026, 3, 28, 23): 2.0, utc(2026, 3, 29, 21): 4.0,
             utc(2026, 3, 29, 22): 8.0}
    for hour, up in hours.items():
        add_hour("endpoint", endpoint["id"], hour, up=up)
    days = by_date(history_of(endpoint, 3, "Europe/Paris", utc(2026, 3, 30, 12)))
    assert [days[date(2026, 3, day)]["up_seconds"] for day in (28, 29, 30)] == [1.0, 6.0, 8.0]


def test_a_day_sums_its_hours(endpoint):
    day = utc(2026, 5, 4)
    add_hour("endpoint", endpoint["id"], day + timedelta(hours=1), up=3000.0, degraded=300.0,
             down=300.0, checks=60, failures=5)
    add_hour("endpoint", endpoint["id"], day + timedelta(hours=2), up=1800.0, down=1800.0,
             checks=60, failures=30)
    [row] = history_of(endpoint, 1, "UTC", day + timedelta(hours=12))["items"]
    assert row == {
        "date": date(2026, 5, 4), "uptime_percent": round(5100 / 7200 * 100, 3),
        "up_seconds": 4800.0, "degraded_seconds": 300.0, "down_seconds": 2100.0,
        "checks": 120, "failures": 35, "latency_mean_ms": None, "latency_p95_ms": None}
    assert row["uptime_percent"] == 70.833


def test_degraded_counts_as_up(endpoint):
    day = utc(2026, 5, 4)
    add_hour("endpoint", endpoint["id"], day, up=1000.0, degraded=2000.0, down=1000.0)
    [row] = history_of(endpoint, 1, "UTC", day + timedelta(hours=5))["items"]
    assert row["uptime_percent"] == 75.0


def test_the_p95_comes_from_the_merged_histograms(endpoint):
    day = utc(2026, 5, 4)
    # 90 fast checks in one hour, 10 slow ones in the next: the day's p95 is slow, though
    # neither hour's mean nor the fast hour's own p95 says so.
    add_hour("endpoint", endpoint["id"], day + timedelta(hours=1), up=3600.0, checks=90,
             latencies=(90 * 20.0, histogram(b25=90)))
    add_hour("endpoint", endpoint["id"], day + timedelta(hours=2), up=3600.0, checks=10,
             latencies=(10 * 400.0, histogram(b500=10)))
    [row] = history_of(endpoint, 1, "UTC", day + timedelta(hours=12))["items"]
    assert row["latency_mean_ms"] == (90 * 20.0 + 10 * 400.0) / 100
    assert row["latency_p95_ms"] == 500.0
    assert row["checks"] == 100


def test_days_without_data_are_null(endpoint):
    history = history_of(endpoint, 3, "UTC", utc(2026, 5, 4, 12))
    assert history["items"] == [
        {"date": date(2026, 5, day), "uptime_percent": None, "up_seconds": 0.0,
         "degraded_seconds": 0.0, "down_seconds": 0.0, "checks": 0, "failures": 0,
         "latency_mean_ms": None, "latency_p95_ms": None} for day in (2, 3, 4)]


def test_other_monitors_hours_stay_out(api, endpoint):
    day = utc(2026, 5, 4)
    other = created(api.post("/endpoints", json={"name": "B", "target": "https://b.example"}))
    add_hour("endpoint", other["id"], day, up=10.0)
    add_hour("heartbeat", endpoint["id"], day, up=20.0)    # same id, another kind
    add_hour("endpoint", endpoint["id"], day, up=40.0)
    [row] = history_of(endpoint, 1, "UTC", day + timedelta(hours=1))["items"]
    assert row["up_seconds"] == 40.0


def test_hours_outside_the_window_stay_out(endpoint):
    add_hour("endpoint", endpoint["id"], utc(2026, 5, 1, 23), up=1.0)   # before the first day
    add_hour("endpoint", endpoint["id"], utc(2026, 5, 2, 0), up=2.0)
    add_hour("endpoint", endpoint["id"], utc(2026, 5, 4, 23), up=4.0)
    add_hour("endpoint", endpoint["id"], utc(2026, 5, 5, 0), up=8.0)    # tomorrow
    history = history_of(endpoint, 3, "UTC", utc(2026, 5, 4, 12))
    assert [row["up_seconds"] for row in history["items"]] == [2.0, 0.0, 4.0]


# --- through the API --------------------------------------------------------------------------

def test_the_api_answers_90_utc_days_ending_today_by_default(api, endpoint):
    today = utcnow().date()
    three_days_ago = datetime.combine(today - timedelta(days=3), datetime.min.time(),
                                      tzinfo=timezone.utc) + timedelta(hours=12)
    add_hour("endpoint", endpoint["id"], three_days_ago, up=3600.0, checks=60,
             latencies=(60 * 30.0, histogram(b50=60)))
    history = ok(api.get(f"/endpoints/{endpoint['id']}/history"))
    assert (history["total"], history["timezone"], len(history["items"])) == (90, "UTC", 90)
    assert history["items"][0]["date"] == (today - timedelta(days=89)).isoformat()
    assert history["items"][-1]["date"] == today.isoformat()
    row = history["items"][-4]
    assert row == {"date": (today - timedelta(days=3)).isoformat(), "uptime_percent": 100.0,
                   "up_seconds": 3600.0, "degraded_seconds": 0.0, "down_seconds": 0.0,
                   "checks": 60, "failures": 0, "latency_mean_ms": 30.0, "latency_p95_ms": 50.0}


def test_the_api_takes_days_and_a_zone(api, endpoint):
    history = ok(api.get(f"/endpoints/{endpoint['id']}/history?days=7&tz=Europe/Paris"))
    assert (history["total"], len(history["items"]), history["timezone"]) == (7, 7, "Europe/Paris")
    assert ok(api.get(f"/endpoints/{endpoint['id']}/history?days=366"))["total"] == 366
    assert ok(api.get(f"/endpoints/{endpoint['id']}/history?days=1"))["total"] == 1


@pytest.mark.parametrize("query, field", [
    ("days=0", "days"), ("days=367", "days"), ("days=abc", "days"), ("days=1.5", "days"),
    ("days=", "days"), ("tz=Mars/Olympus", "tz"), ("tz=Europe", "tz"), ("tz=", "tz"),
    ("tz=europe/paris", "tz"), ("tz=../../etc/passwd", "tz"), ("tz=" + "A" * 300, "tz"),
])
def test_bad_arguments_are_422_naming_them(api, endpoint, query, field):
    assert_error(api.get(f"/endpoints/{endpoint['id']}/history?{query}"), 422, field)


@pytest.mark.parametrize("kind, body", [
    ("heartbeats", {"name": "Backup"}),
    ("certificates", {"name": "TLS", "host": "a.example"}),
])
def test_every_kind_has_a_history(api, kind, body):
    monitor = created(api.post(f"/{kind}", json=body))
    history = ok(api.get(f"/{kind}/{monitor['id']}/history?days=2&tz=America/New_York"))
    assert (history["total"], history["timezone"]) == (2, "America/New_York")


def test_containers_have_a_history(api):
    now = utcnow()
    container = Container(name="web", container_name="web", status="running", created_at=now,
                          updated_at=now)
    db.session.add(container)
    db.session.commit()
    assert ok(api.get(f"/containers/{container.id}/history?days=3"))["total"] == 3


def test_unknown_monitors_are_404(api):
    for kind in ("endpoints", "heartbeats", "certificates", "containers"):
        assert_error(api.get(f"/{kind}/404/history"), 404)




def test_the_number_of_queries_does_not_grow_with_the_days(api, endpoint):
    start = utcnow().replace(minute=0, second=0, microsecond=0)
    for back in range(0, 24 * 10, 7):
        db.session.add(MonitorHour(monitor_type="endpoint", monitor_id=endpoint["id"],
                                   hour=start - timedelta(hours=back), up_seconds=3600.0,
                                   latency_histogram=[]))
    db.session.commit()
    counts = []
    for days in (1, 366):
        with counting_queries() as statements:
            ok(api.get(f"/endpoints/{endpoint['id']}/history?days={days}&tz=Asia/Kolkata"))
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert sum("monitor_hours" in s for s in statements) == 1


# --- retention: hours older than MAINTENANT_MONITOR_HISTORY_DAYS are pruned --------------------

def test_hours_past_the_retention_are_pruned_and_the_longest_history_stays_whole(
        api, app, endpoint):
    start = utcnow().replace(minute=0, second=0, microsecond=0)
    for days_back in (0, 365, 366, 399, 401, 800):
        add_hour("endpoint", endpoint["id"], start - timedelta(days=days_back), up=3600.0,
                 checks=60)
    app.config["MONITOR_HISTORY_DAYS"] = 400
    longest = f"/endpoints/{endpoint['id']}/history?days=366"
    before = ok(api.get(longest))

    assert jobs.prune_monitor_history() == 2

    kept = db.session.scalars(db.select(MonitorHour.hour).order_by(MonitorHour.hour)).all()
    assert [(start - hour).days for hour in reversed(kept)] == [0, 365, 366, 399]
    # The longest history the API serves still has every day it had before the prune.
    after = ok(api.get(longest))
    assert after == before and sum(row["checks"] for row in after["items"]) == 2 * 60
    assert jobs.prune_monitor_history() == 0


def test_a_retention_of_zero_keeps_every_hour(app, endpoint):
    add_hour("endpoint", endpoint["id"], utcnow() - timedelta(days=3000), up=60.0)
    app.config["MONITOR_HISTORY_DAYS"] = 0
    assert jobs.prune_monitor_history() == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(MonitorHour)) == 1


@pytest.mark.parametrize("value, days", [(None, 400), ("", 400), (" 0 ", 0), ("368", 368),
                                         ("3650", 3650)])
def test_the_retention_setting(value, days):
    assert monitor_history_days(value) == days


@pytest.mark.parametrize("value", ["367", "30", "-1", "1.5", "a year"])
def test_a_retention_shorter_than_what_the_page_reads_stops_the_start(value):
    with pytest.raises(ValueError, match="MAINTENANT_MONITOR_HISTORY_DAYS"):
        monitor_history_days(value)
