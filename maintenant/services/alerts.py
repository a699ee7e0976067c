"""The alert engine: every monitor state change that matters becomes an alert for operators.

- Which changes alert: entering, leaving or moving between bad states (a state whose
  contribution to its component is not operational). A first good result (unknown -> up) and
  an operator's reset (resume, new target: back to unknown/new) do not.
- Suppression: when every component linked to the monitor is in a maintenance window in
  progress, the alert is recorded as ``suppressed`` and not delivered. A monitor linked to no
  component is never suppressed. ``release_after_maintenance`` alerts, when windows end, for
  monitors still bad whose last alert was suppressed.
- Flapping: a change is delivered at once unless it would be the ALERT_FLAP_THRESHOLD-th
  change of the monitor within ALERT_FLAP_WINDOW_SECONDS; it is then ``held``, and further
  changes fold into that alert (count, last_at, to_status) until its release_at, when the
  sweep delivers it. So a flapping monitor makes at most one delivery per window.
- Delivery: one AlertDelivery row per enabled channel, written with the alert; the job is
  queued after the commit, and the sweep queues whatever is due and not queued.
"""

import logging
from datetime import timedelta

import redis
from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import inspect

from .. import status as rules
from ..extensions import QUEUE_NOTIFICATIONS, db, get_queue, redis_client
from ..models import (Alert, AlertChannel, AlertDelivery, Component, MaintenanceWindow,
                      maintenance_components, utcnow)
from ..models.alerts import HELD, NO_CHANNELS, PENDING, SUPPRESSED
from ..schemas import AlertOut
from .alert_delivery import payload_for
from .lookups import get_or_404, paginate
from .outbox import after_commit, commit

log = logging.getLogger(__name__)

DELIVERY_JOB = "maintenant.jobs.deliver_alert"
# Held alerts released and deliveries queued per sweep; the next sweep takes the rest.
SWEEP_BATCH = 500
# A delivery job in one of these states will run: queueing it again would only double it.
WAITING_JOB_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED,
                        JobStatus.SCHEDULED}
JOB_RESULT_TTL = 3600
# How many of a monitor's latest alerts release_after_maintenance reads back.
RELEASE_LOOKBACK = 100


# Which changes alert


def is_bad(monitor_type, state):
    """Whether a monitor in ``state`` pulls its component below operational."""
    contribution = rules.monitor_contribution(monitor_type, state)
    return contribution is not None and contribution != rules.OPERATIONAL


def raises_alert(monitor_type, from_status, to_status):
    """A change alerts when it enters, leaves or moves between bad states; a change to a
    state with no result (an operator's reset) never does."""
    if rules.monitor_contribution(monitor_type, to_status) is None:
        return False
    return is_bad(monitor_type, from_status) or is_bad(monitor_type, to_status)


# Recording


def record_transition(monitor, entry):
    """Turn a monitor's transition into an alert; call inside the transaction of the change.

    A few queries when the change alerts (linked components, the monitor's recent alerts,
    the channels), none when it does not.

    Returns:
        The alert recorded or folded into, or None when the change does not alert.
    """
    if not raises_alert(monitor.monitor_type, entry.from_status, entry.to_status):
        return None
    now = utcnow()
    links = linked_components(monitor.monitor_type, monitor.id, now)
    if fully_covered(links):
        return add_alert(monitor, entry, SUPPRESSED)
    window, threshold = flap_settings()
    if threshold:
        recent = recent_alerts(monitor.monitor_type, monitor.id, entry.at, window)
        held = next((alert for alert in recent if alert.status == HELD), None)
        if held is not None:
            held.count += 1
            held.last_at = max(held.last_at, entry.at)
            held.to_status = entry.to_status
            held.reason = entry.reason
            return held
        changes = sum(alert.count for alert in recent if alert.last_at >= entry.at - window)
        if changes + 1 >= threshold:
            alert = add_alert(monitor, entry, HELD)
            alert.release_at = entry.at + window
            return alert
    alert = add_alert(monitor, entry, PENDING)
    dispatch(alert, monitor_info(alert, monitor, links), now)
    return alert


def add_alert(monitor, entry, status):
    alert = Alert(monitor_type=monitor.monitor_type, monitor_id=monitor.id,
                  monitor_name=monitor.name, from_status=entry.from_status,
                  to_status=entry.to_status, reason=entry.reason, created_at=entry.at,
                  last_at=entry.at, count=1, status=status)
    db.session.add(alert)
    return alert


def flap_settings():
    """(window, threshold); threshold 0 when coalescing is off (a threshold below 2)."""
    window = timedelta(seconds=current_app.config["ALERT_FLAP_WINDOW_SECONDS"])
    threshold = current_app.config["ALERT_FLAP_THRESHOLD"]
    return window, (threshold if threshold >= 2 and window > timedelta(0) else 0)


