"""Incidents and their timeline: open, update, resolve, reopen, publish a draft.

A draft (``Incident.draft``) is an incident the public does not see yet: it moves no status,
records no event (so nothing reaches the page, the live stream or mail) until it is published.
``PUBLIC`` is the one predicate every public reader filters incidents with.
"""

from .. import status as rules
from ..errors import Conflict
from ..extensions import db
from ..models import Component, Incident, IncidentUpdate, utcnow
from ..schemas import IncidentOut, IncidentUpdateOut
from .lookups import get_or_404, paginate, resolve_ids
from .outbox import commit, record_event
from .statuses import PUBLIC, sync_statuses

__all__ = ["PUBLIC", "public_incidents"]


def public_incidents():
    """Incidents the public may see (no drafts): the page, feeds, API v2 and mail start here."""
    return db.select(Incident).where(PUBLIC)


def incident_query(status=None, draft=None):
    """Incidents newest first, optionally only the open or the resolved ones, drafts or not."""
    query = db.select(Incident).order_by(Incident.created_at.desc(), Incident.id.desc())
    if status == "open":
        query = query.where(Incident.status != rules.RESOLVED)
    elif status == "resolved":
        query = query.where(Incident.status == rules.RESOLVED)
    if draft is not None:
        query = query.where(Incident.draft.is_(draft))
    return query


def list_incidents(status=None, limit=50, offset=0, draft=None):
    return paginate(incident_query(status, draft), limit, offset)


def get_incident(incident_id):
    return get_or_404(Incident, incident_id, "incident")


def record_incident_event(kind, incident, update=False, notify=False):
    """Record an incident event, unless the incident is a draft (the public never hears of it).

    Args:
        update: the IncidentUpdate the event is about; None for "no update" (a change of
            title, severity or components); False to leave ``update`` out (created, deleted).
        notify: whether subscribers get an email about it (see maintenant.notify).
    """
    if incident.draft:
        return None
    payload = IncidentOut().dump(incident)
    if update is not False:
        payload["update"] = IncidentUpdateOut().dump(update) if update is not None else None
    event = record_event(kind, payload)
    if notify:
        event.notify = True
        incident.mailed_status = incident.status
        incident.mailed_at = utcnow()
    return event


def open_incident(title, severity, status, message, components, now, draft=False, auto=False):
    """Add an incident with its first timeline update to the session.

    No status sync, no event, no commit: the caller does those (``create_incident``, or the
    auto-incident step inside ``sync_statuses``).
    """
    incident = Incident(title=title, severity=severity, status=status, created_at=now,
                        updated_at=now, resolved_at=now if status == rules.RESOLVED else None,
                        draft=draft, auto=auto)
    incident.components = list(components)
    incident.updates.append(IncidentUpdate(status=status, message=message, created_at=now))
    db.session.add(incident)
    db.session.flush()
    return incident


def add_update(incident, status, message, now):
    """Add a timeline entry; the incident takes its status (resolve, or reopen).

    No status sync, no event, no commit. Returns:
        (update, kind): the new IncidentUpdate and the event it calls for, incident_resolved
        when it closed an open incident, else incident_updated.
    """
    was_open = incident.is_open
    update = IncidentUpdate(status=status, message=message, created_at=now)
    incident.updates.insert(0, update)
    incident.status = status
    incident.updated_at = now
    incident.resolved_at = now if status == rules.RESOLVED else None
    kind = "incident_resolved" if was_open and not incident.is_open else "incident_updated"
    return update, kind


def create_incident(data):
    """Open an incident with its first timeline update (a draft when ``data["draft"]``).

    Backfill: with ``created_at`` (in the past) the incident and its first update carry that
    time; created resolved, it ends at ``resolved_at`` (default: ``created_at``, so an
    incident entered without its end adds no downtime to the uptime bars), and subscribers
    are not mailed unless ``notify`` says so: it is news of the past. The event is still
    recorded (pages and caches learn of it), and the status log moves now, not in the past.
    """
    now = utcnow()
    began = data.get("created_at") or now
    components = resolve_ids(Component, data["components"], "components", "component")
    incident = open_incident(data["title"], data["severity"], data["status"], data["message"],
                             components, began, draft=data.get("draft", False))
    if data.get("postmortem"):
        incident.postmortem = data["postmortem"]
    backfilled_resolved = "created_at" in data and not incident.is_open
    if backfilled_resolved:
        incident.resolved_at = incident.updated_at = data.get("resolved_at") or began
    sync_statuses(rules.CAUSE_INCIDENT, now)
    notify = data.get("notify")
    if notify is None:
        notify = not backfilled_resolved
    record_incident_event("incident_created", incident, notify=notify)
    commit()
    return incident


def change_incident(incident, data):
    """Change an incident's title, severity or affected components."""
    if "components" in data:
        incident.components = resolve_ids(Component, data["components"], "components", "component")
    for name in ("title", "severity", "postmortem"):
        if name in data:
            setattr(incident, name, data[name])
    incident.updated_at = utcnow()
    sync_statuses(rules.CAUSE_INCIDENT, incident.updated_at)
    record_incident_event("incident_updated", incident, None)
    commit()
    return incident


def post_incident_update(incident, data):
    """Add a timeline entry; the incident takes its status (resolve, or reopen)."""
    now = utcnow()
    update, kind = add_update(incident, data["status"], data["message"], now)
    sync_statuses(rules.CAUSE_INCIDENT, now)
    db.session.flush()
    record_incident_event(kind, incident, update, notify=data.get("notify", True))
    commit()
    return update


def publish_incident(incident):
    """Make a draft public: it moves statuses and is announced as created.

    Raises:
        Conflict: when the incident is not a draft.
    """
    if not incident.draft:
        raise Conflict(f"Incident {incident.id} is not a draft; it is public already.")
    incident.draft = False
    incident.updated_at = utcnow()
    sync_statuses(rules.CAUSE_INCIDENT, incident.updated_at)
    record_incident_event("incident_created", incident, notify=True)
    commit()
    return incident


def delete_incident(incident):
    draft = incident.draft
    payload = IncidentOut().dump(incident)
    db.session.delete(incident)
    sync_statuses(rules.CAUSE_INCIDENT)
    if not draft:
        record_event("incident_deleted", payload)
    commit()
