"""/api/v1/status/components, and the effective status every component response carries."""

from datetime import datetime, timedelta

import pytest

from .helpers import (assert_error, created, ids, new_component, new_group, new_incident,
                      new_window, ok, pick, status_of)

FULL_BODY = {"name": "API", "description": "REST and webhooks", "sort_order": 4, "visible": False,
             "monitor_type": "endpoint", "status_override": None}


def new_endpoint(api):
    return created(api.post("/endpoints", json={"name": "API", "target": "https://api.example.com"}))


def full_body(api):
    """FULL_BODY watching a real endpoint monitor (a component may only name one that exists)."""
    return {**FULL_BODY, "monitor_id": new_endpoint(api)["id"]}


def test_create_answers_201_with_the_component(api):
    group = new_group(api)
    body = full_body(api)
    component = created(api.post("/status/components", json={**body, "group_id": group["id"]}))
    assert component["id"] > 0
    assert pick(component, *body) == body
    assert component["group_id"] == group["id"]
    assert component["status"] == "operational"
    assert datetime.fromisoformat(component["created_at"]).utcoffset() == timedelta(0)
    assert ok(api.get(f"/status/components/{component['id']}")) == component


def test_create_fills_in_defaults(api):
    component = new_component(api, "API")
    assert pick(component, "group_id", "description", "sort_order", "visible", "monitor_type",
                "monitor_id", "status_override") == {
        "group_id": None, "description": "", "sort_order": 0, "visible": True,
        "monitor_type": None, "monitor_id": None, "status_override": None}


def test_list_is_ordered_by_sort_order_then_id_and_pages(api):
    c = new_component(api, "C", sort_order=2)
    a = new_component(api, "A", sort_order=1)
    b = new_component(api, "B", sort_order=1)
    hidden = new_component(api, "Hidden", sort_order=0, visible=False)
    listing = ok(api.get("/status/components"))
    assert ids(listing["items"]) == ids([hidden, a, b, c])
    assert listing["total"] == 4
    page = ok(api.get("/status/components?limit=2&offset=2"))
    assert ids(page["items"]) == ids([b, c])
    assert page["total"] == 4


def test_every_listed_component_has_its_status(api):
    new_component(api, "A", status_override="degraded")
    new_component(api, "B")
    assert [c["status"] for c in ok(api.get("/status/components"))["items"]] == [
        "degraded", "operational"]


def test_put_changes_only_what_it_names(api):
    component = created(api.post("/status/components", json=full_body(api)))
    changed = ok(api.put(f"/status/components/{component['id']}", json={"description": "New"}))
    assert changed == {**component, "description": "New"}


def test_put_moves_a_component_between_groups_and_out(api):
    first, second = new_group(api, "First"), new_group(api, "Second")
    component = new_component(api, group_id=first["id"])
    path = f"/status/components/{component['id']}"
    assert ok(api.put(path, json={"group_id": second["id"]}))["group_id"] == second["id"]
    assert ids(ok(api.get(f"/status/groups/{second['id']}"))["components"]) == [component["id"]]
    assert ok(api.get(f"/status/groups/{first['id']}"))["components"] == []
    assert ok(api.put(path, json={"group_id": None}))["group_id"] is None


def test_delete_answers_204_and_forgets_the_component(api):
    group = new_group(api)
    component = new_component(api, group_id=group["id"])
    response = api.delete(f"/status/components/{component['id']}")
    assert response.status_code == 204
    assert response.data == b""
    assert_error(api.get(f"/status/components/{component['id']}"), 404)
    assert ok(api.get(f"/status/groups/{group['id']}"))["components"] == []


def test_deleting_a_component_takes_it_off_incidents_and_windows(api):
    component, other = new_component(api, "API"), new_component(api, "Web")
    incident = new_incident(api, components=[component, other])
    window = new_window(api, components=[component, other])
    assert api.delete(f"/status/components/{component['id']}").status_code == 204
    assert ok(api.get(f"/status/incidents/{incident['id']}"))["components"] == [other["id"]]
    assert ok(api.get(f"/status/maintenance/{window['id']}"))["components"] == [other["id"]]


# --- the effective status ---------------------------------------------------------------------

@pytest.mark.parametrize("override", ["operational", "degraded", "partial_outage", "major_outage",
                                      "maintenance"])
def test_an_override_is_the_status(api, override):
    component = new_component(api, status_override=override)
    assert component["status"] == override
    assert status_of(api, component) == override


def test_setting_and_clearing_an_override(api):
    component = new_component(api)
    path = f"/status/components/{component['id']}"
    changed = ok(api.put(path, json={"status_override": "partial_outage"}))
    assert (changed["status_override"], changed["status"]) == ("partial_outage", "partial_outage")
    cleared = ok(api.put(path, json={"status_override": None}))
    assert (cleared["status_override"], cleared["status"]) == (None, "operational")


def test_a_put_without_the_override_keeps_it(api):
    component = new_component(api, status_override="degraded")
    changed = ok(api.put(f"/status/components/{component['id']}", json={"name": "Renamed"}))
    assert changed["status"] == "degraded"


@pytest.mark.parametrize("severity, expected", [
    ("minor", "degraded"), ("major", "partial_outage"), ("critical", "major_outage")])
