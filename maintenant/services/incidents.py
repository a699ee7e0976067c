"""Incidents and their timeline: open, update, resolve, reopen."""

from .. import status as rules
from ..extensions import db
from ..models import Component, Incident, IncidentUpdate, utcnow
from ..schemas import IncidentOut, IncidentUpdateOut
from .lookups import get_or_404, paginate, resolve_ids
from .outbox import commit, record_event
from .statuses import sync_statuses


def incident_query(status=None):
    """Incidents newest first, optionally only the open or the resolved ones."""
    query = db.select(Incident).order_by(Incident.created_at.desc(), Incident.id.desc())
    if status == "open":
        query = query.where(Incident.status != rules.RESOLVED)
    elif status == "resolved":
        query = query.where(Incident.status == rules.RESOLVED)
    return query


def list_incidents(status=None, limit=50, offset=0):
    return paginate(incident_query(status), limit, offset)


def get_incident(incident_id):
    return get_or_404(Incident, incident_id, "incident")


def create_incident(data):
    """Open an incident with its first timeline update."""
    now = utcnow()
    incident = Incident(title=data["title"], severity=data["severity"], status=data["status"],
                        created_at=now, updated_at=now,
                        resolved_at=now if data["status"] == rules.RESOLVED else None)
    incident.components = resolve_ids(Component, data["components"], "components", "component")
    incident.updates.append(IncidentUpdate(status=data["status"], message=data["message"],
                                           created_at=now))
    db.session.add(incident)
    sync_statuses(rules.CAUSE_INCIDENT, now)
    record_event("incident_created", IncidentOut().dump(incident))
    commit()
    return incident


def change_incident(incident, data):
    """Change an incident's title, severity or affected components."""
    if "components" in data:
        incident.components = resolve_ids(Component, data["components"], "components", "component")
    for name in ("title", "severity"):
        if name in data:
            setattr(incident, name, data[name])
    incident.updated_at = utcnow()
    sync_statuses(rules.CAUSE_INCIDENT, incident.updated_at)
    record_event("incident_updated", {**IncidentOut().dump(incident), "update": None})
    commit()
    return incident


def post_incident_update(incident, data):
    """Add a timeline entry; the incident takes its status (resolve, or reopen)."""
    now = utcnow()
    was_open = incident.is_open
    update = IncidentUpdate(status=data["status"], message=data["message"], created_at=now)
    incident.updates.insert(0, update)
    incident.status = data["status"]
    incident.updated_at = now
    incident.resolved_at = now if data["status"] == rules.RESOLVED else None
    sync_statuses(rules.CAUSE_INCIDENT, now)
    db.session.flush()
    kind = "incident_resolved" if was_open and not incident.is_open else "incident_updated"
    record_event(kind, {**IncidentOut().dump(incident), "update": IncidentUpdateOut().dump(update)})
    commit()
    return update


def delete_incident(incident):
    payload = IncidentOut().dump(incident)
    db.session.delete(incident)
    sync_statuses(rules.CAUSE_INCIDENT)
    record_event("incident_deleted", payload)
    commit()
