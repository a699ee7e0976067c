"""The status log and the status events, on the real database."""

from datetime import timedelta

import pytest

from factories import make_component, make_group, make_incident, make_maintenance
from maintenant import monitors
from maintenant.extensions import db
from maintenant.models import OutboxEvent, StatusLogEntry, utcnow
from maintenant.services import incidents
from maintenant.services.outbox import commit
from maintenant.services.statuses import sync_statuses


def log_of(component):
    """The component's status log as (from, to, cause), oldest first."""
    entries = db.session.scalars(
        db.select(StatusLogEntry).where(StatusLogEntry.component_id == component.id)
        .order_by(StatusLogEntry.id)
    )
    return [(entry.from_status, entry.to_status, entry.cause) for entry in entries]


def all_log_entries():
    return db.session.scalars(db.select(StatusLogEntry).order_by(StatusLogEntry.id)).all()


def last_event_id():
    return db.session.scalar(db.select(db.func.max(OutboxEvent.id))) or 0


def events_after(event_id, kind=None):
    """Payloads of the events recorded after ``event_id`` (of one kind, if given)."""
    query = db.select(OutboxEvent).where(OutboxEvent.id > event_id).order_by(OutboxEvent.id)
    if kind:
        query = query.where(OutboxEvent.type == kind)
    return [event.payload for event in db.session.scalars(query)]


def status_of(api, component):
    response = api.get(f"/status/components/{component.id}")
    assert response.status_code == 200
    return response.get_json()["status"]


class FakeMonitors:
    """A monitor-state lookup standing in for a monitor module (they come in a later issue)."""

    def __init__(self, states=None):
        self.states = dict(states or {})
        self.asked = []

    def __call__(self, ids):
        self.asked.append(list(ids))
        return {monitor_id: self.states[monitor_id] for monitor_id in ids
                if monitor_id in self.states}


def make_watching(name, monitor_type=None, monitor_id=None, **fields):
    """A component watching a monitor that only the fake lookup knows.

    The service refuses a monitor_id that names no monitor row, so the link is set on the
    component's row directly.
    """
    component = make_component(name, **fields)
    component.monitor_type, component.monitor_id = monitor_type, monitor_id
    sync_statuses("monitor")
    commit()
    return component


@pytest.fixture
def endpoints(monkeypatch):
    """Endpoint monitor states the test sets, through the real lookup registry."""
    lookup = FakeMonitors()
    monkeypatch.setitem(monitors.STATE_LOOKUPS, "endpoint", lookup)
    return lookup


# --- the status log ---------------------------------------------------------------------------

def test_a_new_component_starts_its_log_with_its_first_status(app):
    plain = make_component("Website")
    forced = make_component("Mail", status_override="major_outage")

    assert log_of(plain) == [(None, "operational", "monitor")]
    assert log_of(forced) == [(None, "major_outage", "override")]


def test_setting_and_clearing_an_override_is_logged_as_override(api):
    component = make_component("API")

    assert api.put(f"/status/components/{component.id}",
                   json={"status_override": "partial_outage"}).status_code == 200
    assert api.put(f"/status/components/{component.id}",
                   json={"status_override": None}).status_code == 200

    assert log_of(component) == [
        (None, "operational", "monitor"),
        ("operational", "partial_outage", "override"),
        ("partial_outage", "operational", "override"),
    ]


def test_log_entries_carry_the_time_of_the_change(api):
    component = make_component("API")
    before = utcnow()
    api.put(f"/status/components/{component.id}", json={"status_override": "degraded"})
    after = utcnow()

    entry = all_log_entries()[-1]
    assert (entry.component_id, entry.to_status) == (component.id, "degraded")
    assert before <= entry.at <= after
    assert entry.at.utcoffset() == timedelta(0)


def test_an_incident_logs_its_impact_and_resolving_it_logs_the_way_back(api):
    component = make_component("API")
    bystander = make_component("Website")
    incident = make_incident(severity="major", components_=[component])

    assert status_of(api, component) == "partial_outage"
    response = api.post(f"/status/incidents/{incident.id}/updates",
                        json={"status": "resolved", "message": "Fixed."})
    assert response.status_code == 201

    assert status_of(api, component) == "operational"
    assert log_of(component) == [
        (None, "operational", "monitor"),
        ("operational", "partial_outage", "incident"),
        ("partial_outage", "operational", "incident"),
    ]
    assert log_of(bystander) == [(None, "operational", "monitor")]


