"""Effective statuses from the database, and the status log that records their changes."""

from collections import defaultdict

import sqlalchemy as sa

from .. import status as rules
from .. import write_lock
from ..extensions import db
from ..models import (Component, Incident, MaintenanceWindow, OutboxEvent, StatusLogEntry,
                      incident_components, maintenance_components, utcnow)
from ..monitors import monitor_states
from . import auto_incidents
from .outbox import record_event

# The one predicate of a public incident (not a draft): statuses, the page, feeds, API v2 and
# mail read incidents through it (services.incidents.public_incidents).
PUBLIC = Incident.draft.is_(False)


def component_inputs(now):
    """What the status rules need, for all components, in three queries.

    Returns:
        (severities, in_maintenance): {component_id: [severity of each open public incident]} and
        the set of ids covered by a maintenance window in progress at ``now``.
    """
    severities = defaultdict(list)
    rows = db.session.execute(
        db.select(incident_components.c.component_id, Incident.severity)
        .join(Incident, Incident.id == incident_components.c.incident_id)
        .where(Incident.status != rules.RESOLVED, PUBLIC)
    )
    for component_id, severity in rows:
        severities[component_id].append(severity)
    in_maintenance = set(db.session.scalars(
        db.select(maintenance_components.c.component_id)
        .join(MaintenanceWindow, MaintenanceWindow.id == maintenance_components.c.maintenance_id)
        .where(MaintenanceWindow.cancelled.is_(False), MaintenanceWindow.starts_at <= now,
               MaintenanceWindow.ends_at > now)
    ))
    return severities, in_maintenance


def effective_statuses(components, now=None):
    """{component_id: effective status} for ``components``, by the status rules."""
    now = now or utcnow()
    severities, in_maintenance = component_inputs(now)
    states = monitor_states((c.monitor_type, c.monitor_id) for c in components)
    return {
        component.id: rules.component_status(
            override=component.status_override,
            in_maintenance=component.id in in_maintenance,
            monitor=rules.monitor_contribution(
                component.monitor_type, states.get((component.monitor_type, component.monitor_id))
            ),
            incident_severities=severities.get(component.id, ()),
        )
        for component in components
    }


def effective_status(component, now=None):
    return effective_statuses([component], now)[component.id]


def all_components(fresh=False):
    """Every component; ``fresh``: overwrite what the session loaded before with the rows now."""
    query = db.select(Component).order_by(Component.sort_order, Component.id)
    if fresh:
        query = query.execution_options(populate_existing=True)
    return db.session.scalars(query).all()


def overall(components, statuses):
    """The page's overall status and headline from its visible components."""
    status = rules.overall_status(statuses[c.id] for c in components if c.visible)
    return status, rules.headline(status)


def last_overall():
    """The overall status last announced by a global_changed event (operational at first)."""
    payload = db.session.scalar(
        db.select(OutboxEvent.payload).where(OutboxEvent.type == "global_changed")
        .order_by(OutboxEvent.id.desc()).limit(1)
    )
    return payload["status"] if payload else rules.OPERATIONAL


def component_event(component, status):
    """The payload of a component_changed event."""
    return {"id": component.id, "name": component.name, "group_id": component.group_id,
            "status": status, "visible": component.visible}


def on_page_before_or_after(component):
    """Whether a component being changed is on the page, or was until this change."""
    history = sa.inspect(component).attrs.visible.history
    return component.visible or bool(history.deleted and history.deleted[0])


def sync_statuses(cause, now=None, touched=()):
    """Log every component whose effective status changed, and record the events it implies.

    Call inside the transaction of the change (before commit). A component new to the log
    (``logged_status`` None) starts its history here. For cause ``monitor`` the auto
    incidents follow the monitors first (services.auto_incidents).

    Args:
        cause: why the statuses may have moved: monitor | incident | maintenance | override.
        touched: components whose visible attributes (name, group, visibility) changed, so they
            need an event even when their status did not move.
    Returns:
        The components whose effective status changed.
    """
    now = now or utcnow()
    # Before the flush, which forgets what ``visible`` was: a hidden component stays off the
    # public stream even when renamed or regrouped.
    touched = [component for component in touched if on_page_before_or_after(component)]
    if cause == rules.CAUSE_MONITOR:
        # Before the statuses: the log and the events then include the incident's effect.
        auto_incidents.follow_monitors(now)
    db.session.flush()
    # One writer at a time from here (PostgreSQL): what was logged and announced before is
    # read after every earlier change committed, and components loaded before are reloaded.
    write_lock.acquire(db.session())
    components = all_components(fresh=True)
    statuses = effective_statuses(components, now)
    # Out of maintenance (or an override) straight into an outage its monitor causes: the
    # auto incident the window held back opens now. Only on the call that logs the change.
    leaving = [c for c in components if c.auto_incident and c.logged_status == rules.MAINTENANCE
               and statuses[c.id] in auto_incidents.OUTAGES]
    if leaving and auto_incidents.follow_maintenance_end(leaving, now):
        statuses = effective_statuses(components, now)
    changed = []
    for component in components:
        new = statuses[component.id]
        if new == component.logged_status:
            continue
        db.session.add(StatusLogEntry(component_id=component.id, from_status=component.logged_status,
                                      to_status=new, at=now, cause=cause))
        component.logged_status = new
        changed.append(component)
    for component in {c.id: c for c in [*changed, *touched]}.values():
        if component.visible or component in touched:
            record_event("component_changed", component_event(component, statuses[component.id]))
    status, message = overall(components, statuses)
    if status != last_overall():
        record_event("global_changed", {"status": status, "message": message})
    return changed
