"""Monitors as operators configure them: create, change, pause, resume and delete.

Probe results go through services.monitors; this module owns what an operator sets. After
each commit the probe schedule is told (update_schedule copes with a Redis outage itself),
and a change that moves what a monitor contributes (pause, resume, a new target, delete)
recomputes the component statuses in the same transaction.
"""

import secrets
from urllib.parse import urlsplit

from .. import status as rules
from ..extensions import db
from ..models import Certificate, Endpoint, Heartbeat, MonitorHour, MonitorTransition, utcnow
from .heartbeats import allowance
from .lookups import get_or_404, paginate
from .monitors import INITIAL_STATE, KINDS, detach_components, transition, update_schedule
from .outbox import commit
from .statuses import sync_statuses

# Changing these points a monitor at something else: what it knew no longer holds.
TARGET_FIELDS = {"endpoint": {"target"}, "certificate": {"host", "port", "server_name"}}
# Facts read by checks, forgotten when a monitor starts again from no result.
OBSERVED_FIELDS = {
    "endpoint": ("last_latency_ms",),
    "certificate": ("expires_at", "issuer", "subject"),
    "heartbeat": ("deadline_at",),
    "container": (),
}
NAME_MAX = 200
CERTIFICATE_SUFFIX = " certificate"
# 24 bytes = 192 random bits, 32 URL-safe characters.
PING_TOKEN_BYTES = 24


def list_monitors(monitor_type, limit, offset):
    """(monitors, total) of one kind, ordered by name then id."""
    model = KINDS[monitor_type]
    return paginate(db.select(model).order_by(model.name, model.id), limit, offset)


def get_monitor(monitor_type, monitor_id):
    return get_or_404(KINDS[monitor_type], monitor_id, monitor_type)


def new_monitor(model, data, now):
    monitor = model(**data, status=INITIAL_STATE[model.monitor_type], status_changed_at=now,
                    pending_count=0, created_at=now, updated_at=now)
    db.session.add(monitor)
    return monitor


def create_endpoint(data):
    """Create an endpoint; with ``track_certificate`` also a certificate monitor for its host.

    Returns:
        (endpoint, certificate or None).
    """
    data = dict(data)
    track_certificate = data.pop("track_certificate", False)
    now = utcnow()
    endpoint = new_monitor(Endpoint, data, now)
    certificate = new_monitor(Certificate, certificate_of(endpoint), now) \
        if track_certificate else None
    commit()
    update_schedule(endpoint)
    if certificate is not None:
        update_schedule(certificate)
    return endpoint, certificate


def certificate_of(endpoint):
    """The settings of a certificate monitor for an https endpoint's host and port."""
    parts = urlsplit(endpoint.target.strip())
    name = endpoint.name[:NAME_MAX - len(CERTIFICATE_SUFFIX)] + CERTIFICATE_SUFFIX
    return {"name": name, "host": parts.hostname, "port": parts.port or 443, "server_name": None,
            "warning_days": 30, "interval_seconds": 3600,
            "failure_threshold": endpoint.failure_threshold, "paused": endpoint.paused}


def create_heartbeat(data):
    """Create a heartbeat with an unguessable ping token of its own."""
    heartbeat = new_monitor(Heartbeat, {**data, "token": secrets.token_urlsafe(PING_TOKEN_BYTES)},
                            utcnow())
    commit()
    update_schedule(heartbeat)   # heartbeats wait for pings: a no-op, kept for the rule
    return heartbeat


def create_certificate(data):
    certificate = new_monitor(Certificate, data, utcnow())
    commit()
    update_schedule(certificate)
    return certificate


def update_monitor(monitor, data):
    """Apply a partial change; a change to nothing is no change (updated_at stays).

    Pausing takes the monitor's contribution off its components. Resuming it, or pointing it
    at another target, starts it again from no result, so a state seen before (or of another
    server) never comes back as if it were current.
    """
    changed = {name: value for name, value in data.items() if getattr(monitor, name) != value}
    if not changed:
        return monitor
    now = utcnow()
    for name, value in changed.items():
        setattr(monitor, name, value)
    monitor.updated_at = now
    kind = monitor.monitor_type
    restarted = False
    if "paused" in changed and not monitor.paused:
        restarted = restart(monitor, now, "resumed")
    elif TARGET_FIELDS.get(kind, set()) & set(changed) and not monitor.paused:
        restarted = restart(monitor, now, "target changed")
    if kind == "heartbeat" and {"interval_seconds", "grace_seconds", "paused"} & set(changed):
        refresh_deadline(monitor)
    if "paused" in changed or restarted:
        sync_statuses(rules.CAUSE_MONITOR, now)
    commit()
    update_schedule(monitor)
    return monitor


def restart(monitor, now, reason):
    """Back to no result: the next check's result is taken at once. True if the state moved."""
    for name in OBSERVED_FIELDS[monitor.monitor_type]:
        setattr(monitor, name, None)
    monitor.last_checked_at = None
    monitor.last_error = None
    monitor.pending_status, monitor.pending_count = None, 0
    initial = INITIAL_STATE[monitor.monitor_type]
    if monitor.status == initial:
        return False
    transition(monitor, initial, now, reason)
    return True


def refresh_deadline(heartbeat):
    """A paused heartbeat has no deadline; an up one is due interval + grace after its last
    ping, by its new settings. A down one keeps the sweep's (services.heartbeats)."""
    if heartbeat.paused:
        heartbeat.deadline_at = None
    elif heartbeat.status == "up" and heartbeat.last_ping_at is not None:
        heartbeat.deadline_at = heartbeat.last_ping_at + allowance(heartbeat)


def delete_monitor(monitor):
    """Delete a monitor and its history; components using it keep going with no monitor.

    A container deleted here comes back if discovery sees it again.
    """
    kind, monitor_id = monitor.monitor_type, monitor.id
    detach_components(kind, monitor_id)
    # SQLite may give a later monitor the same id: it must not inherit this one's history.
    for model in (MonitorHour, MonitorTransition):
        db.session.execute(db.delete(model).where(model.monitor_type == kind,
                                                  model.monitor_id == monitor_id))
    db.session.delete(monitor)
    sync_statuses(rules.CAUSE_MONITOR)
    commit()
    update_schedule(monitor, deleted=True)