def recent_alerts(monitor_type, monitor_id, at, window):
    """The monitor's alerts that may still count at ``at``: not suppressed, last changed
    within the window. A held alert folds changes for one window at most, so it was
    created within two (the index on monitor and created_at bounds the scan)."""
    return db.session.scalars(
        db.select(Alert).where(Alert.monitor_type == monitor_type, Alert.monitor_id == monitor_id,
                               Alert.created_at >= at - 2 * window, Alert.status != SUPPRESSED)
        .order_by(Alert.created_at, Alert.id)
    ).all()


def linked_components(monitor_type, monitor_id, now):
    """[(id, name, in maintenance at ``now``)] of the components watching a monitor; one query."""
    covered = (
        db.select(maintenance_components.c.component_id)
        .join(MaintenanceWindow, MaintenanceWindow.id == maintenance_components.c.maintenance_id)
        .where(maintenance_components.c.component_id == Component.id,
               MaintenanceWindow.cancelled.is_(False), MaintenanceWindow.starts_at <= now,
               MaintenanceWindow.ends_at > now)
        .exists()
    )
    return db.session.execute(
        db.select(Component.id, Component.name, covered)
        .where(Component.monitor_type == monitor_type, Component.monitor_id == monitor_id)
        .order_by(Component.sort_order, Component.id)
    ).all()


def fully_covered(links):
    """Linked to some component, and all of them in maintenance."""
    return bool(links) and all(in_maintenance for _, _, in_maintenance in links)


def monitor_info(alert, monitor, links):
    """The ``monitor`` part of a webhook body: what it is now and the components it feeds."""
    return {
        "type": alert.monitor_type,
        "id": alert.monitor_id,
        "name": monitor.name if monitor is not None else alert.monitor_name,
        "status": monitor.status if monitor is not None else None,
        "components": [{"id": component_id, "name": name} for component_id, name, _ in links],
    }


def dispatch(alert, monitor, now):
    """Write one delivery per enabled channel, queued once the transaction commits.

    Args:
        monitor: the ``monitor`` part of the body (see monitor_info).
    Returns:
        The deliveries (none: the alert is ``no_channels``).
    """
    channels = db.session.scalars(
        db.select(AlertChannel).where(AlertChannel.enabled.is_(True)).order_by(AlertChannel.id)
    ).all()
    if not channels:
        alert.status = NO_CHANNELS
        return []
    alert.status = PENDING
    db.session.flush()  # the alert's id goes into the body
    document = {"event": "alert", "alert": AlertOut().dump(alert), "monitor": monitor}
    deliveries = [new_delivery(channel, payload_for(channel, document), now, alert.id)
                  for channel in channels]
    return deliveries


def new_delivery(channel, payload, now, alert_id=None):
    """A pending delivery due now, queued once the transaction commits."""
    delivery = AlertDelivery(alert_id=alert_id, channel_id=channel.id, payload=payload,
                             status=PENDING, attempts=0, next_attempt_at=now, created_at=now)
    db.session.add(delivery)
    after_commit(lambda: queue_deliveries([delivery]))
    return delivery


def queue_deliveries(deliveries):
    """Queue the first attempt of deliveries just committed (the sweep covers a failure)."""
    ids = [identity[0] for identity in (inspect(d).identity for d in deliveries) if identity]
    if not ids or not redis_client.configured:
        return 0
    queue = get_queue(QUEUE_NOTIFICATIONS)
    try:
        return sum(queue_delivery(queue, delivery_id, 0) for delivery_id in ids)
    except redis.RedisError as error:
        log.warning("alert deliveries not queued (%s); the sweep will", error)
        return 0


def queue_delivery(queue, delivery_id, attempts):
    """Queue one attempt of a delivery unless that attempt's job is already waiting.

    The job id names the delivery and its attempt, so the fast path and the sweep never
    stack two jobs for one attempt; deliver() claims the row, so even a double never sends
    twice at once. Returns whether a job was queued.
    """
    job_id = f"alert-delivery-{delivery_id}-{attempts}"
    try:
        status = Job.fetch(job_id, connection=queue.connection).get_status(refresh=False)
    except NoSuchJobError:
        status = None
    if status in WAITING_JOB_STATUSES:
        return False
    queue.enqueue(DELIVERY_JOB, delivery_id, job_id=job_id, result_ttl=JOB_RESULT_TTL,
                  failure_ttl=JOB_RESULT_TTL * 24)
    return True


# The periodic sweep


def sweep(now=None):
    """Deliver the held alerts whose release time has come, and queue the deliveries due.

    Returns:
        {"released": held alerts released, "queued": delivery jobs queued}.
    """
    now = now or utcnow()
    released = release_held(now)
    commit()
    return {"released": released, "queued": queue_due_deliveries(now)}


