"""/api/v2: the public state in Statuspage's read-only format, where its clients look for it.

Widgets and aggregators built for Statuspage take a page's origin and append /api/v2/...json;
they work here unchanged. Field names and enum values are Statuspage's; the mapping from ours
is in README.md ("Feeds, badges and the Statuspage API"). Public, CORS open to any origin,
cached like the page (maintenant.public.cache) with an ETag; drafts never appear.
"""

import hashlib
from datetime import timezone

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.orm import selectinload

from .. import status as rules
from ..extensions import db
from ..models import Incident, MaintenanceWindow, StatusLogEntry
from ..services.components import list_components, list_groups
from ..services.incidents import public_incidents
from ..services.settings import get_settings
from ..services.statuses import effective_statuses, overall
from .cache import register
from .feeds import EPOCH, maintenance_updated
from .views import serve

bp = Blueprint("statuspage", __name__, url_prefix="/api/v2")

COMPONENT_STATUS = {
    rules.OPERATIONAL: "operational",
    rules.DEGRADED: "degraded_performance",
    rules.PARTIAL_OUTAGE: "partial_outage",
    rules.MAJOR_OUTAGE: "major_outage",
    rules.MAINTENANCE: "under_maintenance",
}
# Statuspage documents four indicators (none, minor, major, critical); maintenance, which it
# leaves out, is "minor": something is reduced, and the description says what.
INDICATOR = {
    rules.OPERATIONAL: "none",
    rules.MAINTENANCE: "minor",
    rules.DEGRADED: "minor",
    rules.PARTIAL_OUTAGE: "major",
    rules.MAJOR_OUTAGE: "critical",
}
# Our severities are Statuspage's impacts; maintenance has an impact of its own.
IMPACT = {severity: severity for severity in rules.INCIDENT_SEVERITIES}
MAINTENANCE_IMPACT = "maintenance"
# "The 50 most recent" incidents and maintenances, as Statuspage lists them.
HISTORY_LIMIT = 50
# Windows not yet over are all listed (upcoming.json, active.json); more than this is absurd.
OPEN_WINDOW_LIMIT = 500
# The words Statuspage posts itself when a maintenance starts and ends.
IN_PROGRESS_BODY = ("Scheduled maintenance is currently in progress. "
                    "We will provide updates as necessary.")
COMPLETED_BODY = "The scheduled maintenance has been completed."
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag",
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Cache-Control, If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}


