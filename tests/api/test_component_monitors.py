"""Components watching monitors: links must name a monitor; pause and delete move statuses."""

import pytest

from maintenant.extensions import db
from maintenant.models import Container, StatusLogEntry, utcnow
from maintenant.services.monitors import KINDS

from .helpers import assert_error, created, new_component, ok, status_of


def new_monitor(api, monitor_type):
    """One monitor of the kind, through the API (containers are discovered: made directly)."""
    if monitor_type == "container":
        now = utcnow()
        container = Container(name="web", container_name="web", status="unknown",
                              created_at=now, updated_at=now)
        db.session.add(container)
        db.session.commit()
        return {"id": container.id}
    body = {"endpoint": {"name": "API", "target": "https://api.example.com"},
            "heartbeat": {"name": "Backup"},
            "certificate": {"name": "TLS", "host": "api.example.com"}}[monitor_type]
    return created(api.post(f"/{monitor_type}s", json=body))


def set_status(monitor_type, monitor_id, status):
    """Put a monitor in a state directly, as its checks would have."""
    monitor = db.session.get(KINDS[monitor_type], monitor_id)
    monitor.status = status
    db.session.commit()


DOWN = {"endpoint": "down", "heartbeat": "down", "certificate": "expired", "container": "exited"}
DEGRADED = {"endpoint": "degraded", "certificate": "expiring", "container": "unhealthy"}


@pytest.mark.parametrize("monitor_type", sorted(KINDS))
def test_a_component_takes_the_state_of_its_monitor(api, monitor_type):
    monitor = new_monitor(api, monitor_type)
    component = new_component(api, monitor_type=monitor_type, monitor_id=monitor["id"])
    assert component["status"] == "operational"          # no result yet: nothing
    set_status(monitor_type, monitor["id"], DOWN[monitor_type])
    assert status_of(api, component) == "major_outage"
    if monitor_type in DEGRADED:
        set_status(monitor_type, monitor["id"], DEGRADED[monitor_type])
        assert status_of(api, component) == "degraded"


@pytest.mark.parametrize("monitor_type", sorted(KINDS))
def test_a_paused_monitor_contributes_nothing(api, monitor_type):
    monitor = new_monitor(api, monitor_type)
    set_status(monitor_type, monitor["id"], DOWN[monitor_type])
    component = new_component(api, monitor_type=monitor_type, monitor_id=monitor["id"])
    assert component["status"] == "major_outage"

    ok(api.put(f"/{monitor_type}s/{monitor['id']}", json={"paused": True}))

    assert status_of(api, component) == "operational"
    # The status log and the page's events followed the pause.
    log = db.session.scalars(db.select(StatusLogEntry.to_status).where(
        StatusLogEntry.component_id == component["id"]).order_by(StatusLogEntry.id)).all()
    assert log == ["major_outage", "operational"]


def test_resuming_a_monitor_waits_for_its_next_result(api):
    monitor = new_monitor(api, "endpoint")
    set_status("endpoint", monitor["id"], "down")
    component = new_component(api, monitor_type="endpoint", monitor_id=monitor["id"])
    ok(api.put(f"/endpoints/{monitor['id']}", json={"paused": True}))
    ok(api.put(f"/endpoints/{monitor['id']}", json={"paused": False}))
    assert status_of(api, component) == "operational"
    set_status("endpoint", monitor["id"], "down")
    assert status_of(api, component) == "major_outage"


@pytest.mark.parametrize("monitor_type", sorted(KINDS))
def test_deleting_a_monitor_leaves_its_components_without_one(api, monitor_type):
    monitor = new_monitor(api, monitor_type)
    set_status(monitor_type, monitor["id"], DOWN[monitor_type])
    component = new_component(api, monitor_type=monitor_type, monitor_id=monitor["id"])
    other = new_component(api, "Other", monitor_type=monitor_type, monitor_id=monitor["id"])
    assert component["status"] == "major_outage"

    assert api.delete(f"/{monitor_type}s/{monitor['id']}").status_code == 204

    for item in (component, other):
        fetched = ok(api.get(f"/status/components/{item['id']}"))
        assert (fetched["monitor_type"], fetched["monitor_id"], fetched["status"]) == \
            (None, None, "operational")
    assert ok(api.get("/status/components"))["total"] == 2
    # A later monitor that gets the same id does not capture the component.
    again = new_monitor(api, monitor_type)
    set_status(monitor_type, again["id"], DOWN[monitor_type])
    assert status_of(api, component) == "operational"


def test_deleting_a_monitor_leaves_other_components_alone(api):
    kept = new_monitor(api, "endpoint")
    gone = created(api.post("/endpoints", json={"name": "Gone", "target": "http://gone.test"}))
    component = new_component(api, monitor_type="endpoint", monitor_id=kept["id"])
    assert api.delete(f"/endpoints/{gone['id']}").status_code == 204
    assert ok(api.get(f"/status/components/{component['id']}"))["monitor_id"] == kept["id"]


# --- a link must name a monitor ---------------------------------------------------------------

@pytest.mark.parametrize("monitor_type", sorted(KINDS))
def test_a_component_cannot_name_a_missing_monitor(api, monitor_type):
    error = assert_error(api.post("/status/components", json={
        "name": "API", "monitor_type": monitor_type, "monitor_id": 999}), 422, "monitor_id")
    assert "999" in error["message"]
    assert ok(api.get("/status/components"))["total"] == 0


def test_a_monitor_id_names_a_monitor_of_its_type(api):
    heartbeat = new_monitor(api, "heartbeat")
    assert_error(api.post("/status/components", json={
        "name": "API", "monitor_type": "endpoint", "monitor_id": heartbeat["id"]}), 422,
        "monitor_id")
    component = new_component(api, monitor_type="heartbeat", monitor_id=heartbeat["id"])
    assert component["monitor_id"] == heartbeat["id"]


def test_a_change_cannot_name_a_missing_monitor(api):
    endpoint = new_monitor(api, "endpoint")
    component = new_component(api, monitor_type="endpoint", monitor_id=endpoint["id"])
    path = f"/status/components/{component['id']}"
    assert_error(api.put(path, json={"monitor_id": endpoint["id"] + 1}), 422, "monitor_id")
    assert_error(api.put(path, json={"monitor_type": "certificate"}), 422, "monitor_id")
    assert ok(api.get(path)) == component
    certificate = new_monitor(api, "certificate")
    changed = ok(api.put(path, json={"monitor_type": "certificate",
                                     "monitor_id": certificate["id"]}))
    assert (changed["monitor_type"], changed["monitor_id"]) == ("certificate", certificate["id"])


def test_a_component_may_name_a_type_without_a_monitor(api):
    component = new_component(api, monitor_type="endpoint")
    assert (component["monitor_type"], component["monitor_id"]) == ("endpoint", None)
