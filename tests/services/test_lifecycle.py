"""The maintenance lifecycle with an injected clock: moves, their events, recurrence, edges."""

import threading
from datetime import datetime, timedelta, timezone

import pytest

from maintenant.errors import Conflict
from maintenant.extensions import db
from maintenant.models import MaintenanceWindow, OutboxEvent, StatusLogEntry, utcnow
from maintenant.services import lifecycle
from maintenant.services.maintenance import (cancel_maintenance, change_maintenance,
                                             complete_maintenance, delete_maintenance,
                                             schedule_maintenance)
from maintenant.services.settings import update_settings

from factories import make_component, make_maintenance

HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def no_reminders(app):
    """The moves on their own; reminders (an earlier edge) are tested in test_reminders.py."""
    app.config["MAINTENANCE_REMINDER_MINUTES"] = 0


def window_events(window=None):
    """(kind, payload status) of the maintenance events recorded, oldest first."""
    rows = db.session.scalars(db.select(OutboxEvent).where(OutboxEvent.type.like("maintenance_%"))
                              .order_by(OutboxEvent.id)).all()
    return [(row.type, row.payload["status"]) for row in rows
            if window is None or row.payload["id"] == window.id]


def lifecycle_events(window=None):
    return [event for event in window_events(window)
            if event[0] in ("maintenance_started", "maintenance_ended")]


def component_events(component):
    rows = db.session.scalars(db.select(OutboxEvent).where(OutboxEvent.type == "component_changed")
                              .order_by(OutboxEvent.id)).all()
    return [row.payload["status"] for row in rows if row.payload["id"] == component.id]


def logged(component):
    db.session.refresh(component)
    return component.logged_status


def recurring(title="Weekly restart", starts_at=None, lasts=HOUR, components_=(),
              frequency="weekly", interval=1, until=None):
    starts_at = starts_at or utcnow().replace(microsecond=0) + HOUR
    return schedule_maintenance({
        "title": title, "description": "Rolling restart.", "starts_at": starts_at,
        "ends_at": starts_at + lasts, "components": [c.id for c in components_],
        "cancelled": False,
        "recurrence": {"frequency": frequency, "interval": interval, "until": until}})


def series(first):
    """The windows of ``first``'s series, by start."""
    series_id = first.series_id or first.id
    return db.session.scalars(
        db.select(MaintenanceWindow)
        .where((MaintenanceWindow.id == series_id) | (MaintenanceWindow.series_id == series_id))
        .order_by(MaintenanceWindow.starts_at)).all()


def edge_of(window, redis_conn):
    return redis_conn.zscore(lifecycle.edges_key(), window.id)


# Start and end


def test_a_window_starts_and_ends_on_its_times(app):
    component = make_component("Database")
    window = make_maintenance("Upgrade", [component], starts_in=HOUR, lasts=HOUR)

    assert lifecycle.advance(window.starts_at - SECOND) == 0
    assert (lifecycle_events(), logged(component)) == ([], "operational")

    assert lifecycle.advance(window.starts_at) == 1
    assert lifecycle_events() == [("maintenance_started", "in_progress")]
    assert logged(component) == "maintenance"
    assert component_events(component)[-1] == "maintenance"

    assert lifecycle.advance(window.starts_at + 5 * SECOND) == 0  # nothing new
    assert lifecycle.advance(window.ends_at) == 1
    assert lifecycle_events() == [("maintenance_started", "in_progress"),
                                  ("maintenance_ended", "completed")]
    assert logged(component) == "operational"
    assert lifecycle.advance(window.ends_at + HOUR) == 0
    assert len(lifecycle_events()) == 2


def test_the_event_carries_the_window_as_the_api_shows_it(app):
    component = make_component("Database")
    window = make_maintenance("Upgrade", [component], description="Writes pause.")
    lifecycle.advance(window.starts_at)
    event = db.session.scalars(db.select(OutboxEvent)
                               .filter_by(type="maintenance_started")).one()
    assert {name: event.payload[name] for name in ("id", "title", "description", "components",
                                                   "status", "recurrence")} == {
        "id": window.id, "title": "Upgrade", "description": "Writes pause.",
        "components": [component.id], "status": "in_progress", "recurrence": None}