def release_held(now):
    """Turn due held alerts into deliveries, with their count and latest state.

    A monitor whose components are all in maintenance by then has its held alert suppressed
    instead (release_after_maintenance speaks for it when the window ends).
    """
    from .monitors import load_monitors

    due = db.session.scalars(
        db.select(Alert).where(Alert.status == HELD, Alert.release_at <= now)
        .order_by(Alert.release_at, Alert.id).limit(SWEEP_BATCH)
    ).all()
    if not due:
        return 0
    monitors = load_monitors({(alert.monitor_type, alert.monitor_id) for alert in due})
    released = 0
    for alert in due:
        # Two sweeps at once: only the one whose update moves the alert releases it.
        claimed = db.session.execute(
            db.update(Alert).where(Alert.id == alert.id, Alert.status == HELD)
            .values(status=PENDING).execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            continue
        links = linked_components(alert.monitor_type, alert.monitor_id, now)
        if fully_covered(links):
            alert.status = SUPPRESSED
            continue
        monitor = monitors.get((alert.monitor_type, alert.monitor_id))
        dispatch(alert, monitor_info(alert, monitor, links), now)
        released += 1
    return released


def queue_due_deliveries(now):
    """Queue the pending deliveries whose next attempt is due (new, retried, or lost to a
    Redis outage or a worker that died mid-send)."""
    if not redis_client.configured:
        return 0
    due = db.session.execute(
        db.select(AlertDelivery.id, AlertDelivery.attempts)
        .where(AlertDelivery.status == PENDING, AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id).limit(SWEEP_BATCH)
    ).all()
    db.session.rollback()  # read only: end the transaction before talking to Redis
    if not due:
        return 0
    queue = get_queue(QUEUE_NOTIFICATIONS)
    queued = 0
    try:
        for delivery_id, attempts in due:
            queued += queue_delivery(queue, delivery_id, attempts)
    except redis.RedisError as error:
        log.warning("alert deliveries not queued (%s); the next sweep will", error)
    return queued


# Maintenance ending


def release_after_maintenance(windows, now=None):
    """Alert for monitors still bad when maintenance windows end; call inside the
    transaction that acts on the windows ending.

    For each monitor linked to the windows' components: when it is bad now, no longer fully
    covered by a window in progress, and its latest alerts were suppressed (the operator has
    not heard of its current state), one deliverable alert from its state before the first of
    those suppressed alerts to its state now. Calling it again for the same windows does
    nothing more.

    Returns:
        The alerts created.
    """
    from .monitors import load_monitors

    now = now or utcnow()
    component_ids = {component.id for window in windows for component in window.components}
    if not component_ids:
        return []
    refs = db.session.execute(
        db.select(Component.monitor_type, Component.monitor_id).distinct()
        .where(Component.id.in_(component_ids), Component.monitor_type.is_not(None),
               Component.monitor_id.is_not(None))
    ).all()
    monitors = load_monitors(refs)
    created = []
    for monitor_type, monitor_id in sorted(refs):
        monitor = monitors.get((monitor_type, monitor_id))
        if monitor is None or monitor.paused or not is_bad(monitor_type, monitor.status):
            continue
        links = linked_components(monitor_type, monitor_id, now)
        if fully_covered(links):
            continue
        run = suppressed_run(monitor_type, monitor_id)
        if not run:
            continue
        alert = Alert(monitor_type=monitor_type, monitor_id=monitor_id, monitor_name=monitor.name,
                      from_status=run[-1].from_status, to_status=monitor.status,
                      reason=f"still {monitor.status} when maintenance ended", created_at=now,
                      last_at=now, count=1, status=PENDING)
        db.session.add(alert)
        dispatch(alert, monitor_info(alert, monitor, links), now)
        created.append(alert)
    return created


def suppressed_run(monitor_type, monitor_id):
    """The monitor's latest alerts that were all suppressed, newest first.

    Latest as recorded (by id): a change may be dated earlier than when it was seen (a late
    heartbeat sweep), but what the operator last heard of is what was recorded last.
    """
    latest = db.session.scalars(
        db.select(Alert).where(Alert.monitor_type == monitor_type, Alert.monitor_id == monitor_id)
        .order_by(Alert.id.desc()).limit(RELEASE_LOOKBACK)
    ).all()
    run = []
    for alert in latest:
        if alert.status != SUPPRESSED:
            break
        run.append(alert)
    return run


# Reading


def list_alerts(monitor_type=None, monitor_id=None, status=None, since=None, until=None,
                limit=50, offset=0):
    """Alerts newest first, filtered."""
    query = db.select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc())
    if monitor_type:
        query = query.where(Alert.monitor_type == monitor_type)
    if monitor_id is not None:
        query = query.where(Alert.monitor_id == monitor_id)
    if status:
        query = query.where(Alert.status == status)
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if until is not None:
        query = query.where(Alert.created_at < until)
    return paginate(query, limit, offset)


def get_alert(alert_id):
    return get_or_404(Alert, alert_id, "alert")