def test_an_open_incident_sets_the_status_by_severity(api, severity, expected):
    component = new_component(api)
    new_incident(api, severity=severity, components=[component])
    assert status_of(api, component) == expected


def test_the_worst_open_incident_wins(api):
    component = new_component(api)
    new_incident(api, "Slow", severity="minor", components=[component])
    new_incident(api, "Down", severity="critical", components=[component])
    new_incident(api, "Errors", severity="major", components=[component])
    assert status_of(api, component) == "major_outage"


def test_a_resolved_incident_no_longer_counts(api):
    component = new_component(api)
    new_incident(api, severity="critical", components=[component], status="resolved")
    assert status_of(api, component) == "operational"


def test_an_incident_affects_only_its_components(api):
    hit, spared = new_component(api, "Hit"), new_component(api, "Spared")
    new_incident(api, severity="major", components=[hit])
    assert (status_of(api, hit), status_of(api, spared)) == ("partial_outage", "operational")


def test_maintenance_in_progress_is_maintenance(api):
    component = new_component(api)
    new_window(api, starts=timedelta(minutes=-10), components=[component])
    assert status_of(api, component) == "maintenance"


@pytest.mark.parametrize("starts, lasts, cancelled", [
    (timedelta(hours=1), timedelta(hours=1), False),       # scheduled
    (timedelta(hours=-2), timedelta(hours=1), False),      # completed
    (timedelta(minutes=-10), timedelta(hours=1), True),    # cancelled while it ran
])
def test_maintenance_not_in_progress_changes_nothing(api, starts, lasts, cancelled):
    component = new_component(api)
    new_window(api, starts=starts, lasts=lasts, components=[component], cancelled=cancelled)
    assert status_of(api, component) == "operational"


def test_maintenance_beats_incidents(api):
    component = new_component(api)
    new_incident(api, severity="critical", components=[component])
    new_window(api, starts=timedelta(minutes=-10), components=[component])
    assert status_of(api, component) == "maintenance"


def test_an_override_beats_maintenance_and_incidents(api):
    component = new_component(api, status_override="degraded")
    new_incident(api, severity="critical", components=[component])
    new_window(api, starts=timedelta(minutes=-10), components=[component])
    assert status_of(api, component) == "degraded"
    path = f"/status/components/{component['id']}"
    assert ok(api.put(path, json={"status_override": None}))["status"] == "maintenance"


def test_a_hidden_component_still_has_its_status(api):
    component = new_component(api, visible=False)
    new_incident(api, severity="minor", components=[component])
    assert status_of(api, component) == "degraded"


def test_a_monitor_without_results_contributes_nothing(api):
    heartbeat = created(api.post("/heartbeats", json={"name": "Backup"}))
    component = new_component(api, monitor_type="heartbeat", monitor_id=heartbeat["id"])
    assert component["status"] == "operational"


# --- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": " "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "API", "group_id": 12345}, "group_id"),
    ({"name": "API", "group_id": "1"}, "group_id"),
    ({"name": "API", "group_id": 0}, "group_id"),
    ({"name": "API", "group_id": 99999999999999999999}, "group_id"),
    ({"name": "API", "sort_order": "3"}, "sort_order"),
    ({"name": "API", "visible": "yes"}, "visible"),
    ({"name": "API", "visible": 1}, "visible"),
    ({"name": "API", "visible": None}, "visible"),
    ({"name": "API", "monitor_type": "ping"}, "monitor_type"),
    ({"name": "API", "monitor_type": "Endpoint"}, "monitor_type"),
    ({"name": "API", "monitor_id": 3}, "monitor_id"),
    ({"name": "API", "monitor_type": "endpoint", "monitor_id": "3"}, "monitor_id"),
    ({"name": "API", "monitor_type": "endpoint", "monitor_id": -3}, "monitor_id"),
    ({"name": "API", "status_override": "down"}, "status_override"),
    ({"name": "API", "status_override": ""}, "status_override"),
    ({"name": "API", "status": "degraded"}, "status"),
    ({"name": "API", "created_at": "2026-01-01T00:00:00Z"}, "created_at"),
])
def test_invalid_bodies_are_422_naming_the_field(api, body, field):
    new_group(api)
    assert_error(api.post("/status/components", json=body), 422, field)
    assert ok(api.get("/status/components"))["total"] == 0


@pytest.mark.parametrize("body, field", [
    ({"group_id": 12345}, "group_id"),
    ({"name": None}, "name"),
    ({"status_override": "broken"}, "status_override"),
    ({"monitor_id": 7}, "monitor_id"),
    ({"monitor_type": None, "monitor_id": 7}, "monitor_id"),
    ({"visible": "false"}, "visible"),
])
def test_invalid_changes_are_422_and_change_nothing(api, body, field):
    component = new_component(api)
    assert_error(api.put(f"/status/components/{component['id']}", json=body), 422, field)
    assert ok(api.get(f"/status/components/{component['id']}")) == component


def test_a_monitor_can_be_detached(api):
    component = new_component(api, monitor_type="endpoint", monitor_id=new_endpoint(api)["id"])
    changed = ok(api.put(f"/status/components/{component['id']}",
                         json={"monitor_type": None, "monitor_id": None}))
    assert (changed["monitor_type"], changed["monitor_id"]) == (None, None)