def test_a_late_scheduler_announces_both_moves_in_order(app):
    component = make_component("Database")
    window = make_maintenance("Upgrade", [component], starts_in=HOUR, lasts=HOUR)

    assert lifecycle.advance(window.ends_at + timedelta(minutes=3)) == 1

    assert lifecycle_events() == [("maintenance_started", "in_progress"),
                                  ("maintenance_ended", "completed")]
    assert logged(component) == "operational"
    assert lifecycle.advance(window.ends_at + timedelta(minutes=4)) == 0


def test_moves_older_than_a_day_are_recorded_without_events(app):
    # After an upgrade every past window is unannounced: no storm of day-old events.
    window = MaintenanceWindow(title="Long ago", starts_at=utcnow() - timedelta(days=30),
                               ends_at=utcnow() - timedelta(days=30) + HOUR)
    db.session.add(window)
    db.session.commit()

    assert lifecycle.advance() == 1
    assert lifecycle_events() == []
    assert window.announced_status == "completed"


def test_a_past_window_entered_for_the_record_announces_nothing(app):
    component = make_component("Database")
    window = make_maintenance("Last night", [component], starts_in=-3 * HOUR, lasts=HOUR)

    assert window.announced_status == "completed"
    assert lifecycle_events() == []
    assert lifecycle.advance() == 0


def test_a_window_created_in_progress_is_announced_at_once(app):
    component = make_component("Database")
    window = make_maintenance("Now", [component], starts_in=-5 * timedelta(minutes=1))

    assert lifecycle_events(window) == [("maintenance_started", "in_progress")]
    assert logged(component) == "maintenance"
    assert lifecycle.advance() == 0


def test_a_window_written_behind_the_services_back_is_started_when_advanced(app):
    component = make_component("Database")
    window = MaintenanceWindow(title="Direct", starts_at=utcnow() - timedelta(minutes=1),
                               ends_at=utcnow() + HOUR, components=[component])
    db.session.add(window)
    db.session.commit()

    assert lifecycle.advance() == 1
    assert lifecycle_events(window) == [("maintenance_started", "in_progress")]
    assert logged(component) == "maintenance"


def test_a_window_moved_while_scheduled_starts_at_its_new_time(app, redis_conn):
    component = make_component("Database")
    window = make_maintenance("Upgrade", [component], starts_in=HOUR)
    old_start = window.starts_at
    new_start = old_start + 2 * HOUR
    assert edge_of(window, redis_conn) == old_start.timestamp()

    change_maintenance(window, {"starts_at": new_start, "ends_at": new_start + HOUR})

    assert edge_of(window, redis_conn) == new_start.timestamp()
    assert lifecycle.advance(old_start + SECOND) == 0
    assert (lifecycle_events(), logged(component)) == ([], "operational")
    assert lifecycle.advance(new_start) == 1
    assert lifecycle_events() == [("maintenance_started", "in_progress")]
    assert edge_of(window, redis_conn) == (new_start + HOUR).timestamp()


def test_a_window_moved_into_the_past_starts_at_once(app):
    window = make_maintenance("Upgrade", starts_in=HOUR)
    change_maintenance(window, {"starts_at": utcnow() - timedelta(minutes=1)})
    assert lifecycle_events() == [("maintenance_started", "in_progress")]


# Complete, cancel, delete


def test_completing_a_window_in_progress_ends_it_now(app, redis_conn):
    component = make_component("Database")
    window = make_maintenance("Upgrade", [component], starts_in=-timedelta(minutes=5))
    before = utcnow()

    complete_maintenance(window)

    assert before <= window.ends_at <= utcnow()
    assert window.status == "completed"
    assert lifecycle_events() == [("maintenance_started", "in_progress"),
                                  ("maintenance_ended", "completed")]
    assert logged(component) == "operational"
    assert edge_of(window, redis_conn) is None
    assert lifecycle.advance() == 0


