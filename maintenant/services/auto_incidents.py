"""Auto incidents: open, resolve and reopen incidents for components whose monitor fails.

Runs inside ``statuses.sync_statuses`` for cause ``monitor``, before the effective statuses
are computed, so the status log and the events of the same transaction include the
incident's effect. It judges a component by its MONITOR's contribution, never by its
effective status (which the auto incident itself raises). The rules are in README.md
("Auto incidents and drafts").
"""

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from .. import status as rules
from ..extensions import db
from ..models import (Component, Incident, MaintenanceWindow, MonitorTransition,
                      incident_components, maintenance_components)
from ..monitors import monitor_states
from .settings import get_settings

# Session info key: {(monitor_type, monitor_id): (from_status of its first transition in this
# transaction, reason of its last)}. Noted as transitions are added, whoever adds them, and
# forgotten at commit or rollback.
TRANSITIONS = "maintenant.monitor_transitions"
# A component failing again within this time of its auto incident's resolution reopens it.
REOPEN_WITHIN = timedelta(minutes=30)
# A flapping auto incident mails subscribers at most this often.
MAIL_AT_MOST_EVERY = timedelta(minutes=30)
OUTAGES = (rules.PARTIAL_OUTAGE, rules.MAJOR_OUTAGE)
SEVERITY = {rules.MAJOR_OUTAGE: "critical", rules.PARTIAL_OUTAGE: "major"}
WORDS = {rules.MAJOR_OUTAGE: "major outage", rules.PARTIAL_OUTAGE: "partial outage"}
TITLE_MAX = 300


@sa.event.listens_for(Session, "transient_to_pending")
def note_transition(session, instance):
    if isinstance(instance, MonitorTransition):
        moved = session.info.setdefault(TRANSITIONS, {})
        key = (instance.monitor_type, instance.monitor_id)
        first_from = moved[key][0] if key in moved else instance.from_status
        moved[key] = (first_from, instance.reason)


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_soft_rollback")
def forget_transitions(session, *args):
    session.info.pop(TRANSITIONS, None)


def follow_monitors(now):
    """Open, reopen or resolve auto incidents after monitors moved in this transaction.

    Only two cheap queries when no auto incident is concerned: the open auto incidents, and
    the auto_incident components of the monitors that transitioned.
    """
    moved = db.session.info.pop(TRANSITIONS, {})
    open_auto = db.session.scalars(
        db.select(Incident).where(Incident.auto.is_(True), Incident.status != rules.RESOLVED)
        .options(selectinload(Incident.components))
    ).all()
    watched = []  # auto_incident components whose monitor moved
    if moved:
        candidates = db.session.scalars(db.select(Component).where(
            Component.auto_incident.is_(True),
            Component.monitor_id.in_(sorted({monitor_id for _, monitor_id in moved})))).all()
        watched = [c for c in candidates if ref(c) in moved]
    if not open_auto and not watched:
        return
    states = monitor_states({ref(c) for c in watched} |
                            {ref(c) for incident in open_auto for c in incident.components})

    def contribution(component):
        return rules.monitor_contribution(component.monitor_type, states.get(ref(component)))

    for incident in open_auto:
        if recovered(incident, moved, contribution):
            resolve(incident, now)
    entered = [c for c in watched
               if rules.monitor_contribution(c.monitor_type, moved[ref(c)][0]) not in OUTAGES]
    open_where_due(entered, contribution, {ref(c): moved[ref(c)][1] for c in entered}, now)


def follow_maintenance_end(components, now):
    """Open auto incidents for components that left maintenance while their monitor fails.

    Args:
        components: auto_incident components whose logged status was maintenance and whose
            new effective status is an outage (so: nothing to do on most calls).
    Returns:
        Whether an incident was opened or reopened.
    """
    from .monitors import load_monitors

    monitors = load_monitors({ref(c) for c in components if c.monitor_type is not None})
    states = {key: monitor.status for key, monitor in monitors.items() if not monitor.paused}

    def contribution(component):
        return rules.monitor_contribution(component.monitor_type, states.get(ref(component)))

    reasons = {key: monitor.last_error for key, monitor in monitors.items()}
    return open_where_due(components, contribution, reasons, now)


