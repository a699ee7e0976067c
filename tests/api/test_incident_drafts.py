"""Draft incidents through the API: hidden from the public until POST .../publish; the
auto_incident and auto_incident_drafts settings."""

import pytest

from maintenant.extensions import db
from maintenant.models import Endpoint, OutboxEvent, utcnow
from maintenant.monitors.base import ProbeResult
from maintenant.services.monitors import record_results

from .helpers import assert_error, ids, new_component, new_incident, ok, status_of


def incident_events():
    db.session.expire_all()
    return [(kind, payload["id"]) for kind, payload in db.session.execute(
        db.select(OutboxEvent.type, OutboxEvent.payload).order_by(OutboxEvent.id))
        if kind.startswith("incident_")]


def public_ids(client):
    state = client.get("/status/api").get_json()
    return ids(state["incidents"]) + ids(state["resolved_incidents"])


def new_draft(api, title="Draft outage", severity="critical", components=(), **fields):
    return new_incident(api, title, severity, components, draft=True, **fields)


# --- operator drafts -------------------------------------------------------------------------

def test_a_draft_is_listed_for_operators_with_its_flags(api):
    draft = new_draft(api)
    assert (draft["draft"], draft["auto"]) == (True, False)
    public = new_incident(api, "Public one")
    assert (public["draft"], public["auto"]) == (False, False)

    assert ids(ok(api.get("/status/incidents"))["items"]) == [public["id"], draft["id"]]
    assert ids(ok(api.get("/status/incidents?draft=true"))["items"]) == [draft["id"]]
    listing = ok(api.get("/status/incidents?draft=false&status=open"))
    assert (ids(listing["items"]), listing["total"]) == ([public["id"]], 1)


@pytest.mark.parametrize("value", ["1", "yes", "True", ""])
def test_the_draft_filter_takes_true_or_false_only(api, value):
    assert_error(api.get(f"/status/incidents?draft={value}"), 422, "draft")


@pytest.mark.parametrize("value", ["true", 1, None])
def test_draft_on_create_must_be_a_boolean(api, value):
    response = api.post("/status/incidents", json={"title": "T", "severity": "minor",
                                                    "message": "M", "draft": value})
    assert_error(response, 422, "draft")


def test_a_draft_is_not_on_the_page_and_moves_no_status(api, client):
    component = new_component(api)
    draft = new_draft(api, components=[component])
    api.post(f"/status/incidents/{draft['id']}/updates",
             json={"status": "identified", "message": "Found it."})

    assert status_of(api, component) == "operational"
    assert draft["id"] not in public_ids(client)
    state = client.get("/status/api").get_json()
    assert state["status"] == "operational"
    page = client.get("/status/").get_data(as_text=True)
    assert "Draft outage" not in page and "Found it." not in page
    assert incident_events() == []


def test_publish_makes_it_public(api, client):
    component = new_component(api)
    draft = new_draft(api, components=[component])
    client.get("/status/api")  # cached before the publish: the event must drop it

    published = ok(api.post(f"/status/incidents/{draft['id']}/publish"))

    assert published["draft"] is False
    assert published["id"] == draft["id"]
    assert status_of(api, component) == "major_outage"
    assert public_ids(client) == [draft["id"]]
    assert "Draft outage" in client.get("/status/").get_data(as_text=True)
    assert incident_events() == [("incident_created", draft["id"])]
    assert ok(api.get(f"/status/incidents/{draft['id']}"))["draft"] is False


def test_publishing_a_public_incident_is_a_conflict(api):
    incident = new_incident(api)
    assert_error(api.post(f"/status/incidents/{incident['id']}/publish"), 409)
    draft = new_draft(api)
    ok(api.post(f"/status/incidents/{draft['id']}/publish"))
    assert_error(api.post(f"/status/incidents/{draft['id']}/publish"), 409)


def test_publishing_an_unknown_incident_is_not_found(api):
    assert_error(api.post("/status/incidents/999999/publish"), 404)
    assert_error(api.post("/status/incidents/99999999999/publish"), 404)


