"""/api/v1/containers: discovered container monitors; list, rename, pause, forget."""

from datetime import datetime, timedelta, timezone

import pytest

from maintenant.extensions import db
from maintenant.models import Container, MonitorHour, MonitorTransition, utcnow
from maintenant.services import containers
from monitors.docker_api import fake_docker, fake_docker_host  # noqa: F401 (fixtures)

from .helpers import assert_error, ids, new_component, ok, pick, status_of
from .test_endpoints import scheduled

# The states issue 3 names, and "unknown" before the first discovery (and after a resume).
CONTAINER_STATES = {"unknown", "running", "restarting", "paused", "exited", "dead", "created",
                    "removed"}

RESPONSE_FIELDS = {
    "id", "name", "paused", "status", "status_changed_at", "last_checked_at", "last_error",
    "interval_seconds", "failure_threshold", "created_at", "updated_at", "container_name",
    "container_id", "image", "health", "last_seen_at",
}


def discovered(name="web", status="running", **fields):
    """A container monitor as discovery leaves it."""
    now = utcnow()
    container = Container(name=name, container_name=fields.pop("container_name", name),
                          container_id="c0ffee" + name, image="nginx:1.27", status=status,
                          status_changed_at=now, last_seen_at=now, last_checked_at=now,
                          created_at=now, updated_at=now, **fields)
    db.session.add(container)
    db.session.commit()
    return container


def test_list_shows_discovered_containers_by_name(api):
    web = discovered("web", health="healthy")
    db_ = discovered("db", status="exited", last_error="exited with code 1")
    listing = ok(api.get("/containers"))
    assert listing["total"] == 2
    assert ids(listing["items"]) == [db_.id, web.id]
    first = listing["items"][0]
    assert set(first) == RESPONSE_FIELDS
    assert pick(first, "name", "container_name", "container_id", "image", "status", "health",
                "last_error", "paused") == {
        "name": "db", "container_name": "db", "container_id": "c0ffeedb", "image": "nginx:1.27",
        "status": "exited", "health": None, "last_error": "exited with code 1", "paused": False}
    assert ok(api.get(f"/containers/{web.id}"))["health"] == "healthy"


def test_list_pages(api):
    for name in "abc":
        discovered(name)
    page = ok(api.get("/containers?limit=1&offset=1"))
    assert ([item["name"] for item in page["items"]], page["total"]) == (["b"], 3)


def test_containers_cannot_be_created(api):
    assert_error(api.post("/containers", json={"name": "web", "container_name": "web"}), 405)
    assert ok(api.get("/containers"))["total"] == 0


def test_put_renames_and_pauses(api):
    container = discovered("web")
    changed = ok(api.put(f"/containers/{container.id}", json={"name": "Website", "paused": True}))
    assert pick(changed, "name", "container_name", "paused", "status") == {
        "name": "Website", "container_name": "web", "paused": True, "status": "running"}


def test_resuming_waits_for_the_next_discovery(api):
    container = discovered("web", status="exited")
    ok(api.put(f"/containers/{container.id}", json={"paused": True}))
    resumed = ok(api.put(f"/containers/{container.id}", json={"paused": False}))
    assert (resumed["status"], resumed["paused"]) == ("unknown", False)


@pytest.mark.parametrize("body, field", [
    ({"container_name": "other"}, "container_name"),
    ({"image": "evil"}, "image"),
    ({"status": "running"}, "status"),
    ({"interval_seconds": 10}, "interval_seconds"),
    ({"failure_threshold": 3}, "failure_threshold"),
    ({"name": ""}, "name"),
    ({"paused": "yes"}, "paused"),
])
def test_only_name_and_paused_change(api, body, field):
    container = discovered("web")
    before = ok(api.get(f"/containers/{container.id}"))
    assert_error(api.put(f"/containers/{container.id}", json=body), 422, field)
    assert ok(api.get(f"/containers/{container.id}")) == before


