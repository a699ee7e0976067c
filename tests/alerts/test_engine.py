"""The alert engine: which changes alert, suppression in maintenance and release after it,
flapping coalescing, and queueing deliveries on RQ."""

from datetime import timedelta

from rq import Queue

from factories import counting_queries, make_component, make_maintenance
from maintenant.extensions import QUEUE_NOTIFICATIONS, db
from maintenant.models import Alert, AlertChannel, AlertDelivery, utcnow
from maintenant.monitors.base import ProbeResult
from maintenant.services import alerts
from maintenant.services.monitors import record_results

from .conftest import FLAP_WINDOW


def feed(monitor, *states, start=None, step=timedelta(seconds=1)):
    """Record one probe result per state, ``step`` apart; returns the transitions."""
    at = start or utcnow() - step * len(states)
    transitions = []
    for state in states:
        error = None if state == "up" else "HTTP 503"
        transitions += record_results([(monitor.monitor_type, monitor.id,
                                        ProbeResult(state, error=error), at)])
        at += step
    return transitions


def add_channel(name="Ops", enabled=True, **fields):
    channel = AlertChannel(name=name, type="webhook", url="http://127.0.0.1:9/hook",
                           enabled=enabled, **fields)
    db.session.add(channel)
    db.session.commit()
    return channel


def all_alerts():
    db.session.expire_all()
    return db.session.scalars(db.select(Alert).order_by(Alert.id)).all()


def deliveries_of(alert):
    return db.session.scalars(db.select(AlertDelivery).filter_by(alert_id=alert.id)).all()


def queued_jobs(redis_conn):
    return Queue(QUEUE_NOTIFICATIONS, connection=redis_conn).job_ids


# Which changes alert


def test_a_first_good_result_does_not_alert_but_going_down_does(app, alert_config, endpoint):
    add_channel()
    make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)

    feed(endpoint, "up")
    assert all_alerts() == []

    feed(endpoint, "down")

    [alert] = all_alerts()
    assert (alert.from_status, alert.to_status, alert.reason) == ("up", "down", "HTTP 503")
    assert (alert.monitor_type, alert.monitor_id, alert.monitor_name) == \
        ("endpoint", endpoint.id, "API health")
    assert (alert.status, alert.count) == ("pending", 1)


def test_recovery_alerts_and_a_first_bad_result_alerts(app, alert_config, endpoint):
    add_channel()

    feed(endpoint, "down", "up")

    assert [(a.from_status, a.to_status) for a in all_alerts()] == \
        [("unknown", "down"), ("down", "up")]


def test_an_operator_reset_does_not_alert(app, alert_config, endpoint):
    from maintenant.services import monitor_config

    feed(endpoint, "down")
    monitor_config.update_monitor(endpoint, {"paused": True})
    monitor_config.update_monitor(endpoint, {"paused": False})   # back to unknown

    assert [(a.from_status, a.to_status) for a in all_alerts()] == [("unknown", "down")]


def test_an_alert_gets_one_delivery_per_enabled_channel(app, alert_config, endpoint, redis_conn):
    first, _disabled, third = add_channel("A"), add_channel("B", enabled=False), add_channel("C")
    component = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)

    feed(endpoint, "up", "down")

    [alert] = all_alerts()
    deliveries = deliveries_of(alert)
    assert sorted(d.channel_id for d in deliveries) == [first.id, third.id]
    payload = deliveries[0].payload
    assert payload["event"] == "alert"
    assert payload["alert"]["id"] == alert.id and payload["alert"]["to_status"] == "down"
    assert payload["monitor"] == {"type": "endpoint", "id": endpoint.id, "name": "API health",
                                  "status": "down",
                                  "components": [{"id": component.id, "name": "API"}]}
    # Queued after the commit, one job per delivery and attempt.
    assert sorted(queued_jobs(redis_conn)) == sorted(
        f"alert-delivery-{d.id}-0" for d in deliveries)


def test_with_no_channel_an_alert_is_kept_as_no_channels(app, alert_config, endpoint):
    feed(endpoint, "up", "down")

    [alert] = all_alerts()
    assert alert.status == "no_channels"


