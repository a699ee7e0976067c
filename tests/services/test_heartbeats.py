"""Heartbeats: the ping states and the deadline sweep, on the real database, with a clock we set."""

import time
from datetime import datetime, timedelta, timezone

import pytest

from factories import make_component
from maintenant.errors import NotFound
from maintenant.extensions import db
from maintenant.models import Heartbeat, MonitorHour, MonitorTransition, StatusLogEntry
from maintenant.services import heartbeats
from maintenant.services.monitor_config import create_heartbeat
from maintenant.services.statuses import effective_status

# Mid-hour, so the minutes these tests span stay within one hourly aggregate.
T0 = datetime(2026, 3, 2, 10, 5, tzinfo=timezone.utc)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def make_heartbeat(name="Nightly backup", interval=60, grace=30, **fields):
    """A heartbeat as the operator API creates it (the interval may go below its minimum)."""
    return create_heartbeat({"name": name, "interval_seconds": interval, "grace_seconds": grace,
                             **fields})


def transitions_of(heartbeat):
    rows = db.session.scalars(
        db.select(MonitorTransition)
        .where(MonitorTransition.monitor_type == "heartbeat",
               MonitorTransition.monitor_id == heartbeat.id)
        .order_by(MonitorTransition.id))
    return [(row.from_status, row.to_status, row.at, row.reason) for row in rows]


def hours_of(heartbeat):
    return db.session.scalars(
        db.select(MonitorHour)
        .where(MonitorHour.monitor_type == "heartbeat", MonitorHour.monitor_id == heartbeat.id)
        .order_by(MonitorHour.hour)).all()


def reload(heartbeat):
    db.session.expire_all()
    return db.session.get(Heartbeat, heartbeat.id)


def test_a_new_heartbeat_goes_up_down_and_up_again_with_its_pings(app):
    heartbeat = make_heartbeat()
    token = heartbeat.token

    heartbeats.ping(token, now=at(0))
    heartbeat = reload(heartbeat)
    assert heartbeat.status == "up"
    assert heartbeat.last_ping_at == at(0)
    assert heartbeat.deadline_at == at(90)

    heartbeats.ping(token, "fail", now=at(60))
    heartbeat = reload(heartbeat)
    assert heartbeat.status == "down"
    assert heartbeat.last_error == "the job reported a failure"
    assert heartbeat.last_ping_at == at(60)

    heartbeats.ping(token, now=at(120))
    heartbeat = reload(heartbeat)
    assert (heartbeat.status, heartbeat.last_error) == ("up", None)
    assert heartbeat.deadline_at == at(210)

    assert transitions_of(heartbeat) == [
        ("new", "up", at(0), None),
        ("up", "down", at(60), "the job reported a failure"),
        ("down", "up", at(120), None),
    ]


def test_one_fail_ping_is_enough_whatever_the_failure_threshold(app):
    heartbeat = make_heartbeat(failure_threshold=5)
    heartbeats.ping(heartbeat.token, now=at(0))

    heartbeats.ping(heartbeat.token, "fail", now=at(10))

    assert reload(heartbeat).status == "down"


def test_a_start_ping_records_the_start_and_nothing_else(app):
    heartbeat = make_heartbeat()

    heartbeats.ping(heartbeat.token, "start", now=at(0))

    heartbeat = reload(heartbeat)
    assert heartbeat.last_start_at == at(0)
    assert (heartbeat.status, heartbeat.last_ping_at, heartbeat.deadline_at) == ("new", None, None)
    assert transitions_of(heartbeat) == []
    assert hours_of(heartbeat) == []


def test_an_unknown_token_is_not_found(app):
    make_heartbeat()

    with pytest.raises(NotFound):
        heartbeats.ping("no-such-token", now=at(0))


def test_a_paused_heartbeat_keeps_the_ping_time_and_its_state(app):
    heartbeat = make_heartbeat()
    heartbeats.ping(heartbeat.token, now=at(0))
    heartbeat = reload(heartbeat)
    heartbeat.paused = True
    db.session.commit()

    heartbeats.ping(heartbeat.token, "fail", now=at(30))
    heartbeats.ping(heartbeat.token, now=at(40))

    heartbeat = reload(heartbeat)
    assert heartbeat.status == "up"
    assert heartbeat.last_ping_at == at(40)
    assert heartbeat.deadline_at == at(90)  # the sweep skips it; resuming resets it
    assert [row[1] for row in transitions_of(heartbeat)] == ["up"]


def test_silence_past_interval_and_grace_puts_it_down_at_the_deadline(app):
    heartbeat = make_heartbeat(interval=60, grace=30)
    heartbeats.ping(heartbeat.token, now=at(0))

    assert heartbeats.check_deadlines(now=at(89)) == 0
    assert heartbeats.check_deadlines(now=at(90)) == 0  # a ping may still be on its way
    assert reload(heartbeat).status == "up"

    # The sweep runs late; the outage still starts at the deadline.
    assert heartbeats.check_deadlines(now=at(97)) == 1

    heartbeat = reload(heartbeat)
    assert heartbeat.status == "down"
    assert heartbeat.status_changed_at == at(90)
    assert heartbeat.last_error == "no ping within 90 s"
    assert transitions_of(heartbeat)[-1] == ("up", "down", at(90), "no ping within 90 s")
    assert heartbeats.check_deadlines(now=at(98)) == 0  # down once, not on every sweep


def test_a_ping_before_the_deadline_moves_it(app):
    heartbeat = make_heartbeat(interval=60, grace=30)
    heartbeats.ping(heartbeat.token, now=at(0))
    heartbeats.ping(heartbeat.token, now=at(60))

    assert heartbeats.check_deadlines(now=at(120)) == 0
    assert reload(heartbeat).status == "up"
    assert heartbeats.check_deadlines(now=at(151)) == 1
    assert reload(heartbeat).status_changed_at == at(150)


