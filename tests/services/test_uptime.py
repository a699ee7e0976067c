"""Daily uptime from the status log, incidents and monitor hours (services/uptime.py)."""

import re
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from factories import counting_queries, make_component, make_group
from maintenant.extensions import db
from maintenant.models import (Component, Incident, IncidentUpdate, MonitorHour, PageSettings,
                               StatusLogEntry)
from maintenant.services.page import page_with_uptime
from maintenant.services.uptime import (PARTIAL_WEIGHT, average_bars, component_uptime,
                                        daily_uptime, day_percent, format_percent, uptime_level,
                                        window_percent)

DAY = 86400


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def component(created_at, log, monitor=None, name="API"):
    """A component created at ``created_at`` whose status log is ``log`` [(at, status, cause)]."""
    row = Component(name=name, description="", created_at=created_at,
                    monitor_type=monitor and "endpoint", monitor_id=monitor)
    db.session.add(row)
    db.session.flush()
    previous = None
    for at, status, *cause in log:
        db.session.add(StatusLogEntry(component_id=row.id, from_status=previous, to_status=status,
                                      at=at, cause=cause[0] if cause else "monitor"))
        previous = status
    row.logged_status = previous
    db.session.commit()
    return row


def incident(created_at, resolved_at, severity="major", components=(), draft=False, title="Boom"):
    row = Incident(title=title, severity=severity, created_at=created_at, updated_at=created_at,
                   status="resolved" if resolved_at else "investigating", resolved_at=resolved_at,
                   draft=draft)
    row.components = list(components)
    row.updates.append(IncidentUpdate(status=row.status, message="m", created_at=created_at))
    db.session.add(row)
    db.session.commit()
    return row


def monitor_hour(monitor_id, hour, up=3600.0):
    db.session.add(MonitorHour(monitor_type="endpoint", monitor_id=monitor_id, hour=hour,
                               up_seconds=up, degraded_seconds=0.0, down_seconds=0.0, checks=60,
                               failures=0, latency_sum_ms=0.0, latency_count=0,
                               latency_histogram=[]))
    db.session.commit()


def bars_of(row, days, zone="UTC", now=None):
    return {bar.date: bar for bar in daily_uptime([row], days, zone, now)[row.id]}


# The formula, one day at a time (UTC days; the day under test is 10 March 2026)

D = utc(2026, 3, 10)
NOW = utc(2026, 3, 12, 12)
LONG_AGO = utc(2026, 1, 1)


def hours(n):
    return timedelta(hours=n)


FORMULA = [
    # (what, status log from long ago, expected percent of 10 March)
    ("only operational", [(LONG_AGO, "operational")], 100.0),
    ("1 h major outage", [(LONG_AGO, "operational"), (D + hours(3), "major_outage"),
                          (D + hours(4), "operational")], 95.83),
    ("1 h partial outage at its weight", [(LONG_AGO, "operational"),
                                          (D + hours(3), "partial_outage"),
                                          (D + hours(4), "operational")],
     round(100 * (1 - PARTIAL_WEIGHT / 24), 2)),
    ("degraded and maintenance count as up", [(LONG_AGO, "operational"),
                                              (D + hours(1), "degraded"),
                                              (D + hours(6), "maintenance", "maintenance"),
                                              (D + hours(9), "operational")], 100.0),
    ("an outage going on since before the day", [(LONG_AGO, "major_outage")], 0.0),
    ("an outage across midnight counts in each day", [(LONG_AGO, "operational"),
                                                      (D - hours(1), "major_outage"),
                                                      (D + hours(2), "operational")], 91.67),
]


@pytest.mark.parametrize("what, log, expected", FORMULA, ids=[row[0] for row in FORMULA])
def test_the_formula(app, what, log, expected):
    bar = bars_of(component(LONG_AGO, log), 5, now=NOW)[date(2026, 3, 10)]
    assert round(bar.uptime_percent, 2) == expected
    assert bar.observed_seconds == DAY


def test_days_before_the_component_existed_are_no_data_never_green(app):
    row = component(D + hours(12), [(D + hours(12), "operational"), (D + hours(18), "major_outage"),
                                    (D + hours(19), "operational")])
    bars = bars_of(row, 5, now=NOW)
    assert bars[date(2026, 3, 9)].uptime_percent is None
    assert bars[date(2026, 3, 9)].level == "none"
    # Half a day observed, one hour of it down.
    assert bars[date(2026, 3, 10)].observed_seconds == DAY / 2
    assert round(bars[date(2026, 3, 10)].uptime_percent, 2) == 91.67


def test_today_counts_up_to_now(app):
    row = component(LONG_AGO, [(LONG_AGO, "operational"), (NOW - hours(2), "major_outage"),
                               (NOW - hours(1), "operational")])
    today = bars_of(row, 3, now=NOW)[date(2026, 3, 12)]
    assert today.observed_seconds == 12 * 3600
    assert round(today.uptime_percent, 2) == 91.67


