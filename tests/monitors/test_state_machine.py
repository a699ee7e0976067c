"""The state machine: a monitor flips only after failure_threshold disagreeing results."""

from datetime import timedelta

import pytest

from maintenant.extensions import db
from maintenant.models import (Endpoint, MonitorTransition, OutboxEvent, StatusLogEntry,
                               utcnow)
from maintenant.monitors.base import ProbeResult
from maintenant.services.monitors import record_results

from factories import make_component

UP = ProbeResult("up", 12.0)
DOWN = ProbeResult("down", None, "connection refused")
SLOW = ProbeResult("degraded", 900.0, "slow: answered in 900 ms, over the 500 ms threshold")


def make_endpoint(name="API", status="unknown", **fields):
    endpoint = Endpoint(name=name, target="http://127.0.0.1:9/", status=status,
                        **{"interval_seconds": 30, "failure_threshold": 2, **fields})
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


class Clock:
    """Check times 30 s apart, as the schedule would give them."""

    def __init__(self):
        self.now = utcnow().replace(microsecond=0) - timedelta(hours=1)

    def tick(self, seconds=30):
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock():
    return Clock()


def feed(monitor, result, clock, immediate=False):
    """Record one result for ``monitor``; returns the transitions it confirmed."""
    transitions = record_results([(monitor.monitor_type, monitor.id, result, clock.tick())],
                                 immediate=immediate)
    db.session.refresh(monitor)
    return transitions


def transitions_of(monitor):
    return db.session.scalars(db.select(MonitorTransition)
                              .filter_by(monitor_type=monitor.monitor_type, monitor_id=monitor.id)
                              .order_by(MonitorTransition.id)).all()


def events(kind="component_changed"):
    return db.session.scalars(db.select(OutboxEvent).filter_by(type=kind)
                              .order_by(OutboxEvent.id)).all()


# --- flipping -------------------------------------------------------------------------------

def test_the_first_result_replaces_unknown_at_once(app, clock):
    endpoint = make_endpoint(status="unknown")

    assert len(feed(endpoint, UP, clock)) == 1

    assert endpoint.status == "up"
    assert endpoint.last_checked_at == clock.now
    assert endpoint.last_error is None


def test_the_first_result_may_be_down_at_once(app, clock):
    endpoint = make_endpoint(status="unknown", failure_threshold=3)

    feed(endpoint, DOWN, clock)

    assert endpoint.status == "down"
    assert endpoint.last_error == "connection refused"


def test_one_bad_result_does_not_flip_with_threshold_two(app, clock):
    endpoint = make_endpoint(status="up")

    assert feed(endpoint, DOWN, clock) == []

    assert endpoint.status == "up"
    assert (endpoint.pending_status, endpoint.pending_count) == ("down", 1)
    assert endpoint.last_error == "connection refused"  # seen, though not confirmed
    assert transitions_of(endpoint) == []


def test_two_bad_results_in_a_row_flip_with_threshold_two(app, clock):
    endpoint = make_endpoint(status="up")

    feed(endpoint, DOWN, clock)
    confirmed = feed(endpoint, DOWN, clock)

    assert [(t.from_status, t.to_status) for t in confirmed] == [("up", "down")]
    assert endpoint.status == "down"
    assert endpoint.status_changed_at == clock.now
    assert (endpoint.pending_status, endpoint.pending_count) == (None, 0)


def test_an_agreeing_result_resets_the_pending_count(app, clock):
    endpoint = make_endpoint(status="up")

    feed(endpoint, DOWN, clock)
    feed(endpoint, UP, clock)
    assert (endpoint.pending_status, endpoint.pending_count) == (None, 0)
    feed(endpoint, DOWN, clock)

    assert endpoint.status == "up", "the bad results were not consecutive"
    feed(endpoint, DOWN, clock)
    assert endpoint.status == "down"


def test_a_different_disagreeing_state_starts_counting_again(app, clock):
    endpoint = make_endpoint(status="up")

    feed(endpoint, DOWN, clock)
    feed(endpoint, SLOW, clock)

    assert endpoint.status == "up"
    assert (endpoint.pending_status, endpoint.pending_count) == ("degraded", 1)
    feed(endpoint, SLOW, clock)
    assert endpoint.status == "degraded"


def test_threshold_three_needs_three(app, clock):
    endpoint = make_endpoint(status="up", failure_threshold=3)

    feed(endpoint, DOWN, clock)
    feed(endpoint, DOWN, clock)
    assert endpoint.status == "up"
    feed(endpoint, DOWN, clock)
    assert endpoint.status == "down"


def test_recovery_needs_the_threshold_too(app, clock):
    endpoint = make_endpoint(status="down")

    feed(endpoint, UP, clock)
    assert endpoint.status == "down"
    feed(endpoint, UP, clock)
    assert endpoint.status == "up"