@pytest.mark.parametrize("starts_in, cancelled", [(HOUR, False), (-2 * HOUR, False),
                                                 (HOUR, True)])
def test_only_a_window_in_progress_can_be_completed(app, starts_in, cancelled):
    window = make_maintenance("Upgrade", starts_in=starts_in)
    if cancelled:
        cancel_maintenance(window)
    with pytest.raises(Conflict):
        complete_maintenance(window)


def test_cancelling_a_scheduled_window_means_it_never_starts(app, redis_conn):
    component = make_component("Database")
    window = make_maintenance("Upgrade", [component], starts_in=HOUR)

    cancel_maintenance(window)

    assert window.status == "cancelled"
    assert window_events(window)[-1] == ("maintenance_updated", "cancelled")
    assert edge_of(window, redis_conn) is None
    assert lifecycle.advance(window.starts_at + SECOND) == 0
    assert (lifecycle_events(), logged(component)) == ([], "operational")


@pytest.mark.parametrize("starts_in", [-timedelta(minutes=5), -2 * HOUR])
def test_only_a_window_that_has_not_started_can_be_cancelled(app, starts_in):
    window = make_maintenance("Upgrade", starts_in=starts_in)
    with pytest.raises(Conflict):
        cancel_maintenance(window)
    assert not window.cancelled


def test_deleting_a_window_in_progress_frees_its_components(app, redis_conn):
    component = make_component("Database")
    window = make_maintenance("Upgrade", [component], starts_in=-timedelta(minutes=5))
    window_id = window.id
    assert logged(component) == "maintenance"

    delete_maintenance(window)

    assert logged(component) == "operational"
    assert component_events(component)[-1] == "operational"
    assert window_events()[-1] == ("maintenance_deleted", "in_progress")
    assert redis_conn.zscore(lifecycle.edges_key(), window_id) is None
    assert lifecycle.advance() == 0


# Recurrence


def test_a_weekly_window_schedules_its_next_occurrence_when_it_starts(app):
    component = make_component("Database")
    first = recurring(components_=[component])
    assert len(series(first)) == 1

    lifecycle.advance(first.starts_at)

    occurrences = series(first)
    assert len(occurrences) == 2
    second = occurrences[1]
    assert (second.starts_at, second.ends_at) == (first.starts_at + timedelta(days=7),
                                                 first.ends_at + timedelta(days=7))
    assert (second.title, second.description, [c.id for c in second.components]) == (
        first.title, first.description, [component.id])
    assert (second.series_id, second.recurrence_frequency, second.status) == (
        first.id, "weekly", "scheduled")
    assert first.successor_scheduled and not second.successor_scheduled
    assert window_events(second) == [("maintenance_scheduled", "scheduled")]


def test_the_next_occurrence_is_scheduled_exactly_once(app):
    first = recurring()
    lifecycle.advance(first.starts_at)
    lifecycle.advance(first.starts_at + SECOND)
    lifecycle.advance(first.ends_at)
    # Even acting on the window again (a second worker that read it before) adds nothing.
    db.session.refresh(first)
    lifecycle.schedule_successor(first, first.ends_at)
    db.session.commit()

    assert len(series(first)) == 2
    assert [kind for kind, _ in window_events()].count("maintenance_scheduled") == 2


def test_each_occurrence_schedules_the_next_and_keeps_the_series_id(app):
    first = recurring(frequency="daily", interval=2)
    lifecycle.advance(first.starts_at)
    second = series(first)[1]
    lifecycle.advance(second.starts_at)

    third = series(first)[2]
    assert third.starts_at == first.starts_at + timedelta(days=4)
    assert third.series_id == first.id


