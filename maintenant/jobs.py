"""Thin RQ entry points: take ids, reload from the database, call services.

Jobs run in the worker's process, each inside a fresh app context (see worker.py).
"""

from .services import outbox


def drain_outbox():
    """Publish what the outbox still holds: the periodic sweep after a Redis outage."""
    return outbox.drain_outbox()


def housekeeping():
    """The safety net of the clock: act on the maintenance windows it moved (should their
    edges have been lost with Redis), and put back the edges of the windows with a move ahead.

    The status log and the events then follow, as they do for any other change.
    """
    from .services.lifecycle import advance, reconcile_edges

    moved = advance()
    reconcile_edges()
    return moved


def advance_maintenance():
    """Act on the windows the clock has started or ended: events, alerts, next occurrences."""
    from .services.lifecycle import advance

    return advance()


def sweep_alerts():
    """Release the held (coalesced) alerts that are due and queue the deliveries due now."""
    from .services.alerts import sweep

    return sweep()


def deliver_alert(delivery_id):
    """Send one alert to one channel; a failure is retried later with backoff."""
    from .services.alert_delivery import deliver

    return deliver(delivery_id)


def run_probes(due):
    """Start the checks due now, [(monitor_type, monitor_id, due_epoch)], on this worker's pool."""
    from .monitors.runner import start_probes

    return start_probes([tuple(item) for item in due])


def reconcile_probes():
    """Make the probe schedule hold every probed monitor exactly once."""
    from .services.monitors import reconcile_probe_schedule

    return reconcile_probe_schedule()


def prune_monitor_history():
    """Delete the hourly monitor aggregates older than MAINTENANT_MONITOR_HISTORY_DAYS."""
    from flask import current_app

    from .services.monitor_history import prune_hours

    return prune_hours(current_app.config["MONITOR_HISTORY_DAYS"])


def check_heartbeat_deadlines():
    """Heartbeats silent past interval + grace go down."""
    from .services.heartbeats import check_deadlines

    return check_deadlines()


def discover_containers():
    """List the Docker engine's containers and keep one monitor per container name."""
    from .services.containers import discover

    return discover()


def send_confirmation(subscriber_id, token):
    """Mail a sign-up its confirmation link (the token exists only here and in the email)."""
    from . import mail
    from .extensions import db
    from .models import Subscriber
    from .notify import messages

    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:  # unsubscribed or purged meanwhile
        return False
    mail.send(messages.confirmation(subscriber, token))
    return True


def send_subscriber_test(email):
    """The operator's test message: proof that the mail settings work."""
    from . import mail
    from .notify import messages

    mail.send(messages.test_message(email))
    return True


def notify_sweep():
    """Queue the fan-out of events that still owe subscribers their email; purge stale sign-ups."""
    from .notify import fanout
    from .services.subscriptions import purge_unconfirmed

    purge_unconfirmed()
    return fanout.sweep()


def fan_out_again():
    """Redis lost its data, and the mail batches queued in it: fan recent events out again."""
    from .notify import fanout

    return fanout.fan_out_again()


def fan_out(event_id):
    """Split one event's recipients into batch jobs."""
    from .notify import fanout

    return fanout.fan_out(event_id)


def send_batch(event_id, subscriber_ids, attempt=0):
    """Mail one event to a batch of subscribers on one SMTP session."""
    from .notify import fanout

    return fanout.send_batch(event_id, subscriber_ids, attempt)