def test_a_heartbeat_that_never_pinged_never_goes_down_on_its_own(app):
    heartbeat = make_heartbeat(interval=60, grace=0)

    assert heartbeats.check_deadlines(now=at(3600 * 24 * 30)) == 0

    heartbeat = reload(heartbeat)
    assert (heartbeat.status, heartbeat.deadline_at) == ("new", None)
    assert transitions_of(heartbeat) == []


def test_a_paused_heartbeat_does_not_go_down(app):
    heartbeat = make_heartbeat(interval=60, grace=30)
    heartbeats.ping(heartbeat.token, now=at(0))
    heartbeat = reload(heartbeat)
    heartbeat.paused = True
    db.session.commit()

    assert heartbeats.check_deadlines(now=at(600)) == 0
    assert reload(heartbeat).status == "up"


def test_only_the_due_heartbeats_go_down(app):
    due = make_heartbeat("due", interval=60, grace=0)
    later = make_heartbeat("later", interval=600, grace=0)
    never = make_heartbeat("never", interval=60, grace=0)
    heartbeats.ping(due.token, now=at(0))
    heartbeats.ping(later.token, now=at(0))

    assert heartbeats.check_deadlines(now=at(61)) == 1

    assert [(reload(h).name, h.status) for h in (due, later, never)] == [
        ("due", "down"), ("later", "up"), ("never", "new")]


def test_the_hourly_aggregate_counts_up_and_down_time(app):
    heartbeat = make_heartbeat(interval=60, grace=30)
    for second in (0, 60, 120):  # up from 0 to 210 (the deadline after the ping at 120)
        heartbeats.ping(heartbeat.token, now=at(second))

    heartbeats.check_deadlines(now=at(211))  # down at 210
    # Each silent interval after that is a failed check, so the down time counts as it
    # passes, not only once the job pings again.
    heartbeats.check_deadlines(now=at(271))  # down 210 -> 270
    heartbeats.check_deadlines(now=at(331))  # down 270 -> 330
    heartbeats.ping(heartbeat.token, now=at(360))  # down 330 -> 360, up again

    [hour] = hours_of(heartbeat)
    assert hour.hour == T0.replace(minute=0)
    assert hour.up_seconds == pytest.approx(210)
    assert hour.down_seconds == pytest.approx(150)
    assert (hour.checks, hour.failures) == (7, 3)
    assert [row[1] for row in transitions_of(heartbeat)] == ["up", "down", "up"]


def test_a_late_sweep_catches_up_once_anchored_on_the_deadline(app):
    heartbeat = make_heartbeat(interval=60, grace=30)
    heartbeats.ping(heartbeat.token, now=at(0))
    heartbeats.check_deadlines(now=at(91))
    assert reload(heartbeat).deadline_at == at(150)

    heartbeats.check_deadlines(now=at(400))  # the sweep was stopped for a while

    heartbeat = reload(heartbeat)
    assert heartbeat.last_checked_at == at(150)
    assert heartbeat.deadline_at == at(450)  # 150 + 5 intervals: still on the minute grid
    assert [row[1] for row in transitions_of(heartbeat)] == ["up", "down"]


def test_a_deadline_in_the_next_hour_is_counted_in_both_hours(app):
    heartbeat = make_heartbeat(interval=60, grace=30)
    last_ping = T0.replace(minute=59, second=0)
    heartbeats.ping(heartbeat.token, now=last_ping)

    heartbeats.check_deadlines(now=last_ping + timedelta(seconds=91))

    first, second = hours_of(heartbeat)
    assert first.up_seconds == pytest.approx(60)
    assert second.up_seconds == pytest.approx(30)
    assert reload(heartbeat).status == "down"


def test_a_component_follows_its_heartbeat(app, client):
    heartbeat = make_heartbeat(interval=60, grace=30)
    component = make_component("Backups", monitor_type="heartbeat", monitor_id=heartbeat.id)
    assert effective_status(component) == "operational"  # no result yet: nothing to say

    heartbeats.ping(heartbeat.token, now=at(0))
    assert effective_status(component) == "operational"

    heartbeats.ping(heartbeat.token, "fail", now=at(30))
    assert effective_status(component) == "major_outage"
    state = client.get("/status/api").get_json()
    assert [(c["name"], c["status"]) for c in state["components"]] == [("Backups",
                                                                         "major_outage")]
    assert state["status"] == "major_outage"

    heartbeats.ping(heartbeat.token, now=at(60))
    assert client.get("/status/api").get_json()["components"][0]["status"] == "operational"

    heartbeats.check_deadlines(now=at(151))
    assert client.get("/status/api").get_json()["components"][0]["status"] == "major_outage"
    log = db.session.scalars(db.select(StatusLogEntry.to_status)
                             .where(StatusLogEntry.component_id == component.id)
                             .order_by(StatusLogEntry.id)).all()
    assert log[-3:] == ["major_outage", "operational", "major_outage"]


def test_silence_in_real_time_puts_it_down(app):
    """End to end with a real clock: interval 1 s, no grace (below the API's minimum)."""
    heartbeat = make_heartbeat(interval=1, grace=0)
    heartbeats.ping(heartbeat.token)
    assert heartbeats.check_deadlines() == 0
    assert reload(heartbeat).status == "up"

    time.sleep(1.5)

    assert heartbeats.check_deadlines() == 1
    heartbeat = reload(heartbeat)
    assert heartbeat.status == "down"
    assert heartbeat.status_changed_at == heartbeat.last_ping_at + timedelta(seconds=1)