def open_where_due(components, contribution, reasons, now):
    """Open (or reopen) an auto incident for each component in outage by its monitor, with no
    override, not in maintenance, and no open incident covering it. Returns whether any."""
    due = [c for c in components if contribution(c) in OUTAGES and c.status_override is None]
    if not due:
        return False
    ids = [c.id for c in due]
    quiet = in_maintenance(ids, now) | covered(ids)
    due = [c for c in due if c.id not in quiet]
    for component in due:
        open_or_reopen(component, contribution(component), reasons.get(ref(component)), now)
    return bool(due)


def ref(component):
    return (component.monitor_type, component.monitor_id)


def recovered(incident, moved, contribution):
    """Whether an open auto incident's components are out of outage by their monitors.

    Only judged for incidents whose component's monitor moved now, or has no say any more
    (paused, deleted, unlinked): an operator who reopens an auto incident by hand while the
    monitor is fine is not overruled until that monitor next moves.
    """
    components = incident.components
    if not components:
        return False
    concerned = any(ref(c) in moved or contribution(c) is None for c in components)
    return concerned and not any(contribution(c) in OUTAGES for c in components)


def in_maintenance(component_ids, now):
    window = MaintenanceWindow
    return set(db.session.scalars(
        db.select(maintenance_components.c.component_id)
        .join(window, window.id == maintenance_components.c.maintenance_id)
        .where(maintenance_components.c.component_id.in_(component_ids),
               window.cancelled.is_(False), window.starts_at <= now, window.ends_at > now)))


def covered(component_ids):
    """The ids among ``component_ids`` that an open incident (draft or public) covers."""
    return set(db.session.scalars(
        db.select(incident_components.c.component_id)
        .join(Incident, Incident.id == incident_components.c.incident_id)
        .where(incident_components.c.component_id.in_(component_ids),
               Incident.status != rules.RESOLVED)))


def latest_auto_incident(component):
    return db.session.scalar(
        db.select(Incident)
        .join(incident_components, incident_components.c.incident_id == Incident.id)
        .where(incident_components.c.component_id == component.id, Incident.auto.is_(True))
        .order_by(Incident.created_at.desc(), Incident.id.desc()).limit(1))


def open_or_reopen(component, status, reason, now):
    """Reopen the component's auto incident resolved within REOPEN_WITHIN, else open one."""
    from . import incidents

    words = WORDS[status]
    # A check's error in one line, without the full stop the sentences add.
    reason = " ".join((reason or "").split()).rstrip(".")
    detail = f": {reason}" if reason else ""
    latest = latest_auto_incident(component)
    if latest is not None and latest.resolved_at is not None and \
            latest.resolved_at >= now - REOPEN_WITHIN:
        update, kind = incidents.add_update(
            latest, "investigating", f"{component.name} is failing again{detail}.", now)
        incidents.record_incident_event(kind, latest, update, notify=mail_reopening(latest, now))
        return latest
    title = f"{component.name}: {reason}" if reason else f"{component.name}: {words}"
    if len(title) > TITLE_MAX:
        title = title[:TITLE_MAX - 1] + "…"
    message = f"Our monitoring detected a {words} of {component.name}{detail}. " \
              "We are investigating."
    incident = incidents.open_incident(title, SEVERITY[status], "investigating", message,
                                       [component], now,
                                       draft=get_settings().auto_incident_drafts, auto=True)
    incidents.record_incident_event("incident_created", incident, notify=True)
    return incident


def mail_reopening(incident, now):
    """A reopened auto incident mails only when subscribers last heard it was resolved, and at
    most once per MAIL_AT_MOST_EVERY: a flapping component cannot flood them."""
    return incident.mailed_status == rules.RESOLVED and (
        incident.mailed_at is None or incident.mailed_at <= now - MAIL_AT_MOST_EVERY)


def mail_resolution(incident):
    """A resolution mails when subscribers last heard the incident was open (so a reopening
    that was not mailed is not "resolved" by mail either): they always end up told the truth."""
    return incident.mailed_status is not None and incident.mailed_status != rules.RESOLVED


def resolve(incident, now):
    from . import incidents

    names = [c.name for c in incident.components]
    verb = "has" if len(names) == 1 else "have"
    notify = mail_resolution(incident)
    update, kind = incidents.add_update(incident, rules.RESOLVED,
                                        f"{', '.join(names)} {verb} recovered.", now)
    incidents.record_incident_event(kind, incident, update, notify=notify)
