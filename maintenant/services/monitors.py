"""Monitor results: confirm state changes after failure_threshold checks, keep history compact.

Every kind goes through ``record_results``: the state machine, the hourly aggregates, the
transitions, and — only when a transition happened — the component statuses and their events.
"""

import logging

from .. import status as rules
from ..extensions import db
from ..models import Certificate, Container, Endpoint, Heartbeat, MonitorTransition
from ..monitors import history
from .outbox import commit
from .statuses import sync_statuses

log = logging.getLogger(__name__)

KINDS = {model.monitor_type: model for model in (Endpoint, Heartbeat, Certificate, Container)}
# States that mean "no result yet": the first real result replaces them at once.
NO_RESULT_STATES = {"unknown", "new"}
INITIAL_STATE = {"endpoint": "unknown", "certificate": "unknown", "heartbeat": "new",
                 "container": "unknown"}


def monitor_model(monitor_type):
    return KINDS[monitor_type]


def transition(monitor, to_status, at, reason):
    """Record a confirmed change of a monitor's state, and the alert it raises."""
    from .alerts import record_transition  # alerts loads monitors lazily too

    entry = MonitorTransition(monitor_type=monitor.monitor_type, monitor_id=monitor.id,
                              from_status=monitor.status, to_status=to_status, at=at,
                              reason=reason)
    db.session.add(entry)
    monitor.status = to_status
    monitor.status_changed_at = at
    monitor.pending_status = None
    monitor.pending_count = 0
    record_transition(monitor, entry)
    return entry


def expected_gap(monitor):
    """Seconds between two results of a healthy monitor (a heartbeat may be late by its grace)."""
    return monitor.interval_seconds + (getattr(monitor, "grace_seconds", 0) or 0)


def apply_result(monitor, result, at, hours, immediate=False):
    """Feed one probe result to a monitor; returns the transition it confirmed, if any.

    Args:
        hours: the preloaded MonitorHour rows (see history.load_hours), updated in place.
        immediate: flip at once, whatever failure_threshold says (a fail ping, a vanished
            container).
    """
    kind = monitor.monitor_type
    history.credit_time(hours, kind, monitor.id, monitor.status, monitor.last_checked_at, at,
                        expected_gap(monitor))
    history.count_check(hours, kind, monitor.id, at,
                        history.state_bucket(kind, result.state) == history.UP, result.latency_ms)
    monitor.last_checked_at = at
    monitor.last_error = result.error
    for name, value in result.details.items():
        setattr(monitor, name, value)
    if result.state == monitor.status:
        monitor.pending_status, monitor.pending_count = None, 0
        return None
    if immediate or monitor.status in NO_RESULT_STATES or monitor.failure_threshold <= 1:
        return transition(monitor, result.state, at, result.error)
    if monitor.pending_status == result.state:
        monitor.pending_count += 1
    else:
        monitor.pending_status, monitor.pending_count = result.state, 1
    if monitor.pending_count >= monitor.failure_threshold:
        return transition(monitor, result.state, at, result.error)
    return None


def load_monitors(refs):
    """{(type, id): monitor} for ``refs`` [(type, id)], one query per kind; deleted ones absent."""
    by_type = {}
    for monitor_type, monitor_id in refs:
        by_type.setdefault(monitor_type, set()).add(monitor_id)
    found = {}
    for monitor_type, ids in by_type.items():
        model = KINDS[monitor_type]
        for monitor in db.session.scalars(db.select(model).where(model.id.in_(ids))):
            found[(monitor_type, monitor.id)] = monitor
    return found


def record_results(results, immediate=False):
    """Store a batch of probe results in one transaction.

    Args:
        results: [(monitor_type, monitor_id, ProbeResult, checked_at)]; results for monitors
            deleted or paused meanwhile are dropped.
    Returns:
        The transitions confirmed by this batch.
    """
    monitors = load_monitors((kind, monitor_id) for kind, monitor_id, _, _ in results)
    # The hours of the checks, and of each monitor's previous check: the time between the
    # two is credited to both when an hour boundary falls between them.
    hour_keys = {(kind, monitor_id, history.hour_of(at)) for kind, monitor_id, _, at in results}
    hour_keys.update((monitor.monitor_type, monitor.id, history.hour_of(monitor.last_checked_at))
                     for monitor in monitors.values() if monitor.last_checked_at is not None)
    hours = history.load_hours(hour_keys)
    transitions = []
    for kind, monitor_id, result, at in sorted(results, key=lambda item: item[3]):
        monitor = monitors.get((kind, monitor_id))
        if monitor is None or monitor.paused:
            continue
        entry = apply_result(monitor, result, at, hours, immediate=immediate)
        if entry is not None:
            transitions.append(entry)
    if transitions:
        sync_statuses(rules.CAUSE_MONITOR)
    commit()
    return transitions


def detach_components(monitor_type, monitor_id):
    """Components watching a deleted monitor keep going with no monitor."""
    from ..models import Component

    db.session.execute(
        db.update(Component)
        .where(Component.monitor_type == monitor_type, Component.monitor_id == monitor_id)
        .values(monitor_type=None, monitor_id=None)
    )


def state_lookup(model):
    """The status rules' view of a kind: the state of each monitor that is not paused."""
    def lookup(ids):
        rows = db.session.execute(
            db.select(model.id, model.status).where(model.id.in_(ids), model.paused.is_(False)))
        return {monitor_id: state for monitor_id, state in rows}
    return lookup


def register_state_lookups():
    """Make every kind's monitor states visible to the status rules."""
    from ..monitors import register_state_lookup

    for monitor_type, model in KINDS.items():
        register_state_lookup(monitor_type, state_lookup(model))


PROBED_KINDS = ("endpoint", "certificate")


def reconcile_probe_schedule():
    """Make the probe schedule hold exactly the probed monitors that are not paused."""
    from ..monitors import schedule

    wanted = []
    for monitor_type in PROBED_KINDS:
        model = KINDS[monitor_type]
        rows = db.session.execute(
            db.select(model.id, model.interval_seconds).where(model.paused.is_(False)))
        wanted.extend(schedule.member(monitor_type, monitor_id, interval)
                      for monitor_id, interval in rows)
    return schedule.reconcile(wanted)


def update_schedule(monitor, deleted=False):
    """Put a probed monitor on the schedule, or take it off (paused, deleted).

    A Redis outage only delays this: the periodic reconcile repairs the schedule.
    """
    import redis

    from ..monitors import schedule

    if monitor.monitor_type not in PROBED_KINDS:
        return
    try:
        if deleted or monitor.paused:
            schedule.remove(monitor.monitor_type, monitor.id)
        else:
            schedule.put(monitor.monitor_type, monitor.id, monitor.interval_seconds)
    except redis.RedisError as error:
        log.warning("probe schedule not updated for %s %s (%s); the reconcile will",
                    monitor.monitor_type, monitor.id, error)