def test_delete_forgets_the_container_and_its_history(api):
    container = discovered("web")
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    db.session.add(MonitorHour(monitor_type="container", monitor_id=container.id, hour=hour,
                               up_seconds=3600.0, latency_histogram=[]))
    db.session.add(MonitorTransition(monitor_type="container", monitor_id=container.id,
                                     from_status="unknown", to_status="running"))
    db.session.commit()
    container_id = container.id
    assert api.delete(f"/containers/{container_id}").status_code == 204
    assert_error(api.get(f"/containers/{container_id}"), 404)
    assert db.session.scalar(db.select(db.func.count()).select_from(MonitorHour)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(MonitorTransition)) == 0
    # Discovery may find it again: the name is free.
    again = discovered("web")
    assert ok(api.get(f"/containers/{again.id}"))["container_name"] == "web"


def test_containers_are_not_on_the_probe_schedule(api):
    container = discovered("web")
    ok(api.put(f"/containers/{container.id}", json={"paused": False, "name": "Web"}))
    assert scheduled("container", container.id) == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_ids_are_404(api, method):
    assert_error(api.request(method, "/containers/404", json={} if method == "PUT" else None), 404)


def test_a_read_token_cannot_write(api, read_api):
    container = discovered("web")
    assert ok(read_api.get("/containers"))["total"] == 1
    assert_error(read_api.put(f"/containers/{container.id}", json={"paused": True}), 403)
    assert_error(read_api.delete(f"/containers/{container.id}"), 403)
    assert ok(api.get(f"/containers/{container.id}"))["paused"] is False


# --- through the Docker engine ----------------------------------------------------------------

@pytest.fixture
def engine(app, fake_docker_host):  # noqa: F811 (the fixture imported above)
    """The fake Docker engine, named by DOCKER_HOST, that discovery lists."""
    app.config["DOCKER_HOST"] = None  # so DOCKER_HOST comes from the environment
    return fake_docker_host


def discover_twice(start):
    """Two discoveries 30 s apart: what it takes to confirm a change (failure_threshold 2)."""
    for seconds in (0, 30):
        containers.discover(now=start + timedelta(seconds=seconds))


def test_a_running_container_failing_its_healthcheck_is_running_unhealthy_and_degraded(
        api, client, engine):
    engine.add("web", health="healthy")
    engine.add("batch", state="exited", exit_code=2)
    start = datetime(2026, 3, 2, 10, 5, tzinfo=timezone.utc)
    containers.discover(now=start)
    [web_id] = [item["id"] for item in ok(api.get("/containers"))["items"]
                if item["container_name"] == "web"]
    component = new_component(api, monitor_type="container", monitor_id=web_id)
    assert pick(ok(api.get(f"/containers/{web_id}")), "status", "health", "last_error") == {
        "status": "running", "health": "healthy", "last_error": None}

    engine.set_health("web", "unhealthy")
    discover_twice(start + timedelta(seconds=30))

    web = ok(api.get(f"/containers/{web_id}"))
    assert pick(web, "status", "health", "last_error") == {
        "status": "running", "health": "unhealthy", "last_error": "healthcheck failing"}
    listed = {item["container_name"]: item for item in ok(api.get("/containers"))["items"]}
    assert pick(listed["web"], "status", "health") == {"status": "running",
                                                       "health": "unhealthy"}
    assert listed["batch"]["status"] == "exited"
    assert {item["status"] for item in listed.values()} <= CONTAINER_STATES
    assert status_of(api, component) == "degraded"
    assert client.get("/status/api").get_json()["components"][0]["status"] == "degraded"

    engine.set_health("web", "healthy")
    discover_twice(start + timedelta(seconds=90))

    assert pick(ok(api.get(f"/containers/{web_id}")), "status", "health", "last_error") == {
        "status": "running", "health": "healthy", "last_error": None}
    assert status_of(api, component) == "operational"


def test_a_stored_unhealthy_condition_is_shown_as_running(api):
    container = discovered("api", status="unhealthy", health="unhealthy")
    assert pick(ok(api.get(f"/containers/{container.id}")), "status", "health") == {
        "status": "running", "health": "unhealthy"}


def test_the_description_lists_the_container_states(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    status = spec["components"]["schemas"]["ContainerOut"]["properties"]["status"]
    assert (status["type"], set(status["enum"])) == ("string", CONTAINER_STATES)
