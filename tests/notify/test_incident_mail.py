"""Which incident changes mail subscribers: operators choose, auto incidents never flood."""

from datetime import timedelta

import pytest

from maintenant.extensions import db
from maintenant.models import Endpoint, Incident, OutboxEvent, utcnow
from maintenant.monitors.base import ProbeResult
from maintenant.notify import fanout
from maintenant.services import incidents
from maintenant.services.monitors import record_results

from factories import make_component

from .conftest import subscribe

UP = ProbeResult("up", 12.0)
DOWN = ProbeResult("down", None, "connection refused")


@pytest.fixture
def reader(mail_app):
    return subscribe("reader@example.com")


def mailed_kinds():
    """The kinds of the events that owe subscribers an email, in order."""
    return db.session.scalars(db.select(OutboxEvent.type).where(OutboxEvent.notify.is_(True))
                              .order_by(OutboxEvent.id)).all()


def deliver(work):
    fanout.sweep()
    work()


def test_an_incident_and_each_update_mail_by_default(api, reader, smtp_server, work):
    incident = api.post("/status/incidents", json={"title": "Login fails", "severity": "major",
                                                  "message": "Looking."}).get_json()
    api.post(f"/status/incidents/{incident['id']}/updates",
             json={"status": "identified", "message": "Found it."})
    api.post(f"/status/incidents/{incident['id']}/updates",
             json={"status": "resolved", "message": "Fixed."})
    deliver(work)

    subjects = [message["Subject"] for message in smtp_server.messages]
    assert sorted(subjects) == sorted([
        "[System Status] Incident: Login fails", "[System Status] Identified: Login fails",
        "[System Status] Resolved: Login fails"])


def test_notify_false_keeps_an_incident_or_an_update_out_of_mail(api, reader, smtp_server, work):
    quiet = api.post("/status/incidents", json={"title": "Blip", "severity": "minor",
                                               "message": "Short.", "notify": False}).get_json()
    api.post(f"/status/incidents/{quiet['id']}/updates",
             json={"status": "monitoring", "message": "Watching.", "notify": False})
    api.post(f"/status/incidents/{quiet['id']}/updates",
             json={"status": "resolved", "message": "Gone."})
    deliver(work)

    assert [m["Subject"] for m in smtp_server.messages] == ["[System Status] Resolved: Blip"]


def test_notify_must_be_a_boolean(api, reader):
    from api.helpers import assert_error

    assert_error(api.post("/status/incidents", json={"title": "X", "severity": "minor",
                                                    "message": "Y", "notify": "no"}), 422, "notify")


def test_a_draft_mails_nothing_until_it_is_published(api, reader, smtp_server, work):
    draft = api.post("/status/incidents", json={"title": "Draft", "severity": "minor",
                                               "message": "Not yet.", "draft": True}).get_json()
    deliver(work)
    assert smtp_server.messages == []

    api.post(f"/status/incidents/{draft['id']}/publish")
    deliver(work)
    assert [m["Subject"] for m in smtp_server.messages] == ["[System Status] Incident: Draft"]


@pytest.fixture
def auto_component(app):
    endpoint = Endpoint(name="API check", target="http://127.0.0.1:9/", status="up",
                        interval_seconds=30, failure_threshold=1)
    db.session.add(endpoint)
    db.session.commit()
    make_component("API", monitor_type="endpoint", monitor_id=endpoint.id, auto_incident=True)
    return endpoint


def feed(endpoint, result):
    record_results([("endpoint", endpoint.id, result, utcnow())])


def test_a_flapping_auto_incident_mails_at_most_once_per_half_hour(auto_component, reader):
    feed(auto_component, DOWN)   # opens: mailed
    feed(auto_component, UP)     # resolves: mailed
    feed(auto_component, DOWN)   # reopens within 30 min of the last mail: not mailed
    feed(auto_component, UP)     # subscribers last heard "resolved": nothing to correct
    assert mailed_kinds() == ["incident_created", "incident_resolved"]

    [incident] = db.session.scalars(db.select(Incident)).all()
    incident.mailed_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    feed(auto_component, DOWN)   # half an hour later: mailed again
    feed(auto_component, UP)     # and its resolution too
    assert mailed_kinds() == ["incident_created", "incident_resolved",
                              "incident_updated", "incident_resolved"]


def test_an_auto_incident_mails_its_opening_and_resolution_only(auto_component, reader,
                                                                smtp_server, work):
    feed(auto_component, DOWN)
    [incident] = db.session.scalars(db.select(Incident)).all()
    incidents.change_incident(incident, {"title": "API: renamed"})
    feed(auto_component, UP)
    deliver(work)

    subjects = [m["Subject"] for m in smtp_server.messages]
    assert subjects == ["[System Status] Incident: API: connection refused",
                        "[System Status] Resolved: API: renamed"]
