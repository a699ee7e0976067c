"""/api/v1/status/incidents and /incidents/{id}/updates"""

from datetime import datetime, timedelta

import pytest

from .helpers import assert_error, created, ids, new_component, new_incident, ok, pick, status_of


def post_update(api, incident, status, message="An update."):
    return created(api.post(f"/status/incidents/{incident['id']}/updates",
                            json={"status": status, "message": message}))


def get_incident(api, incident):
    return ok(api.get(f"/status/incidents/{incident['id']}"))


def test_create_answers_201_with_the_incident_and_its_first_update(api):
    component = new_component(api)
    incident = created(api.post("/status/incidents", json={
        "title": "Elevated errors", "severity": "major", "message": "We are looking into it.",
        "components": [component["id"]]}))
    assert pick(incident, "title", "severity", "status", "components", "resolved_at") == {
        "title": "Elevated errors", "severity": "major", "status": "investigating",
        "components": [component["id"]], "resolved_at": None}
    [update] = incident["updates"]
    assert (update["status"], update["message"]) == ("investigating", "We are looking into it.")
    for moment in (incident["created_at"], incident["updated_at"], update["created_at"]):
        assert datetime.fromisoformat(moment).utcoffset() == timedelta(0)
    assert get_incident(api, incident) == incident


def test_create_takes_a_starting_status(api):
    incident = new_incident(api, status="identified")
    assert incident["status"] == "identified"
    assert incident["updates"][0]["status"] == "identified"


def test_create_as_resolved_stamps_resolved_at(api):
    incident = new_incident(api, status="resolved")
    assert incident["resolved_at"] is not None


def test_list_is_newest_first_and_pages(api):
    incidents = [new_incident(api, f"Incident {n}") for n in range(5)]
    listing = ok(api.get("/status/incidents"))
    assert ids(listing["items"]) == ids(reversed(incidents))
    assert listing["total"] == 5
    page = ok(api.get("/status/incidents?limit=2&offset=1"))
    assert ids(page["items"]) == ids([incidents[3], incidents[2]])
    assert page["total"] == 5


def test_list_filters_open_and_resolved(api):
    open_first = new_incident(api, "Open 1")
    fixed = new_incident(api, "Fixed")
    open_second = new_incident(api, "Open 2", status="monitoring")
    post_update(api, fixed, "resolved")
    opened = ok(api.get("/status/incidents?status=open"))
    assert (ids(opened["items"]), opened["total"]) == (ids([open_second, open_first]), 2)
    resolved = ok(api.get("/status/incidents?status=resolved"))
    assert (ids(resolved["items"]), resolved["total"]) == ([fixed["id"]], 1)
    assert ok(api.get("/status/incidents"))["total"] == 3
    assert ok(api.get("/status/incidents?status=open&limit=1&offset=1"))["items"][0]["id"] == \
        open_first["id"]


@pytest.mark.parametrize("status", ["closed", "investigating", "OPEN", ""])
def test_list_refuses_other_filters(api, status):
    assert_error(api.get(f"/status/incidents?status={status}"), 422, "status")


def test_get_one_shows_the_timeline_newest_first(api):
    incident = new_incident(api)
    post_update(api, incident, "identified", "Found it.")
    post_update(api, incident, "monitoring", "Fix deployed.")
    timeline = get_incident(api, incident)["updates"]
    assert [u["message"] for u in timeline] == [
        "Fix deployed.", "Found it.", "We are looking into it."]
    listing = ok(api.get(f"/status/incidents/{incident['id']}/updates"))
    assert listing == {"items": timeline, "total": 3}


def test_post_update_answers_201_and_the_incident_takes_its_status(api):
    incident = new_incident(api)
    update = post_update(api, incident, "identified", "Found it.")
    assert (update["status"], update["message"]) == ("identified", "Found it.")
    assert update["id"] > 0
    changed = get_incident(api, incident)
    assert changed["status"] == "identified"
    assert changed["resolved_at"] is None
    assert changed["updated_at"] >= incident["updated_at"]


def test_resolving_stamps_resolved_at_and_frees_the_components(api):
    component = new_component(api)
    incident = new_incident(api, severity="critical", components=[component])
    assert status_of(api, component) == "major_outage"
    update = post_update(api, incident, "resolved", "Fixed.")
    resolved = get_incident(api, incident)
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] == update["created_at"]
    assert status_of(api, component) == "operational"


def test_a_later_update_reopens_a_resolved_incident(api):
    component = new_component(api)
    incident = new_incident(api, severity="major", components=[component])
    post_update(api, incident, "resolved", "Fixed.")
    post_update(api, incident, "investigating", "It is back.")
    reopened = get_incident(api, incident)
    assert (reopened["status"], reopened["resolved_at"]) == ("investigating", None)
    assert status_of(api, component) == "partial_outage"
    assert ids(ok(api.get("/status/incidents?status=open"))["items"]) == [incident["id"]]


def test_an_incident_without_components_changes_no_status(api):
    components = [new_component(api, "API"), new_component(api, "Web")]
    incident = new_incident(api, severity="critical", components=[])
    assert incident["components"] == []
    assert [status_of(api, c) for c in components] == ["operational", "operational"]
    assert ids(ok(api.get("/status/incidents?status=open"))["items"]) == [incident["id"]]


