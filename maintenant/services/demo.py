"""Demo data: a believable status page for a small SaaS company."""

from datetime import timedelta

from ..errors import Conflict
from ..extensions import db
from ..models import Component, utcnow
from . import components, incidents, maintenance, settings

GROUPS = [
    ("Core platform", "What every customer uses.", [
        ("Website", "Marketing site and documentation."),
        ("Dashboard", "The web application."),
        ("API", "REST API and webhooks."),
    ]),
    ("Data", "Storage and processing.", [
        ("Database cluster", "Primary PostgreSQL cluster."),
        ("Background jobs", "Exports, imports and scheduled reports."),
        ("File storage", "Uploads and attachments."),
    ]),
    ("Integrations", "Connections to third parties.", [
        ("Email delivery", "Transactional email."),
        ("Payments", "Card processing through our provider."),
    ]),
]


def load_demo(force=False):
    """Create groups, components, an incident and maintenance windows; returns a summary."""
    if not force and db.session.scalar(db.select(db.func.count()).select_from(Component)):
        raise Conflict("The database already has components; use --force to add the demo anyway.")
    settings.update_settings({"title": "Acme Cloud Status",
                              "description": "Live status of Acme Cloud's services."})
    by_name = {}
    for order, (group_name, description, members) in enumerate(GROUPS):
        group = components.create_group({"name": group_name, "description": description,
                                         "sort_order": order, "collapsed": False})
        for position, (name, text) in enumerate(members):
            by_name[name] = components.create_component(
                {"group_id": group.id, "name": name, "description": text, "sort_order": position})
    components.create_component({"name": "Status notifications", "sort_order": 99,
                                 "description": "Emails to subscribers of this page."})

    incident = incidents.create_incident({
        "title": "Slow exports for some customers", "severity": "minor",
        "status": "investigating", "components": [by_name["Background jobs"].id],
        "message": "Some CSV exports take longer than usual. We are looking into it."})
    incidents.post_incident_update(incident, {
        "status": "identified",
        "message": "A queue of large imports is delaying exports; we are adding capacity."})

    resolved = incidents.create_incident({
        "title": "Elevated API error rates", "severity": "major", "status": "investigating",
        "components": [by_name["API"].id],
        "message": "A share of API requests fail with HTTP 502."})
    incidents.post_incident_update(resolved, {
        "status": "monitoring", "message": "A faulty load balancer node was removed."})
    incidents.post_incident_update(resolved, {
        "status": "resolved", "message": "Error rates are back to normal."})

    now = utcnow().replace(second=0, microsecond=0)
    maintenance.schedule_maintenance({
        "title": "Database cluster upgrade", "cancelled": False,
        "description": "PostgreSQL minor version upgrade; writes pause for about a minute.",
        "starts_at": now + timedelta(days=2), "ends_at": now + timedelta(days=2, hours=1),
        "components": [by_name["Database cluster"].id, by_name["API"].id]})
    maintenance.schedule_maintenance({
        "title": "Payment provider maintenance", "cancelled": False, "description": "",
        "starts_at": now - timedelta(minutes=15), "ends_at": now + timedelta(minutes=45),
        "components": [by_name["Payments"].id]})
    return (f"Demo page created: {len(GROUPS)} groups, {len(by_name) + 1} components, "
            "2 incidents, 2 maintenance windows.")