def stamp(moment):
    """A time as Statuspage writes it: ISO 8601 with milliseconds (here always in UTC)."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def page_id_of(base_url):
    """A stable 12-character page id, from the page's URL (Statuspage's ids look like this)."""
    return hashlib.sha256(base_url.encode("utf-8")).hexdigest()[:12]


def group_id_of(group_id):
    """Groups are components in Statuspage, in one id space: ours get a "g" in front."""
    return f"g{group_id}"


def maintenance_id_of(window_id):
    """Maintenances are incidents in Statuspage, in one id space: ours get an "m" in front."""
    return f"m{window_id}"


def component_object(component, status, updated_at, page_id):
    return {
        "id": str(component.id),
        "name": component.name,
        "status": COMPONENT_STATUS[status],
        "created_at": stamp(component.created_at),
        "updated_at": stamp(updated_at),
        "position": 0,  # numbered in page order once the list is complete
        "description": component.description or None,
        "showcase": True,
        "start_date": component.created_at.date().isoformat(),
        "group_id": group_id_of(component.group_id) if component.group_id is not None else None,
        "page_id": page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def group_object(group, members, page_id):
    return {
        "id": group_id_of(group.id),
        "name": group.name,
        "status": COMPONENT_STATUS[rules.worst(m["_status"] for m in members)],
        "created_at": stamp(group.created_at),
        "updated_at": max(m["updated_at"] for m in members),
        "position": 0,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": page_id,
        "group": True,
        "only_show_if_degraded": False,
        "components": [m["id"] for m in members],
    }


def component_list(groups, visible, statuses, changed, page_id):
    """Groups and components in page order, each group before its members; by id for lookups."""
    objects = {}
    for component in visible:
        obj = component_object(component, statuses[component.id],
                               changed.get(component.id) or component.created_at, page_id)
        obj["_status"] = statuses[component.id]
        objects[component.id] = obj
    members = {}
    for component in visible:
        members.setdefault(component.group_id, []).append(objects[component.id])
    ordered = []
    for group in groups:
        if members.get(group.id):
            ordered.append(group_object(group, members[group.id], page_id))
            ordered += members[group.id]
    ordered += members.get(None, [])
    for position, obj in enumerate(ordered, start=1):
        obj["position"] = position
    for obj in objects.values():
        del obj["_status"]
    return ordered, objects


def update_object(update, incident_id):
    return {
        "id": str(update.id),
        "status": update.status,
        "body": update.message,
        "incident_id": incident_id,
        "created_at": stamp(update.created_at),
        "updated_at": stamp(update.created_at),
        "display_at": stamp(update.created_at),
        "affected_components": None,
        "deliver_notifications": False,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_object(incident, components, page_id, base_url):
    """An incident; ``components``: the visible component objects by our id."""
    monitoring = next((u.created_at for u in incident.updates if u.status == "monitoring"), None)
    return {
        "id": str(incident.id),
        "name": incident.title,
        "status": incident.status,
        "created_at": stamp(incident.created_at),
        "updated_at": stamp(incident.updated_at),
        "monitoring_at": stamp(monitoring),
        "resolved_at": stamp(incident.resolved_at),
        "impact": IMPACT.get(incident.severity, "none"),
        "shortlink": f"{base_url}/status/incidents/{incident.id}",
        "started_at": stamp(incident.created_at),
        "page_id": page_id,
        "incident_updates": [update_object(u, str(incident.id)) for u in incident.updates],
        "components": [components[c.id] for c in incident.components if c.id in components],
    }


def maintenance_updates(window, status, maintenance_id):
    """A window's timeline as Statuspage would have posted it, newest first."""
    def update(suffix, update_status, body, at):
        return {
            "id": f"{maintenance_id}-{suffix}",
            "status": update_status,
            "body": body,
            "incident_id": maintenance_id,
            "created_at": stamp(at),
            "updated_at": stamp(at),
            "display_at": stamp(at),
            "affected_components": None,
            "deliver_notifications": False,
            "custom_tweet": None,
            "tweet_id": None,
        }

    updates = [update("scheduled", "scheduled", window.description or window.title,
                      window.created_at)]
    if status in ("in_progress", "completed"):
        updates.append(update("in_progress", "in_progress", IN_PROGRESS_BODY, window.starts_at))
    if status == "completed":
        updates.append(update("completed", "completed", COMPLETED_BODY, window.ends_at))
    # Newest first, in the order they happen (a window entered after it started still reads
    # scheduled, then in progress, then completed).
    return updates[::-1]


def maintenance_object(window, components, page_id, base_url, now):
    status = window.status_at(now)
    maintenance_id = maintenance_id_of(window.id)
    return {
        "id": maintenance_id,
        "name": window.title,
        "status": status,
        "created_at": stamp(window.created_at),
        "updated_at": stamp(maintenance_updated(window, now)),
        "monitoring_at": None,
        "resolved_at": stamp(window.ends_at) if status == "completed" else None,
        "impact": MAINTENANCE_IMPACT,
        "shortlink": f"{base_url}/status/#maintenance-{window.id}",
        "started_at": stamp(window.starts_at),
        "page_id": page_id,
        "incident_updates": maintenance_updates(window, status, maintenance_id),
        "components": [components[c.id] for c in window.components if c.id in components],
        "scheduled_for": stamp(window.starts_at),
        "scheduled_until": stamp(window.ends_at),
    }


def load_incidents():
    """Every unresolved public incident and the HISTORY_LIMIT newest, newest first."""
    options = (selectinload(Incident.updates), selectinload(Incident.components))
    order = (Incident.created_at.desc(), Incident.id.desc())
    unresolved = db.session.scalars(
        public_incidents().where(Incident.status != rules.RESOLVED).order_by(*order)
        .options(*options)).all()
    recent = db.session.scalars(
        public_incidents().order_by(*order).limit(HISTORY_LIMIT).options(*options)).all()
    merged = {i.id: i for i in [*unresolved, *recent]}.values()
    return sorted(merged, key=lambda i: (i.created_at, i.id), reverse=True)


