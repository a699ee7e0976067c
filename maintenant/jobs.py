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
