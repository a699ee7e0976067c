"""Subscribers are reminded of a window shortly before it starts, once."""

from datetime import timedelta

import pytest

from maintenant.extensions import db
from maintenant.models import OutboxEvent, utcnow
from maintenant.services import lifecycle
from maintenant.services.maintenance import change_maintenance

from factories import make_component, make_maintenance

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def lead(app):
    app.config["MAINTENANCE_REMINDER_MINUTES"] = 60


def notified(kind=None):
    db.session.expire_all()
    rows = db.session.execute(db.select(OutboxEvent.type, OutboxEvent.payload)
                              .where(OutboxEvent.notify.is_(True)).order_by(OutboxEvent.id))
    return [(type_, payload["id"]) for type_, payload in rows if kind in (None, type_)]


def edge_of(window, redis_conn):
    return redis_conn.zscore(lifecycle.edges_key(), window.id)


def test_a_window_is_announced_then_reminded_an_hour_before_then_started(app, redis_conn):
    window = make_maintenance("Upgrade", [make_component("DB")], starts_in=3 * HOUR)
    assert edge_of(window, redis_conn) == (window.starts_at - HOUR).timestamp()

    assert lifecycle.advance(window.starts_at - HOUR - MINUTE) == 0
    assert notified() == [("maintenance_scheduled", window.id)]

    lifecycle.advance(window.starts_at - HOUR + MINUTE)
    assert notified("maintenance_reminder") == [("maintenance_reminder", window.id)]
    assert edge_of(window, redis_conn) == window.starts_at.timestamp()

    lifecycle.advance(window.starts_at - HOUR + 2 * MINUTE)  # again: nothing more
    lifecycle.advance(window.starts_at + MINUTE)
    assert [kind for kind, _ in notified()] == ["maintenance_scheduled", "maintenance_reminder",
                                                "maintenance_started"]


def test_a_window_announced_within_the_hour_is_not_reminded_as_well(app):
    window = make_maintenance("Soon", starts_in=30 * MINUTE)

    lifecycle.advance()
    lifecycle.advance(window.starts_at - MINUTE)

    assert notified("maintenance_reminder") == []
    assert notified("maintenance_scheduled") == [("maintenance_scheduled", window.id)]


def test_moving_the_start_reminds_again_for_the_new_time(app):
    window = make_maintenance("Upgrade", starts_in=90 * MINUTE)
    lifecycle.advance(window.starts_at - HOUR + MINUTE)
    new_start = window.starts_at + 3 * HOUR

    change_maintenance(window, {"starts_at": new_start, "ends_at": new_start + HOUR})
    assert notified("maintenance_updated") == [("maintenance_updated", window.id)]
    lifecycle.advance(new_start - HOUR + MINUTE)

    assert len(notified("maintenance_reminder")) == 2


def test_a_cancelled_window_is_not_reminded(app):
    window = make_maintenance("Called off", starts_in=3 * HOUR)
    change_maintenance(window, {"cancelled": True})

    lifecycle.advance(window.starts_at - HOUR + MINUTE)

    assert notified("maintenance_reminder") == []
    assert notified("maintenance_updated") == [("maintenance_updated", window.id)]


def test_a_window_entered_for_the_record_mails_nothing(app):
    window = make_maintenance("Last night", starts_in=-10 * HOUR, lasts=HOUR)
    lifecycle.advance()

    assert notified() == []
    assert utcnow() > window.ends_at


def test_after_a_quiet_reminder_the_start_is_armed(app, redis_conn):
    window = make_maintenance("Soon", starts_in=10 * MINUTE)
    lifecycle.advance()  # the reminder edge (now): marked reminded, no second mail

    assert edge_of(window, redis_conn) == window.starts_at.timestamp()