def test_checks_that_change_nothing_cost_no_alert_queries(app, alert_config, endpoint):
    add_channel()
    feed(endpoint, "up")

    with counting_queries() as statements:
        feed(endpoint, "up")

    assert not [s for s in statements if "alert" in s.lower()]


# Suppression during maintenance, release after it


def test_a_monitor_whose_components_are_all_in_maintenance_is_suppressed(app, alert_config,
                                                                         endpoint, redis_conn):
    add_channel()
    api = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    web = make_component("Web", monitor_type="endpoint", monitor_id=endpoint.id)
    make_maintenance(components_=[api, web], starts_in=timedelta(minutes=-5))
    feed(endpoint, "up")

    feed(endpoint, "down")

    [alert] = all_alerts()
    assert alert.status == "suppressed"
    assert deliveries_of(alert) == []
    assert queued_jobs(redis_conn) == []


def test_one_component_out_of_maintenance_is_enough_to_alert(app, alert_config, endpoint):
    add_channel()
    api = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    make_component("Web", monitor_type="endpoint", monitor_id=endpoint.id)
    make_maintenance(components_=[api], starts_in=timedelta(minutes=-5))

    feed(endpoint, "up", "down")

    assert [a.status for a in all_alerts()] == ["pending"]


def test_a_monitor_linked_to_no_component_is_never_suppressed(app, alert_config, endpoint):
    add_channel()
    make_maintenance(components_=[make_component("Other")], starts_in=timedelta(minutes=-5))

    feed(endpoint, "up", "down")

    assert [a.status for a in all_alerts()] == ["pending"]


def test_a_scheduled_or_finished_window_does_not_suppress(app, alert_config, endpoint):
    add_channel()
    api = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    make_maintenance(components_=[api], starts_in=timedelta(hours=1))
    make_maintenance(components_=[api], starts_in=timedelta(hours=-2), lasts=timedelta(hours=1))

    feed(endpoint, "up", "down")

    assert [a.status for a in all_alerts()] == ["pending"]


def end_window(window):
    """The window ended a moment ago (as the lifecycle sees it when it calls the release)."""
    window.ends_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    return window


def test_a_monitor_still_down_when_the_window_ends_alerts_then(app, alert_config, endpoint):
    add_channel()
    api = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    window = make_maintenance(components_=[api], starts_in=timedelta(minutes=-5))
    feed(endpoint, "up", "down", "up", "down")   # all during the window: suppressed
    assert {a.status for a in all_alerts()} == {"suppressed"}

    released = alerts.release_after_maintenance([end_window(window)], utcnow())
    db.session.commit()

    [alert] = released
    assert (alert.from_status, alert.to_status) == ("up", "down")
    assert alert.reason == "still down when maintenance ended"
    assert alert.status == "pending"
    assert len(deliveries_of(alert)) == 1
    # Once told, the operator is not told again for the same windows.
    assert alerts.release_after_maintenance([window], utcnow()) == []


def test_a_monitor_that_recovered_during_the_window_stays_quiet(app, alert_config, endpoint):
    add_channel()
    api = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    window = make_maintenance(components_=[api], starts_in=timedelta(minutes=-5))
    feed(endpoint, "up", "down", "up")

    assert alerts.release_after_maintenance([end_window(window)], utcnow()) == []


def test_a_monitor_already_reported_down_before_the_window_is_not_repeated(app, alert_config,
                                                                          endpoint):
    add_channel()
    api = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    feed(endpoint, "up", "down")   # alerted before the window
    window = make_maintenance(components_=[api], starts_in=timedelta(minutes=-5))

    assert alerts.release_after_maintenance([end_window(window)], utcnow()) == []


def test_no_release_while_another_window_still_covers_every_component(app, alert_config,
                                                                      endpoint):
    add_channel()
    api = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    first = make_maintenance(components_=[api], starts_in=timedelta(minutes=-5))
    make_maintenance(components_=[api], starts_in=timedelta(minutes=-1))
    feed(endpoint, "up", "down")

    assert alerts.release_after_maintenance([end_window(first)], utcnow()) == []


# Flapping


