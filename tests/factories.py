"""Small factories that build data through the services, as the API would."""

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from maintenant.extensions import db

from maintenant.models import utcnow
from maintenant.services import components, incidents, maintenance


def make_group(name="Core", **fields):
    return components.create_group({"name": name, "description": "", "sort_order": 0,
                                     "collapsed": False, **fields})


def make_component(name="API", **fields):
    return components.create_component({"name": name, **fields})


def make_incident(title="Elevated errors", severity="major", components_=(), status="investigating",
                  message="We are looking into it.", notify=False):
    """An incident; quiet by default (``notify``: whether subscribers are mailed)."""
    return incidents.create_incident({"title": title, "severity": severity, "status": status,
                                      "message": message, "notify": notify,
                                      "components": [c.id for c in components_]})


def make_maintenance(title="Upgrade", components_=(), starts_in=timedelta(hours=1),
                     lasts=timedelta(hours=1), description=""):
    starts_at = utcnow() + starts_in
    return maintenance.schedule_maintenance({
        "title": title, "description": description, "starts_at": starts_at,
        "ends_at": starts_at + lasts, "components": [c.id for c in components_],
        "cancelled": False})


@contextmanager
def counting_queries():
    """Collect the SQL statements sent while the block runs."""
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