def test_a_monthly_window_keeps_its_day_clamped_to_short_months(app):
    first = recurring(frequency="monthly",
                      starts_at=datetime(2031, 1, 31, 22, 0, tzinfo=timezone.utc))
    starts = [first.starts_at]
    window = first
    for _ in range(3):
        lifecycle.advance(window.starts_at)
        window = series(first)[-1]
        starts.append(window.starts_at)

    assert [moment.date().isoformat() for moment in starts] == [
        "2031-01-31", "2031-02-28", "2031-03-31", "2031-04-30"]
    assert {moment.hour for moment in starts} == {22}


def test_recurrence_keeps_the_local_time_across_daylight_saving(app):
    update_settings({"timezone": "Europe/Paris"})
    # 02:30 in Paris on 25 March 2031 (CET, UTC+1); the clocks go forward on 30 March.
    first = recurring(starts_at=datetime(2031, 3, 25, 1, 30, tzinfo=timezone.utc))
    lifecycle.advance(first.starts_at)
    second = series(first)[1]
    assert second.starts_at == datetime(2031, 4, 1, 0, 30, tzinfo=timezone.utc)  # 02:30 CEST


def test_no_occurrence_is_scheduled_past_until(app):
    starts_at = utcnow().replace(microsecond=0) + HOUR
    first = recurring(starts_at=starts_at, until=starts_at + timedelta(days=10))
    lifecycle.advance(first.starts_at)
    second = series(first)[1]
    lifecycle.advance(second.starts_at)

    assert len(series(first)) == 2
    assert second.successor_scheduled


def test_putting_recurrence_null_on_the_upcoming_occurrence_stops_the_series(app):
    first = recurring()
    lifecycle.advance(first.starts_at)
    second = series(first)[1]

    change_maintenance(second, {"recurrence": None})
    lifecycle.advance(second.starts_at)
    lifecycle.advance(second.ends_at)

    assert [w.id for w in series(first)] == [first.id, second.id]


def test_a_cancelled_occurrence_still_schedules_the_next(app):
    first = recurring()
    cancel_maintenance(first)

    occurrences = series(first)
    assert len(occurrences) == 2
    assert occurrences[1].starts_at == first.starts_at + timedelta(days=7)
    assert occurrences[1].status == "scheduled"


def test_a_window_completed_early_schedules_the_next_if_none_was(app):
    # Acted on behind the lifecycle's back: started and ended without ever being advanced.
    first = recurring(starts_at=utcnow().replace(microsecond=0) - timedelta(minutes=5))
    assert len(series(first)) == 2  # created in progress: the next one right away
    complete_maintenance(first)
    assert len(series(first)) == 2


def test_a_scheduler_down_for_weeks_skips_the_missed_occurrences(app):
    first = recurring()
    now = first.starts_at + timedelta(days=14, minutes=30)  # the third occurrence is under way

    lifecycle.advance(now)

    occurrences = series(first)
    assert [w.starts_at - first.starts_at for w in occurrences] == [
        timedelta(0), timedelta(days=14), timedelta(days=21)]
    assert [w.status_at(now) for w in occurrences] == ["completed", "in_progress", "scheduled"]
    assert occurrences[1].announced_status == "in_progress"


# Edges


def test_reconcile_puts_back_the_edges_redis_lost(app, redis_conn):
    scheduled = make_maintenance("Later", starts_in=HOUR)
    running = make_maintenance("Now", starts_in=-timedelta(minutes=5))
    done = make_maintenance("Done", starts_in=-2 * HOUR)
    redis_conn.delete(lifecycle.edges_key())

    assert lifecycle.reconcile_edges() == 2

    assert edge_of(scheduled, redis_conn) == scheduled.starts_at.timestamp()
    assert edge_of(running, redis_conn) == running.ends_at.timestamp()
    assert edge_of(done, redis_conn) is None


def test_reconcile_keeps_an_earlier_edge(app, redis_conn):
    window = make_maintenance("Later", starts_in=HOUR)
    redis_conn.zadd(lifecycle.edges_key(), {window.id: 5})
    lifecycle.reconcile_edges()
    assert edge_of(window, redis_conn) == 5


