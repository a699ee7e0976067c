"""Maintenance windows of a few seconds through the real scheduler and worker processes.

The Procfile's scheduler and worker run against the test Redis and the test database; the
test writes windows through the service, as the API does, and watches the outbox and the
components' status log.
"""

import time
from datetime import timedelta

from maintenant.extensions import db
from maintenant.models import Component, OutboxEvent, utcnow
from maintenant.services import lifecycle
from maintenant.services.maintenance import complete_maintenance

from factories import make_component, make_maintenance
from test_processes import (job_status, output, procfile, processes,  # noqa: F401 (fixture)
                            wait_until, worker_env)

# The scheduler polls every second and the worker picks a job up at once: a move is acted on
# within this long of its edge (the housekeeping safety net alone would take up to 15 s).
ON_TIME = 4.0


def start_scheduler_and_worker(processes, database_url, redis_conn):
    env = worker_env(processes, database_url)
    scheduler = processes.start(procfile()["scheduler"], env, name="scheduler")
    worker = processes.start(procfile()["worker"], env, name="worker")
    # Up and working: the first housekeeping run has gone through the worker.
    wait_until(lambda: job_status(redis_conn, "periodic-housekeeping") == "finished", worker,
               "housekeeping never ran")
    return scheduler, worker


def first_event(window, kind):
    """When the outbox got ``kind`` for ``window`` (its published payload), or None."""
    db.session.rollback()  # a fresh read of what the worker committed
    for event in db.session.scalars(db.select(OutboxEvent).filter_by(type=kind)
                                    .order_by(OutboxEvent.id)):
        if event.payload["id"] == window.id:
            return event
    return None


def wait_for_event(window, kind, processes_, timeout=30):
    found = []
    wait_until(lambda: found.append(first_event(window, kind)) or found[-1] is not None,
               processes_[0], f"no {kind} for window {window.id}\nworker:\n"
               f"{output(processes_[1])}", timeout=timeout)
    return found[-1], utcnow()


def logged_status(component):
    db.session.rollback()
    return db.session.get(Component, component.id).logged_status


def seconds_after(moment, edge):
    return (moment - edge).total_seconds()


def test_a_short_window_starts_and_ends_on_time(app, processes, database_url, redis_conn):
    started = start_scheduler_and_worker(processes, database_url, redis_conn)
    component = make_component("Database")
    window = make_maintenance("Quick restart", [component], starts_in=timedelta(seconds=3),
                              lasts=timedelta(seconds=3))
    starts_at, ends_at = window.starts_at, window.ends_at

    event, seen_at = wait_for_event(window, "maintenance_started", started)
    assert seconds_after(seen_at, starts_at) < ON_TIME, output(started[0])
    assert event.payload["status"] == "in_progress"
    assert logged_status(component) == "maintenance"

    event, seen_at = wait_for_event(window, "maintenance_ended", started)
    assert seconds_after(seen_at, ends_at) < ON_TIME, output(started[0])
    assert event.payload["status"] == "completed"
    assert logged_status(component) == "operational"

    # The moves were the edges' work (one advance queued for them), and were published.
    assert redis_conn.get(lifecycle.advance_job_key()) is not None
    kinds = [(e.type, e.payload.get("status")) for e in db.session.scalars(
        db.select(OutboxEvent).order_by(OutboxEvent.id))
        if e.type.startswith("maintenance_") or e.payload.get("id") == component.id]
    assert [k for k in kinds if k[0] != "maintenance_scheduled"] == [
        ("component_changed", "operational"),  # created
        ("component_changed", "maintenance"), ("maintenance_started", "in_progress"),
        ("component_changed", "operational"), ("maintenance_ended", "completed")]
    wait_until(lambda: first_event(window, "maintenance_ended").published_at is not None,
               started[1], "the events were never published")


def test_a_window_is_on_time_after_a_scheduler_restart_that_lost_its_edges(
        app, processes, database_url, redis_conn):
    component = make_component("Database")
    window = make_maintenance("After restart", [component], starts_in=timedelta(seconds=8),
                              lasts=timedelta(seconds=3))
    redis_conn.delete(lifecycle.edges_key())  # Redis restarted without persistence

    started = start_scheduler_and_worker(processes, database_url, redis_conn)

    _, seen_at = wait_for_event(window, "maintenance_started", started)
    assert seconds_after(seen_at, window.starts_at) < ON_TIME
    _, seen_at = wait_for_event(window, "maintenance_ended", started)
    assert seconds_after(seen_at, window.ends_at) < ON_TIME


def test_a_window_edited_while_scheduled_starts_at_its_new_time(app, processes, database_url,
                                                                 redis_conn):
    from maintenant.services.maintenance import change_maintenance

    started = start_scheduler_and_worker(processes, database_url, redis_conn)
    component = make_component("Database")
    window = make_maintenance("Moved", [component], starts_in=timedelta(seconds=3),
                              lasts=timedelta(seconds=3))
    new_start = utcnow() + timedelta(seconds=7)
    change_maintenance(window, {"starts_at": new_start, "ends_at": new_start
                                + timedelta(seconds=30)})

    time.sleep(max(0.0, (new_start - utcnow()).total_seconds() - 1.5))
    assert first_event(window, "maintenance_started") is None  # not at the old time
    assert logged_status(component) == "operational"
    _, seen_at = wait_for_event(window, "maintenance_started", started)
    assert seconds_after(seen_at, new_start) < ON_TIME

    complete_maintenance(db.session.get(type(window), window.id))
    assert logged_status(component) == "operational"