def load_windows(now):
    """Windows not cancelled: every one not over yet, and the HISTORY_LIMIT latest by start.

    Statuspage has no "cancelled" maintenance status, so a cancelled window is left out.
    """
    window = MaintenanceWindow
    live = window.cancelled.is_(False)
    order = (window.starts_at.desc(), window.id.desc())
    options = selectinload(window.components)
    ahead = db.session.scalars(
        db.select(window).where(live, window.ends_at > now).order_by(*order)
        .limit(OPEN_WINDOW_LIMIT).options(options)).all()
    recent = db.session.scalars(
        db.select(window).where(live).order_by(*order).limit(HISTORY_LIMIT)
        .options(options)).all()
    merged = {w.id: w for w in [*ahead, *recent]}.values()
    return sorted(merged, key=lambda w: (w.starts_at, w.id), reverse=True)


def statuspage_state(now):
    """Everything the /api/v2 documents show, in a fixed number of queries."""
    settings = get_settings()
    base_url = current_app.config["BASE_URL"]
    page_id = page_id_of(base_url)
    groups = list_groups()
    all_components = list_components()
    statuses = effective_statuses(all_components, now)
    visible = [c for c in all_components if c.visible]
    changed = dict(db.session.execute(
        db.select(StatusLogEntry.component_id, db.func.max(StatusLogEntry.at))
        .group_by(StatusLogEntry.component_id)).all())
    ordered, by_id = component_list(groups, visible, statuses, changed, page_id)
    incidents = load_incidents()
    windows = load_windows(now)
    # The page last changed when the newest of these did.
    moments = [settings.updated_at, *(changed.get(c.id) for c in visible),
               *(i.updated_at for i in incidents), *(maintenance_updated(w, now) for w in windows)]
    updated_at = max((m for m in moments if m is not None), default=EPOCH)
    overall_status, headline = overall(all_components, statuses)
    return {
        "page": {
            "id": page_id,
            "name": settings.title,
            "url": f"{base_url}/status/",
            "time_zone": settings.timezone,
            "updated_at": stamp(updated_at),
        },
        "status": {"indicator": INDICATOR[overall_status], "description": headline},
        "components": ordered,
        "incidents": [incident_object(i, by_id, page_id, base_url) for i in incidents],
        "scheduled_maintenances": [maintenance_object(w, by_id, page_id, base_url, now)
                                   for w in windows],
    }


def only(state, **lists):
    """A document: the page, then the named lists (and the status when asked)."""
    return {"page": state["page"], **lists}


def incidents_where(state, unresolved):
    return [i for i in state["incidents"] if not unresolved or i["status"] != rules.RESOLVED]


def maintenances_in(state, *statuses):
    return [m for m in state["scheduled_maintenances"] if not statuses or m["status"] in statuses]


DOCUMENTS = {
    "summary": lambda s: only(s, components=s["components"],
                              incidents=incidents_where(s, unresolved=True),
                              scheduled_maintenances=maintenances_in(s, "scheduled", "in_progress"),
                              status=s["status"]),
    "status": lambda s: only(s, status=s["status"]),
    "components": lambda s: only(s, components=s["components"]),
    "incidents": lambda s: only(s, incidents=incidents_where(s, unresolved=False)),
    "incidents/unresolved": lambda s: only(s, incidents=incidents_where(s, unresolved=True)),
    "scheduled-maintenances": lambda s: only(s, scheduled_maintenances=maintenances_in(s)),
    "scheduled-maintenances/upcoming": lambda s: only(
        s, scheduled_maintenances=maintenances_in(s, "scheduled")),
    "scheduled-maintenances/active": lambda s: only(
        s, scheduled_maintenances=maintenances_in(s, "in_progress", "verifying")),
}


def document_renderer(shape):
    return lambda state: jsonify(shape(state))


for _name, _shape in DOCUMENTS.items():
    register(f"statuspage/{_name}", document_renderer(_shape), load=statuspage_state)


def serve_document(name):
    return serve(f"statuspage/{name}")


@bp.before_request
def preflight():
    """A CORS preflight is answered here, for any route of the blueprint."""
    if request.method == "OPTIONS":
        return current_app.response_class(status=204, headers=PREFLIGHT_HEADERS)
    return None


@bp.after_app_request
def open_to_every_origin(response):
    """Every answer under /api/v2 (errors and 304s too) may be read by any web page."""
    if request.path.startswith(bp.url_prefix + "/"):
        for name, value in CORS_HEADERS.items():
            response.headers[name] = value
    return response


def add_route(name):
    bp.add_url_rule(f"/{name}.json", f"document_{name.replace('/', '_').replace('-', '_')}",
                    lambda: serve_document(name), methods=["GET", "OPTIONS"],
                    provide_automatic_options=False)


for _name in DOCUMENTS:
    add_route(_name)