def test_threshold_one_flips_at_once(app, clock):
    endpoint = make_endpoint(status="up", failure_threshold=1)

    assert len(feed(endpoint, DOWN, clock)) == 1

    assert endpoint.status == "down"


def test_immediate_flips_at_once_whatever_the_threshold(app, clock):
    endpoint = make_endpoint(status="up", failure_threshold=5)

    feed(endpoint, DOWN, clock, immediate=True)

    assert endpoint.status == "down"


def test_a_transition_is_recorded_with_from_to_at_and_reason(app, clock):
    endpoint = make_endpoint(status="unknown")

    feed(endpoint, UP, clock)
    first_at = clock.now
    feed(endpoint, DOWN, clock)
    feed(endpoint, DOWN, clock)

    recorded = [(t.from_status, t.to_status, t.at, t.reason) for t in transitions_of(endpoint)]
    assert recorded == [("unknown", "up", first_at, None),
                        ("up", "down", clock.now, "connection refused")]


def test_results_for_paused_or_deleted_monitors_are_dropped(app, clock):
    paused = make_endpoint("Paused", status="up", paused=True)
    deleted = make_endpoint("Deleted", status="up")
    deleted_id = deleted.id
    db.session.delete(deleted)
    db.session.commit()
    at = clock.tick()

    confirmed = record_results([("endpoint", paused.id, DOWN, at),
                                ("endpoint", deleted_id, DOWN, at)], immediate=True)

    assert confirmed == []
    db.session.refresh(paused)
    assert (paused.status, paused.last_checked_at) == ("up", None)
    assert db.session.scalars(db.select(MonitorTransition)).all() == []


def test_a_batch_applies_each_monitors_results_in_time_order(app, clock):
    endpoint = make_endpoint(status="up")
    first, second, third = clock.tick(), clock.tick(), clock.tick()

    # Out of order in the batch: down, down, then up last in time.
    record_results([("endpoint", endpoint.id, UP, third), ("endpoint", endpoint.id, DOWN, first),
                    ("endpoint", endpoint.id, DOWN, second)])

    db.session.refresh(endpoint)
    assert endpoint.status == "down"
    assert endpoint.last_checked_at == third
    assert (endpoint.pending_status, endpoint.pending_count) == ("up", 1)


# --- components and events ------------------------------------------------------------------

def test_a_confirmed_down_puts_the_component_in_major_outage_with_one_event(app, clock):
    endpoint = make_endpoint(status="unknown")
    component = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    feed(endpoint, UP, clock)
    events_before = len(events())

    feed(endpoint, DOWN, clock)
    assert len(events()) == events_before, "one bad result: nothing visible yet"
    feed(endpoint, DOWN, clock)

    db.session.refresh(component)
    assert component.logged_status == "major_outage"
    last = db.session.scalars(db.select(StatusLogEntry).filter_by(component_id=component.id)
                              .order_by(StatusLogEntry.id.desc())).first()
    assert (last.from_status, last.to_status, last.cause) == \
        ("operational", "major_outage", "monitor")
    new_events = events()[events_before:]
    assert [(event.payload["id"], event.payload["status"]) for event in new_events] == \
        [(component.id, "major_outage")]
    assert new_events[0].published_at is not None, "drained after the commit"
    assert events("global_changed")[-1].payload["status"] == "major_outage"


def test_a_result_that_confirms_the_same_state_publishes_nothing(app, clock):
    endpoint = make_endpoint(status="unknown")
    make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    feed(endpoint, UP, clock)
    outbox_before = db.session.query(OutboxEvent).count()
    log_before = db.session.query(StatusLogEntry).count()

    for _ in range(3):
        assert feed(endpoint, UP, clock) == []

    assert db.session.query(OutboxEvent).count() == outbox_before
    assert db.session.query(StatusLogEntry).count() == log_before


def test_a_transition_that_does_not_change_the_component_publishes_nothing(app, clock):
    # unknown -> up: the component was already operational (no result contributes nothing).
    endpoint = make_endpoint(status="unknown")
    make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    outbox_before = db.session.query(OutboxEvent).count()

    assert len(feed(endpoint, UP, clock)) == 1

    assert db.session.query(OutboxEvent).count() == outbox_before


def test_recovery_brings_the_component_back_to_operational(app, clock):
    endpoint = make_endpoint(status="down")
    component = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    assert component.logged_status == "major_outage"

    feed(endpoint, UP, clock)
    feed(endpoint, UP, clock)

    db.session.refresh(component)
    assert component.logged_status == "operational"
    assert events()[-1].payload["status"] == "operational"