def test_a_day_with_no_log_is_no_data(app):
    # No entry at all before 11 March: what the status was is unknown.
    row = component(LONG_AGO, [(utc(2026, 3, 11), "operational")])
    bars = bars_of(row, 4, now=NOW)
    assert bars[date(2026, 3, 10)].uptime_percent is None
    assert bars[date(2026, 3, 11)].uptime_percent == 100.0


def test_a_monitored_component_has_no_data_on_days_its_monitor_was_silent(app):
    row = component(LONG_AGO, [(LONG_AGO, "operational")], monitor=7)
    monitor_hour(7, utc(2026, 3, 11, 5))
    monitor_hour(8, utc(2026, 3, 10, 5))  # another monitor
    bars = bars_of(row, 4, now=NOW)
    assert bars[date(2026, 3, 10)].uptime_percent is None, "silent monitor: no data, not 100"
    assert bars[date(2026, 3, 11)].uptime_percent == 100.0
    assert bars[date(2026, 3, 12)].uptime_percent is None


def test_an_incident_the_log_never_saw_counts_but_not_in_maintenance_or_drafts(app):
    row = component(LONG_AGO, [(LONG_AGO, "operational"), (D + hours(20), "maintenance", "maintenance"),
                               (D + hours(22), "operational", "maintenance")])
    # A backfilled critical incident from 02:00 to 03:00, and one in the maintenance window.
    incident(D + hours(2), D + hours(3), "critical", [row], title="Backfilled")
    incident(D + hours(20), D + hours(21), "critical", [row], title="In maintenance")
    incident(D + hours(5), D + hours(9), "critical", [row], draft=True, title="Draft")
    bar = bars_of(row, 5, now=NOW)[date(2026, 3, 10)]
    assert round(bar.uptime_percent, 2) == 95.83
    assert [title for _, title in bar.incidents] == ["Backfilled", "In maintenance"]
    assert bars_of(row, 5, now=NOW)[date(2026, 3, 9)].incidents == ()


def test_an_override_wins_over_an_incident(app):
    row = component(LONG_AGO, [(LONG_AGO, "operational"),
                               (D + hours(2), "operational", "override")])
    incident(D + hours(1), D + hours(4), "critical", [row])
    bar = bars_of(row, 5, now=NOW)[date(2026, 3, 10)]
    assert round(bar.uptime_percent, 2) == 95.83  # only 01:00-02:00, before the override


# Days of the page's time zone


def test_days_are_local_days_including_summer_time_changes(app):
    paris_start = utc(2026, 3, 28, 23)  # 29 March 2026 00:00 CET: a 23-hour day
    row = component(LONG_AGO, [(LONG_AGO, "operational"), (paris_start + hours(5), "major_outage"),
                               (paris_start + hours(6), "operational"),
                               (utc(2026, 10, 24, 22) + hours(5), "major_outage"),  # 25 Oct: 25 h
                               (utc(2026, 10, 24, 22) + hours(6), "operational")])
    bars = bars_of(row, 300, "Europe/Paris", now=utc(2026, 11, 2))
    spring, autumn = bars[date(2026, 3, 29)], bars[date(2026, 10, 25)]
    assert spring.observed_seconds == 23 * 3600
    assert round(spring.uptime_percent, 3) == round(100 * (1 - 1 / 23), 3)
    assert autumn.observed_seconds == 25 * 3600
    assert round(autumn.uptime_percent, 3) == 96.0
    assert bars[date(2026, 3, 28)].uptime_percent == 100.0
    # The same moments in UTC days: the outage falls in 29 March either way, the day is 24 h.
    assert bars_of(row, 300, "UTC", now=utc(2026, 11, 2))[date(2026, 3, 29)].observed_seconds == DAY


def test_a_monitor_hour_counts_in_the_local_day_it_starts_in(app):
    row = component(LONG_AGO, [(LONG_AGO, "operational")], monitor=3)
    monitor_hour(3, utc(2026, 3, 10, 23))  # 11 March 00:00 in Paris
    bars = bars_of(row, 4, "Europe/Paris", now=NOW)
    assert bars[date(2026, 3, 10)].uptime_percent is None
    assert bars[date(2026, 3, 11)].uptime_percent == 100.0


# Windows, groups, figures


def test_window_and_group_figures():
    bars = [daily_bar(100.0, DAY), daily_bar(None, 0), daily_bar(50.0, DAY)]
    assert window_percent(bars) == 75.0
    assert window_percent([daily_bar(None, 0)]) is None
    group = average_bars([[daily_bar(100.0, DAY), daily_bar(None, 0)],
                          [daily_bar(90.0, DAY), daily_bar(None, 0)]])
    assert [bar.uptime_percent for bar in group] == [95.0, None]
    assert day_percent(0, 0, 0) is None
    assert format_percent(99.9999) == "99.99%"
    assert format_percent(100.0) == "100%"
    assert format_percent(95.8333) == "95.83%"
    assert [uptime_level(p) for p in (100.0, 99.7, 99.2, 96, 12, None)] == \
        ["100", "995", "99", "95", "low", "none"]