def test_a_flapping_monitor_is_coalesced_into_one_held_alert(app, alert_config, endpoint):
    add_channel()
    start = utcnow()

    feed(endpoint, "up", "down", "up", "down", "up", "down", start=start)

    delivered_at_once, held = all_alerts()[:2], all_alerts()[2:]
    assert [(a.to_status, a.status) for a in delivered_at_once] == \
        [("down", "pending"), ("up", "pending")]
    [held] = held
    assert (held.status, held.count, held.from_status, held.to_status) == \
        ("held", 3, "up", "down")
    assert held.created_at == start + timedelta(seconds=3)
    assert held.last_at == start + timedelta(seconds=5)
    assert held.release_at == held.created_at + timedelta(seconds=FLAP_WINDOW)
    assert deliveries_of(held) == []


def test_the_sweep_delivers_a_held_alert_when_its_time_comes(app, alert_config, endpoint,
                                                            redis_conn):
    add_channel()
    start = utcnow() - timedelta(seconds=FLAP_WINDOW + 30)
    feed(endpoint, "up", "down", "up", "down", "up", start=start)
    held = all_alerts()[-1]
    assert held.status == "held"

    assert alerts.sweep(held.release_at - timedelta(seconds=1))["released"] == 0
    result = alerts.sweep()

    assert result["released"] == 1
    db.session.expire_all()
    assert (held.status, held.count, held.to_status) == ("pending", 2, "up")
    [delivery] = deliveries_of(held)
    assert delivery.payload["alert"]["count"] == 2
    assert delivery.payload["monitor"]["status"] == "up"
    assert f"alert-delivery-{delivery.id}-0" in queued_jobs(redis_conn)


def test_a_monitor_that_keeps_flapping_makes_one_delivery_per_window(app, alert_config,
                                                                     endpoint):
    add_channel()
    start = utcnow() - timedelta(seconds=3 * FLAP_WINDOW)
    step = timedelta(seconds=FLAP_WINDOW / 6)
    states = ["up", "down"] * 6   # 11 changes over nearly two windows
    at = start
    for state in states:
        feed(endpoint, state, start=at)
        alerts.sweep(at)
        at += step

    delivered = [a for a in all_alerts() if a.status != "held"]
    # Two at once, then at most one per window.
    assert len(delivered) <= 2 + 2
    assert sum(a.count for a in all_alerts()) == 11


def test_changes_after_a_quiet_window_are_delivered_at_once_again(app, alert_config, endpoint):
    add_channel()
    start = utcnow() - timedelta(seconds=3 * FLAP_WINDOW)
    feed(endpoint, "up", "down", "up", "down", start=start)
    alerts.sweep(start + timedelta(seconds=FLAP_WINDOW + 10))

    feed(endpoint, "up", start=start + timedelta(seconds=2 * FLAP_WINDOW + 30))

    assert all_alerts()[-1].status == "pending"


def test_suppressed_changes_do_not_count_as_flapping(app, alert_config, endpoint):
    add_channel()
    api = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    window = make_maintenance(components_=[api], starts_in=timedelta(minutes=-5))
    feed(endpoint, "up", "down", "up", "down", "up")
    end_window(window)

    feed(endpoint, "down")

    assert all_alerts()[-1].status == "pending"


def test_a_threshold_below_two_turns_coalescing_off(app, alert_config, endpoint):
    app.config["ALERT_FLAP_THRESHOLD"] = 0
    add_channel()

    feed(endpoint, "up", "down", "up", "down", "up", "down")

    assert {a.status for a in all_alerts()} == {"pending"}


# The sweep and the queue


def test_the_sweep_queues_due_deliveries_once(app, alert_config, endpoint, redis_conn):
    add_channel()
    feed(endpoint, "up", "down")
    [alert] = all_alerts()
    [delivery] = deliveries_of(alert)
    redis_conn.flushdb()   # as if Redis had restarted before the job ran

    assert alerts.sweep()["queued"] == 1
    assert alerts.sweep()["queued"] == 0

    assert queued_jobs(redis_conn) == [f"alert-delivery-{delivery.id}-0"]


def test_a_delivery_not_yet_due_is_not_queued(app, alert_config, endpoint, redis_conn):
    add_channel()
    feed(endpoint, "up", "down")
    [delivery] = deliveries_of(all_alerts()[0])
    delivery.next_attempt_at = utcnow() + timedelta(minutes=1)
    db.session.commit()
    redis_conn.flushdb()

    assert alerts.sweep()["queued"] == 0