def test_due_edges_are_popped_once_and_queue_one_advance(app, redis_conn):
    first = make_maintenance("First", starts_in=HOUR)
    second = make_maintenance("Second", starts_in=HOUR + SECOND)
    key, job_key = lifecycle.edges_key(), lifecycle.advance_job_key()
    due_by = (second.starts_at + SECOND).timestamp()

    assert lifecycle.pop_due_edges(redis_conn, key, now=first.starts_at.timestamp() - 1) == []
    assert sorted(lifecycle.pop_due_edges(redis_conn, key, now=due_by)) == [first.id, second.id]
    assert lifecycle.pop_due_edges(redis_conn, key, now=due_by) == []

    job = lifecycle.queue_advance(redis_conn, job_key)
    assert job is not None
    assert lifecycle.queue_advance(redis_conn, job_key) is None  # one is waiting already


# Two workers at once


def run_together(app, count, target):
    barrier = threading.Barrier(count)
    errors = []

    def run():
        with app.app_context():
            try:
                barrier.wait(10)
                target()
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


def test_two_advances_at_once_announce_each_move_once(app):
    components = [make_component(f"Part {n}") for n in range(4)]
    starts_at = utcnow().replace(microsecond=0) + HOUR
    windows = [recurring(f"Window {n}", starts_at=starts_at, components_=[components[n]])
               for n in range(4)]
    db.session.commit()

    run_together(app, 2, lambda: lifecycle.advance(starts_at + SECOND))

    db.session.expire_all()
    for window in windows:
        assert lifecycle_events(window) == [("maintenance_started", "in_progress")]
        assert len(series(window)) == 2
    for component in components:
        assert component_events(component) == ["operational", "maintenance"]
        entries = db.session.scalars(db.select(StatusLogEntry.to_status)
                                     .filter_by(component_id=component.id)).all()
        assert entries == ["operational", "maintenance"]


# The alert engine: a monitor still down when its window ends alerts then


def down_during_a_window(app):
    from maintenant.models import AlertChannel
    from maintenant.monitors.base import ProbeResult
    from maintenant.services import monitor_config
    from maintenant.services.monitors import record_results

    app.config.update(ALERT_FLAP_THRESHOLD=100)
    db.session.add(AlertChannel(name="Ops", type="webhook", url="http://127.0.0.1:9/hook",
                                enabled=True))
    endpoint, _ = monitor_config.create_endpoint(
        {"name": "API health", "target": "https://api.example/health", "failure_threshold": 1})
    component = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    window = make_maintenance("Upgrade", [component], starts_in=-timedelta(minutes=5),
                              lasts=timedelta(minutes=10))
    for state in ("up", "down"):
        record_results([("endpoint", endpoint.id, ProbeResult(state, error="HTTP 503"),
                         utcnow())])
    return window


def alerts_now():
    from maintenant.models import Alert

    db.session.expire_all()
    return [(a.status, a.reason) for a in db.session.scalars(db.select(Alert).order_by(Alert.id))]


def test_a_window_that_ends_releases_the_alerts_it_held(app):
    window = down_during_a_window(app)
    assert [status for status, _ in alerts_now()] == ["suppressed"]

    lifecycle.advance(window.ends_at + SECOND)

    assert alerts_now()[1:] == [("pending", "still down when maintenance ended")]
    lifecycle.advance(window.ends_at + 2 * SECOND)
    assert len(alerts_now()) == 2


def test_completing_a_window_early_releases_its_alerts(app):
    window = down_during_a_window(app)
    complete_maintenance(window)
    assert alerts_now()[-1] == ("pending", "still down when maintenance ended")


def test_deleting_a_window_in_progress_releases_its_alerts(app):
    window = down_during_a_window(app)
    delete_maintenance(window)
    assert alerts_now()[-1] == ("pending", "still down when maintenance ended")