def test_publish_needs_a_write_token(api, read_api):
    draft = new_draft(api)
    assert_error(read_api.post(f"/status/incidents/{draft['id']}/publish"), 403)


def test_changing_or_deleting_a_draft_says_nothing_to_the_public(api):
    draft = new_draft(api)
    ok(api.put(f"/status/incidents/{draft['id']}", json={"title": "Better title"}))
    assert api.delete(f"/status/incidents/{draft['id']}").status_code == 204
    assert incident_events() == []


def test_a_resolved_draft_published_shows_as_resolved(api, client):
    draft = new_draft(api, status="resolved")
    ok(api.post(f"/status/incidents/{draft['id']}/publish"))
    state = client.get("/status/api").get_json()
    assert ids(state["resolved_incidents"]) == [draft["id"]]


# --- components and settings -----------------------------------------------------------------

def test_auto_incident_is_off_by_default_and_can_be_set(api):
    component = new_component(api)
    assert component["auto_incident"] is False
    changed = ok(api.put(f"/status/components/{component['id']}", json={"auto_incident": True}))
    assert changed["auto_incident"] is True
    assert ok(api.get(f"/status/components/{component['id']}"))["auto_incident"] is True
    assert new_component(api, "Other", auto_incident=True)["auto_incident"] is True


@pytest.mark.parametrize("value", ["true", 1, None])
def test_auto_incident_must_be_a_boolean(api, value):
    assert_error(api.post("/status/components", json={"name": "API", "auto_incident": value}),
                 422, "auto_incident")


def test_auto_incident_drafts_setting_round_trips(api):
    assert ok(api.get("/status/settings"))["auto_incident_drafts"] is False
    assert ok(api.put("/status/settings", json={"auto_incident_drafts": True}))[
        "auto_incident_drafts"] is True
    settings = ok(api.get("/status/settings"))
    assert settings["auto_incident_drafts"] is True
    assert ok(api.put("/status/settings", json={"title": "Acme"}))["auto_incident_drafts"] is True
    assert_error(api.put("/status/settings", json={"auto_incident_drafts": "yes"}), 422,
                 "auto_incident_drafts")


def test_the_public_settings_event_leaves_the_operator_option_out(api):
    ok(api.put("/status/settings", json={"auto_incident_drafts": True}))
    payload = db.session.scalar(db.select(OutboxEvent.payload)
                                .where(OutboxEvent.type == "settings_changed"))
    assert "auto_incident_drafts" not in payload


# --- auto incidents end to end ---------------------------------------------------------------

def down(api):
    endpoint = Endpoint(name="API check", target="http://127.0.0.1:9/", status="up",
                        interval_seconds=30, failure_threshold=1)
    db.session.add(endpoint)
    db.session.commit()
    component = new_component(api, monitor_type="endpoint", monitor_id=endpoint.id,
                              auto_incident=True)
    record_results([("endpoint", endpoint.id, ProbeResult("down", None, "HTTP 503"), utcnow())])
    return component


def test_an_auto_incident_is_public_and_marked_auto(api, client):
    down(api)
    [incident] = ok(api.get("/status/incidents"))["items"]
    assert (incident["auto"], incident["draft"]) == (True, False)
    assert incident["title"] == "API: HTTP 503"
    assert public_ids(client) == [incident["id"]]


def test_an_auto_draft_waits_for_publish(api, client):
    ok(api.put("/status/settings", json={"auto_incident_drafts": True}))
    component = down(api)
    [incident] = ok(api.get("/status/incidents?draft=true"))["items"]
    assert incident["auto"] is True
    assert public_ids(client) == []
    assert "API: HTTP 503" not in client.get("/status/").get_data(as_text=True)
    assert incident_events() == []
    # The monitor alone still shows the outage on the page.
    assert status_of(api, component) == "major_outage"

    ok(api.post(f"/status/incidents/{incident['id']}/publish"))

    assert public_ids(client) == [incident["id"]]
    assert incident_events() == [("incident_created", incident["id"])]