def test_put_changes_title_severity_and_components(api):
    first, second = new_component(api, "API"), new_component(api, "Web")
    incident = new_incident(api, severity="minor", components=[first])
    changed = ok(api.put(f"/status/incidents/{incident['id']}", json={
        "title": "Web is down", "severity": "critical", "components": [second["id"]]}))
    assert (changed["title"], changed["severity"], changed["components"]) == (
        "Web is down", "critical", [second["id"]])
    assert changed["status"] == incident["status"]
    assert changed["updates"] == incident["updates"]
    assert get_incident(api, incident) == changed
    assert (status_of(api, first), status_of(api, second)) == ("operational", "major_outage")


def test_put_is_partial(api):
    component = new_component(api)
    incident = new_incident(api, "Slow", severity="minor", components=[component])
    changed = ok(api.put(f"/status/incidents/{incident['id']}", json={"severity": "major"}))
    assert (changed["title"], changed["components"]) == ("Slow", [component["id"]])
    assert status_of(api, component) == "partial_outage"


def test_put_can_clear_the_components(api):
    component = new_component(api)
    incident = new_incident(api, severity="critical", components=[component])
    changed = ok(api.put(f"/status/incidents/{incident['id']}", json={"components": []}))
    assert changed["components"] == []
    assert status_of(api, component) == "operational"


@pytest.mark.parametrize("body, field", [
    ({"status": "resolved"}, "status"),
    ({"message": "Changed."}, "message"),
    ({"title": ""}, "title"),
    ({"title": "x" * 301}, "title"),
    ({"severity": "huge"}, "severity"),
    ({"components": [12345]}, "components"),
    ({"components": "1"}, "components"),
    ({"components": None}, "components"),
])
def test_invalid_changes_are_422_and_change_nothing(api, body, field):
    component = new_component(api)
    incident = new_incident(api, components=[component])
    assert_error(api.put(f"/status/incidents/{incident['id']}", json=body), 422, field)
    assert get_incident(api, incident) == incident


def test_delete_answers_204_and_frees_the_components(api):
    component = new_component(api)
    incident = new_incident(api, severity="critical", components=[component])
    post_update(api, incident, "identified")
    response = api.delete(f"/status/incidents/{incident['id']}")
    assert response.status_code == 204
    assert response.data == b""
    assert_error(api.get(f"/status/incidents/{incident['id']}"), 404)
    assert_error(api.get(f"/status/incidents/{incident['id']}/updates"), 404)
    assert status_of(api, component) == "operational"
    assert ok(api.get("/status/incidents")) == {"items": [], "total": 0}


VALID = {"title": "Down", "severity": "major", "message": "Looking."}


@pytest.mark.parametrize("body, field", [
    ({**VALID, "title": None}, "title"),
    ({"severity": "major", "message": "Looking."}, "title"),
    ({**VALID, "title": "  "}, "title"),
    ({**VALID, "title": "x" * 301}, "title"),
    ({"title": "Down", "message": "Looking."}, "severity"),
    ({**VALID, "severity": "Major"}, "severity"),
    ({**VALID, "severity": "blocker"}, "severity"),
    ({"title": "Down", "severity": "major"}, "message"),
    ({**VALID, "message": ""}, "message"),
    ({**VALID, "message": "   "}, "message"),
    ({**VALID, "status": "fixed"}, "status"),
    ({**VALID, "components": [12345]}, "components"),
    ({**VALID, "components": [1, 1]}, "components"),
    ({**VALID, "components": ["1"]}, "components"),
    ({**VALID, "components": [0]}, "components"),
    ({**VALID, "components": 1}, "components"),
    ({**VALID, "impact": "major"}, "impact"),
])
def test_invalid_bodies_are_422_naming_the_field(api, body, field):
    new_component(api)
    assert_error(api.post("/status/incidents", json=body), 422, field)
    assert ok(api.get("/status/incidents"))["total"] == 0


def test_an_unknown_component_is_named_in_the_error(api):
    known = new_component(api)
    response = api.post("/status/incidents", json={**VALID, "components": [known["id"], 777]})
    error = assert_error(response, 422, "components")
    assert "777" in str(error["fields"]["components"])


def test_many_unknown_components_are_summed_up(api):
    response = api.post("/status/incidents", json={**VALID, "components": list(range(1, 31))})
    error = assert_error(response, 422, "components")
    assert error["fields"]["components"] == [
        "Unknown component: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 20 more."]


@pytest.mark.parametrize("body, field", [
    ({"message": "No status."}, "status"),
    ({"status": "reopened", "message": "Hm."}, "status"),
    ({"status": "resolved"}, "message"),
    ({"status": "resolved", "message": ""}, "message"),
    ({"status": "resolved", "message": None}, "message"),
    ({"status": "resolved", "message": "Done.", "severity": "minor"}, "severity"),
])
def test_invalid_updates_are_422_and_change_nothing(api, body, field):
    incident = new_incident(api)
    assert_error(api.post(f"/status/incidents/{incident['id']}/updates", json=body), 422, field)
    assert get_incident(api, incident) == incident