def daily_bar(percent, observed):
    from maintenant.services.uptime import DayBar

    down = 0.0 if percent is None else observed * (100 - percent) / 100
    return DayBar(date(2026, 1, 1), percent, down, 0.0, observed)


def test_component_uptime_is_the_window_figure(app):
    now = utcnow_().replace(second=0, microsecond=0)
    a = component(now - timedelta(days=40), [(now - timedelta(days=40), "operational"),
                                             (now - hours(12), "major_outage"),
                                             (now - hours(6), "operational")])
    b = component(now - timedelta(days=40), [], name="No log")
    figures = component_uptime([a.id, b.id, 999], 30, now=now)
    observed = (now - (now.replace(hour=0, minute=0, second=0, microsecond=0)
                       - timedelta(days=29))).total_seconds()
    assert figures[a.id] == pytest.approx(100 * (1 - 6 * 3600 / observed))
    assert figures[b.id] is None
    assert figures[999] is None


def utcnow_():
    from maintenant.models import utcnow

    return utcnow()


# The page


class Bars(HTMLParser):
    """Each component's bar titles, and each group's figure, from the page."""

    def __init__(self):
        super().__init__()
        self.component = None
        self.bars = {}
        self.figures = []
        self.in_summary_figure = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li" and attrs.get("data-component-id"):
            self.component = int(attrs["data-component-id"])
            self.bars[self.component] = []
        if tag == "li" and "bar" in (attrs.get("class") or "").split():
            self.bars[self.component].append((attrs["class"], attrs.get("title")))


def page_bars(client):
    parser = Bars()
    parser.feed(client.get("/status/").get_data(as_text=True))
    return parser.bars


def test_the_page_shows_a_bar_per_day_with_its_title(app, client):
    settings = PageSettings(id=1, title="Status", timezone="Europe/Paris", uptime_days=30)
    db.session.merge(settings)
    db.session.commit()
    api = make_component("API <b>")
    make_component("Web")

    bars = page_bars(client)

    assert sorted(bars) == sorted([api.id, api.id + 1])
    assert len(bars[api.id]) == 30
    classes, title = bars[api.id][-1]
    assert classes == "bar up-100"
    assert re.fullmatch(r"\d+ \w+ \d{4}: 100% uptime", title)
    assert bars[api.id][0] == ("bar up-none", bars[api.id][0][1])
    assert bars[api.id][0][1].endswith(": no data")
    page = client.get("/status/").get_data(as_text=True)
    assert "30 days ago" in page and "Today" in page


def test_the_page_names_the_days_incidents_and_averages_groups(app, client):
    from factories import make_incident
    from maintenant.services.incidents import post_incident_update

    group = make_group("Core")
    api = make_component("API", group_id=group.id)
    web = make_component("Web", group_id=group.id)
    gone = make_incident("Errors <script>alert(1)</script>", "critical", [api])
    # A day of history for API: it has been down since it was created (page days: UTC).
    log = db.session.scalars(db.select(StatusLogEntry).where(
        StatusLogEntry.component_id == api.id)).all()
    assert log[-1].to_status == "major_outage"
    post_incident_update(gone, {"status": "resolved", "message": "ok"})

    page = client.get("/status/").get_data(as_text=True)
    today = page_bars(client)[api.id][-1]
    assert today[1].endswith("Incidents: Errors <script>alert(1)</script>")  # as the reader sees it
    assert "Incidents: Errors &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert today[0] != "bar up-100"
    assert page_bars(client)[web.id][-1][0] == "bar up-100"
    # The group's figure is the average of its components' figures.
    state = page_with_uptime()
    core = state["groups"][0]
    api_figure, web_figure = (c["uptime"] for c in core["components"])
    assert web_figure == 100.0 and api_figure < 100.0
    assert core["uptime"] == pytest.approx((api_figure + web_figure) / 2)
    group_figure, api_shown, web_shown = (float(figure) for figure in re.findall(
        r'<span class="uptime-figure">([\d.]+)% uptime', page))
    assert web_shown == 100.0
    assert abs(group_figure - (api_shown + web_shown) / 2) <= 0.01


def test_a_render_runs_the_same_queries_with_more_components_monitors_and_incidents(app, client):
    from factories import make_incident

    def build(n):
        group = make_group(f"G{n}")
        components = [make_component(f"C{n}-{i}", group_id=group.id) for i in range(n)]
        for i, row in enumerate(components):
            row.monitor_type, row.monitor_id = "endpoint", 100 * n + i
            monitor_hour(100 * n + i, utc(2026, 1, 1) + timedelta(hours=i))
            make_incident(f"I{n}-{i}", "major", [row])
        db.session.commit()

    def count():
        with counting_queries() as statements:
            assert client.get("/status/").status_code == 200
        return len(statements)

    build(1)
    small = count()
    build(12)
    large = count()
    assert small == large
