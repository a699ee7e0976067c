"""Thin RQ entry points: take ids, reload from the database, call services.

Jobs run in the worker's process, each inside a fresh app context (see worker.py).
"""

from . import status as rules
from .services import outbox
from .services.statuses import sync_statuses


def drain_outbox():
    """Publish what the outbox still holds: the periodic sweep after a Redis outage."""
    return outbox.drain_outbox()


def housekeeping():
    """Let the clock move statuses: maintenance windows start and end on time.

    The status log and the events then follow, as they do for any other change.
    """
    changed = sync_statuses(rules.CAUSE_MAINTENANCE)
    outbox.commit()
    return len(changed)


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


def check_heartbeat_deadlines():
    """Heartbeats silent past interval + grace go down."""
    from .services.heartbeats import check_deadlines

    return check_deadlines()


def discover_containers():
    """List the Docker engine's containers and keep one monitor per container name."""
    from .services.containers import discover

    return discover()