def test_reopening_a_resolved_incident_logs_its_impact_again(api):
    component = make_component("API")
    incident = make_incident(severity="critical", components_=[component])
    incidents.post_incident_update(incident, {"status": "resolved", "message": "Fixed."})
    incidents.post_incident_update(incident, {"status": "investigating", "message": "Back."})

    assert [entry[1] for entry in log_of(component)] == \
        ["operational", "major_outage", "operational", "major_outage"]


def test_changing_an_incident_severity_is_logged(api):
    component = make_component("API")
    incident = make_incident(severity="minor", components_=[component])

    response = api.put(f"/status/incidents/{incident.id}", json={"severity": "critical"})

    assert response.status_code == 200
    assert log_of(component)[-2:] == [("operational", "degraded", "incident"),
                                      ("degraded", "major_outage", "incident")]


def test_a_maintenance_window_in_progress_is_logged_as_maintenance(api):
    component = make_component("Database")
    later = make_component("Cache")
    make_maintenance(components_=[component], starts_in=-timedelta(minutes=5))
    make_maintenance(components_=[later], starts_in=timedelta(hours=2))

    assert status_of(api, component) == "maintenance"
    assert log_of(component) == [(None, "operational", "monitor"),
                                 ("operational", "maintenance", "maintenance")]
    assert status_of(api, later) == "operational"
    assert log_of(later) == [(None, "operational", "monitor")]


def test_a_put_with_the_same_values_writes_no_log_and_no_event(api):
    group = make_group("Core")
    component = make_component("API", group_id=group.id, status_override="degraded")
    entries, mark = len(all_log_entries()), last_event_id()

    response = api.put(f"/status/components/{component.id}",
                       json={"name": "API", "group_id": group.id, "visible": True,
                             "status_override": "degraded"})

    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"
    assert len(all_log_entries()) == entries
    assert events_after(mark) == []


def test_an_incident_without_components_changes_no_status(api):
    component = make_component("API")
    entries, mark = len(all_log_entries()), last_event_id()

    response = api.post("/status/incidents", json={
        "title": "Phones down", "severity": "critical", "message": "Call us by email."})

    assert response.status_code == 201
    assert status_of(api, component) == "operational"
    assert len(all_log_entries()) == entries
    assert events_after(mark, "component_changed") == []
    assert events_after(mark, "global_changed") == []
    assert [event["title"] for event in events_after(mark, "incident_created")] == ["Phones down"]


# --- the monitor lookup -----------------------------------------------------------------------

def test_monitor_states_flow_into_the_effective_status_and_the_log(api, endpoints):
    endpoints.states[7] = "up"
    component = make_watching("API", "endpoint", 7)
    assert status_of(api, component) == "operational"

    endpoints.states[7] = "down"
    sync_statuses("monitor")
    commit()

    assert status_of(api, component) == "major_outage"
    endpoints.states[7] = "degraded"
    sync_statuses("monitor")
    commit()

    assert status_of(api, component) == "degraded"
    assert log_of(component) == [(None, "operational", "monitor"),
                                 ("operational", "major_outage", "monitor"),
                                 ("major_outage", "degraded", "monitor")]
    assert [7] in endpoints.asked


def test_a_monitor_outage_and_an_incident_take_the_worst(api, endpoints):
    endpoints.states[3] = "degraded"
    component = make_watching("API", "endpoint", 3)
    make_incident(severity="major", components_=[component])
    assert status_of(api, component) == "partial_outage"

    endpoints.states[3] = "down"
    sync_statuses("monitor")
    commit()

    assert status_of(api, component) == "major_outage"


def test_the_override_beats_a_monitor_outage(api, endpoints):
    endpoints.states[3] = "down"
    component = make_watching("API", "endpoint", 3, status_override="operational")

    assert status_of(api, component) == "operational"


@pytest.mark.parametrize("fields", [
    {"monitor_type": "endpoint", "monitor_id": 404},     # the lookup does not know it
    {"monitor_type": "endpoint", "monitor_id": 5},       # known, but no result yet
    {"monitor_type": "heartbeat", "monitor_id": 1},      # no lookup for the type
    {"monitor_type": "endpoint", "monitor_id": None},    # a type but no monitor
])
def test_an_unknown_or_missing_monitor_contributes_nothing(api, endpoints, fields):
    endpoints.states[5] = "unknown"
    component = make_watching("API", **fields)
    make_incident(severity="minor", components_=[component])

    assert status_of(api, component) == "degraded"
    sync_statuses("monitor")
    commit()
    assert [entry[1] for entry in log_of(component)] == ["operational", "degraded"]


def test_a_probe_confirming_the_state_records_nothing(api, endpoints):
    endpoints.states[7] = "down"
    make_watching("API", "endpoint", 7)
    entries, mark = len(all_log_entries()), last_event_id()

    assert sync_statuses("monitor") == []
    commit()

    assert len(all_log_entries()) == entries
    assert events_after(mark) == []


