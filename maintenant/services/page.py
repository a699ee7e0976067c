"""The public page's whole state, read from the database in a fixed number of queries."""

from datetime import timedelta

from flask import current_app
from sqlalchemy.orm import selectinload

from .. import status as rules
from ..extensions import db
from ..models import Incident, MaintenanceWindow, utcnow
from ..schemas import IncidentOut, MaintenanceOut
from .components import list_components, list_groups
from .settings import get_settings
from .statuses import PUBLIC, effective_statuses, overall


def public_component(component, status):
    return {"id": component.id, "name": component.name, "description": component.description,
            "group_id": component.group_id, "status": status}


def public_incident(incident, names):
    """An incident as the API returns it, plus the names of the visible components it affects."""
    data = IncidentOut().dump(incident)
    data["affected"] = [names[c.id] for c in incident.components if c.id in names]
    return data


def public_maintenance(window, names, now):
    data = MaintenanceOut().dump(window)
    data["status"] = window.status_at(now)
    data["affected"] = [names[c.id] for c in window.components if c.id in names]
    return data


def page_state(now=None):
    """The document behind /status/ and /status/api (DESIGN.md, public surface)."""
    now = now or utcnow()
    settings = get_settings()
    groups = list_groups()
    components = list_components()
    statuses = effective_statuses(components, now)
    visible = [c for c in components if c.visible]
    names = {c.id: c.name for c in visible}
    overall_status, message = overall(components, statuses)

    by_group = {}
    for component in visible:
        by_group.setdefault(component.group_id, []).append(public_component(component,
                                                                            statuses[component.id]))
    public_groups = []
    for group in groups:
        members = by_group.get(group.id, [])
        if not members:
            continue
        public_groups.append({
            "id": group.id, "name": group.name, "description": group.description,
            "collapsed": group.collapsed, "status": rules.worst(m["status"] for m in members),
            "components": members,
        })

    recent = now - timedelta(days=current_app.config["RESOLVED_INCIDENT_DAYS"])
    incidents = db.session.scalars(
        db.select(Incident)
        .where(PUBLIC, (Incident.status != rules.RESOLVED) | (Incident.resolved_at >= recent))
        .order_by(Incident.created_at.desc(), Incident.id.desc())
        .options(selectinload(Incident.updates), selectinload(Incident.components))
    ).all()
    windows = db.session.scalars(
        db.select(MaintenanceWindow)
        .where(MaintenanceWindow.cancelled.is_(False), MaintenanceWindow.ends_at > now)
        .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
        .limit(current_app.config["UPCOMING_MAINTENANCE_LIMIT"])
        .options(selectinload(MaintenanceWindow.components))
    ).all()

    return {
        "page": {"title": settings.title, "description": settings.description,
                 "timezone": settings.timezone},
        "status": overall_status,
        "message": message,
        "groups": public_groups,
        "components": by_group.get(None, []),
        "incidents": [public_incident(i, names) for i in incidents if i.is_open],
        "resolved_incidents": [public_incident(i, names) for i in incidents if not i.is_open],
        "maintenance": [public_maintenance(w, names, now) for w in windows],
    }


def page_with_uptime(now=None):
    """The page state plus each component's daily uptime bars and its groups' averages.

    Only the HTML page shows the bars: /status/api and the live stream keep the lighter
    ``page_state``. Every visible component gets ``uptime`` (percent over the window, None: no
    data) and ``bars`` (services.uptime.DayBar, oldest first); each group gets ``uptime`` and
    ``bars``, the averages of its components; the state gets ``uptime_days``.
    """
    from . import uptime

    now = now or utcnow()
    state = page_state(now)
    settings = get_settings()
    days = max(1, min(settings.uptime_days or 90, uptime.MAX_DAYS))
    components = [c for c in list_components() if c.visible]
    bars = uptime.daily_uptime(components, days, settings.timezone, now)
    for component in [*state["components"], *(c for g in state["groups"] for c in g["components"])]:
        component["bars"] = bars.get(component["id"], [])
        component["uptime"] = uptime.window_percent(component["bars"])
    for group in state["groups"]:
        members = group["components"]
        group["bars"] = uptime.average_bars([m["bars"] for m in members if m["bars"]])
        group["uptime"] = uptime.average_percent(m["uptime"] for m in members)
    state["uptime_days"] = days
    return state