# --- events -----------------------------------------------------------------------------------

def test_a_new_visible_component_is_announced(app):
    group = make_group("Core")
    mark = last_event_id()
    component = make_component("API", group_id=group.id)

    [event] = events_after(mark, "component_changed")
    assert {key: event[key] for key in ("id", "name", "group_id", "status")} == \
        {"id": component.id, "name": "API", "group_id": group.id, "status": "operational"}


def test_a_status_change_is_announced_with_the_new_status(api):
    component = make_component("API")
    mark = last_event_id()

    api.put(f"/status/components/{component.id}", json={"status_override": "major_outage"})

    [event] = events_after(mark, "component_changed")
    assert (event["id"], event["name"], event["status"]) == (component.id, "API", "major_outage")


def test_renaming_or_regrouping_a_visible_component_is_announced(api):
    group = make_group("Core")
    component = make_component("API")
    mark = last_event_id()

    api.put(f"/status/components/{component.id}", json={"name": "Public API"})
    api.put(f"/status/components/{component.id}", json={"group_id": group.id})

    assert [(event["name"], event["group_id"], event["status"])
            for event in events_after(mark, "component_changed")] == \
        [("Public API", None, "operational"), ("Public API", group.id, "operational")]
    assert events_after(mark, "global_changed") == []


def test_a_hidden_component_is_never_announced(api):
    group = make_group("Core")
    mark = last_event_id()
    component = make_component("Internal batch", visible=False)

    api.put(f"/status/components/{component.id}", json={"status_override": "major_outage"})
    api.put(f"/status/components/{component.id}", json={"name": "Secret project"})
    api.put(f"/status/components/{component.id}", json={"group_id": group.id})
    make_incident(severity="critical", components_=[component])

    assert events_after(mark, "component_changed") == []
    assert events_after(mark, "global_changed") == []
    # Its history is still kept, for uptime later.
    assert log_of(component) == [(None, "operational", "monitor"),
                                 ("operational", "major_outage", "override")]


def test_hiding_and_showing_a_component_is_announced(api):
    make_component("Website")
    component = make_component("API", status_override="major_outage")
    mark = last_event_id()

    api.put(f"/status/components/{component.id}", json={"visible": False})
    hidden = events_after(mark)
    mark = last_event_id()
    api.put(f"/status/components/{component.id}", json={"visible": True})
    shown = events_after(mark)

    assert [(e["id"], e["visible"]) for e in hidden if "visible" in e] == [(component.id, False)]
    assert {"status": "operational", "message": "All Systems Operational"} in hidden
    assert [(e["id"], e["visible"]) for e in shown if "visible" in e] == [(component.id, True)]
    assert {"status": "major_outage", "message": "Major System Outage"} in shown


def test_global_changed_only_when_the_overall_status_moves(api):
    first = make_component("API")
    second = make_component("Website")
    assert events_after(0, "global_changed") == []   # operational from the start

    def set_override(component, value):
        mark = last_event_id()
        response = api.put(f"/status/components/{component.id}", json={"status_override": value})
        assert response.status_code == 200
        return events_after(mark, "global_changed")

    assert set_override(first, "degraded") == [{"status": "degraded",
                                                "message": "Degraded Performance"}]
    assert set_override(second, "degraded") == []
    assert set_override(first, None) == []            # the second still degrades the page
    assert set_override(second, "partial_outage") == [{"status": "partial_outage",
                                                       "message": "Partial System Outage"}]
    assert set_override(first, "maintenance") == []
    assert set_override(second, None) == [{"status": "maintenance",
                                           "message": "Scheduled Maintenance"}]
    assert set_override(first, None) == [{"status": "operational",
                                          "message": "All Systems Operational"}]


def test_the_page_headline_follows_a_critical_incident(api, client):
    component = make_component("API")
    mark = last_event_id()

    make_incident(severity="critical", components_=[component])

    assert events_after(mark, "global_changed") == [{"status": "major_outage",
                                                     "message": "Major System Outage"}]
    assert client.get("/status/api").get_json()["message"] == "Major System Outage"


def test_hidden_components_do_not_move_the_overall_status(api, client):
    make_component("Website")
    hidden = make_component("Internal", visible=False)
    mark = last_event_id()

    api.put(f"/status/components/{hidden.id}", json={"status_override": "major_outage"})

    assert status_of(api, hidden) == "major_outage"
    assert events_after(mark) == []
    assert client.get("/status/api").get_json()["status"] == "operational"
