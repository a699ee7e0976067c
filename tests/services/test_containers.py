"""Container discovery on the real database, against a fake Docker engine the real SDK talks to."""

import logging
from datetime import datetime, timedelta, timezone

import pytest

from factories import make_component
from maintenant.extensions import db
from maintenant.models import Container, MonitorHour, MonitorTransition
from maintenant.monitors import container as container_monitor
from maintenant.services import containers
from maintenant.services.statuses import effective_status
from monitors.docker_api import fake_docker, fake_docker_host  # noqa: F401 (fixtures)

# Mid-hour, so the discoveries these tests run stay within one hourly aggregate.
T0 = datetime(2026, 3, 2, 10, 5, tzinfo=timezone.utc)
LOGGER = "maintenant.services.containers"


def run(n):
    """The time of the n-th discovery, 30 s apart."""
    return T0 + timedelta(seconds=30 * n)


@pytest.fixture(autouse=True)
def fresh_notices(monkeypatch):
    """Each test is a fresh process as far as the once-only log lines go."""
    monkeypatch.setattr(containers, "notices", containers.Notices())


@pytest.fixture
def log(caplog, monkeypatch):
    """The discovery log lines, INFO and up.

    The migrations' logging setup (alembic's fileConfig) disables the loggers that existed
    before it ran; this one is switched back on for the test.
    """
    monkeypatch.setattr(logging.getLogger(LOGGER), "disabled", False)
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


@pytest.fixture
def engine(app, fake_docker_host):  # noqa: F811 (the fixture imported above)
    app.config["DOCKER_HOST"] = None  # so DOCKER_HOST comes from the environment, as unset
    return fake_docker_host


def monitors():
    db.session.expire_all()
    return {monitor.container_name: monitor
            for monitor in db.session.scalars(db.select(Container))}


def states():
    return {name: monitor.status for name, monitor in monitors().items()}


def transitions_of(monitor):
    rows = db.session.scalars(
        db.select(MonitorTransition)
        .where(MonitorTransition.monitor_type == "container",
               MonitorTransition.monitor_id == monitor.id)
        .order_by(MonitorTransition.id))
    return [(row.from_status, row.to_status, row.at, row.reason) for row in rows]


def test_discovery_creates_one_monitor_per_container_with_its_state_at_once(engine):
    engine.add("web", health="healthy", image="nginx:1.27")
    engine.add("api", health="unhealthy", image="example/api:3")
    engine.add("batch", state="exited", exit_code=137)
    engine.add("fresh", state="created")
    engine.add("frozen", state="paused")

    summary = containers.discover(now=run(0))

    assert summary == {"seen": 5, "created": 5, "removed": 0, "changed": 5}
    assert states() == {"web": "running", "api": "unhealthy", "batch": "exited",
                        "fresh": "created", "frozen": "paused"}
    found = monitors()
    web = found["web"]
    assert (web.name, web.image, web.health) == ("web", "nginx:1.27", "healthy")
    assert web.container_id == engine.container("web")["Id"]
    assert web.last_seen_at == run(0)
    assert web.interval_seconds == 30
    assert found["api"].last_error == "healthcheck failing"
    assert found["batch"].last_error == "exited with code 137"
    assert found["fresh"].last_error == "created but never started"
    assert transitions_of(found["batch"]) == [("unknown", "exited", run(0),
                                               "exited with code 137")]


def test_a_second_discovery_creates_nothing_new(engine):
    engine.add("web")
    containers.discover(now=run(0))

    summary = containers.discover(now=run(1))

    assert summary == {"seen": 1, "created": 0, "removed": 0, "changed": 0}
    assert len(monitors()) == 1
    assert monitors()["web"].last_seen_at == run(1)


def test_a_stopped_container_is_exited_only_once_two_discoveries_agree(engine):
    engine.add("worker")
    containers.discover(now=run(0))
    engine.set_state("worker", "exited", exit_code=137)

    containers.discover(now=run(1))
    assert states() == {"worker": "running"}  # one listing is not enough

    containers.discover(now=run(2))
    worker = monitors()["worker"]
    assert worker.status == "exited"
    assert transitions_of(worker)[-1] == ("running", "exited", run(2), "exited with code 137")


def test_a_container_that_stops_for_one_listing_only_changes_nothing(engine):
    engine.add("worker")
    containers.discover(now=run(0))
    engine.set_state("worker", "restarting", exit_code=1)
    containers.discover(now=run(1))
    engine.set_state("worker", "running")

    containers.discover(now=run(2))

    worker = monitors()["worker"]
    assert (worker.status, worker.pending_status, worker.pending_count) == ("running", None, 0)
    assert [t[1] for t in transitions_of(worker)] == ["running"]


def test_a_container_that_turns_unhealthy_is_degraded(engine):
    engine.add("api", health="healthy")
    containers.discover(now=run(0))
    component = make_component("API", monitor_type="container", monitor_id=monitors()["api"].id)
    engine.set_health("api", "unhealthy")

    containers.discover(now=run(1))
    containers.discover(now=run(2))

    api = monitors()["api"]
    assert (api.status, api.health, api.last_error) == ("unhealthy", "unhealthy",
                                                        "healthcheck failing")
    assert effective_status(component) == "degraded"


def test_a_removed_container_is_removed_after_two_discoveries_and_comes_back(engine):
    engine.add("cron")
    engine.add("web")
    containers.discover(now=run(0))
    old_id = monitors()["cron"].container_id
    engine.remove("cron")

    assert containers.discover(now=run(1))["removed"] == 1
    assert states()["cron"] == "running"
    summary = containers.discover(now=run(2))

    assert summary == {"seen": 1, "created": 0, "removed": 1, "changed": 1}
    cron = monitors()["cron"]
    assert (cron.status, cron.last_error) == ("removed", "container removed")
    assert cron.last_seen_at == run(0)
    assert transitions_of(cron)[-1] == ("running", "removed", run(2), "container removed")

    # Recreated under the same name (a redeploy): the same monitor, a new container.
    engine.add("cron", image="example/cron:2")
    containers.discover(now=run(3))
    containers.discover(now=run(4))

    cron = monitors()["cron"]
    assert cron.status == "running"
    assert cron.container_id != old_id
    assert cron.image == "example/cron:2"
    assert len(monitors()) == 2


def test_the_hourly_aggregate_counts_running_and_down_time(engine):
    engine.add("worker")
    containers.discover(now=run(0))
    containers.discover(now=run(1))  # running 0 -> 30
    engine.set_state("worker", "exited", exit_code=2)
    containers.discover(now=run(2))  # running 30 -> 60 (not yet confirmed)
    containers.discover(now=run(3))  # running 60 -> 90, confirmed exited at 90
    containers.discover(now=run(4))  # exited 90 -> 120

    [hour] = db.session.scalars(db.select(MonitorHour).where(
        MonitorHour.monitor_type == "container")).all()
    assert hour.up_seconds == pytest.approx(90)
    assert hour.down_seconds == pytest.approx(30)
    assert (hour.checks, hour.failures) == (5, 3)


def test_time_between_two_discoveries_is_split_across_the_hour(engine):
    engine.add("worker")
    before = T0.replace(minute=59, second=50)
    containers.discover(now=before)

    containers.discover(now=before + timedelta(seconds=30))

    hours = db.session.scalars(db.select(MonitorHour).order_by(MonitorHour.hour)).all()
    assert [(row.hour.hour, row.up_seconds, row.checks) for row in hours] == [
        (10, pytest.approx(10), 1), (11, pytest.approx(20), 1)]


def test_a_paused_monitor_is_left_alone(engine):
    engine.add("web")
    containers.discover(now=run(0))
    web = monitors()["web"]
    web.paused = True
    db.session.commit()
    engine.set_state("web", "exited")

    for n in (1, 2, 3):
        containers.discover(now=run(n))
    engine.remove("web")
    for n in (4, 5, 6):
        containers.discover(now=run(n))

    web = monitors()["web"]
    assert (web.status, web.last_seen_at, web.last_checked_at) == ("running", run(0), run(0))
    assert len(monitors()) == 1  # paused, not recreated


def test_a_component_follows_its_container_after_the_confirmations(engine, client):
    engine.add("db", image="postgres:17")
    containers.discover(now=run(0))
    make_component("Database", monitor_type="container", monitor_id=monitors()["db"].id)

    def component_status():
        return client.get("/status/api").get_json()["components"][0]["status"]

    assert component_status() == "operational"
    engine.set_state("db", "exited", exit_code=137)

    containers.discover(now=run(1))
    assert component_status() == "operational"
    containers.discover(now=run(2))
    assert component_status() == "major_outage"
    assert client.get("/status/api").get_json()["status"] == "major_outage"

    engine.set_state("db", "running")
    containers.discover(now=run(3))
    containers.discover(now=run(4))
    assert component_status() == "operational"


def test_an_engine_that_is_down_keeps_the_states_and_says_so_once(engine, log):
    engine.add("web")
    engine.add("db", state="exited")
    containers.discover(now=run(0))
    engine.stop()

    for n in (1, 2, 3, 4):
        assert containers.discover(now=run(n)) is None

    assert states() == {"web": "running", "db": "exited"}
    assert monitors()["web"].last_checked_at == run(0)
    warnings = [r for r in log.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"container discovery: cannot reach the Docker engine at {engine.url}: no such socket;"
        " container states are kept as they are"]

    log.clear()
    engine.start()
    assert containers.discover(now=run(5))["seen"] == 2
    assert [r.getMessage() for r in log.records] == [
        f"container discovery: the Docker engine at {engine.url} answers again"]

    # A later outage is news again, and so is a different failure.
    log.clear()
    engine.stop()
    containers.discover(now=run(6))
    engine.start()
    engine.error = (500, "containerd is not running")
    containers.discover(now=run(7))
    containers.discover(now=run(8))
    assert [r.getMessage() for r in log.records if r.levelno == logging.WARNING] == [
        f"container discovery: cannot reach the Docker engine at {engine.url}: no such socket;"
        " container states are kept as they are",
        f"container discovery: the Docker engine at {engine.url} answered HTTP 500: "
        "containerd is not running; container states are kept as they are"]
    assert states() == {"web": "running", "db": "exited"}


def test_an_engine_refusing_the_listing_removes_nothing(engine):
    engine.add("web")
    containers.discover(now=run(0))
    engine.error = (500, "containerd is not running")

    for n in (1, 2, 3):
        assert containers.discover(now=run(n)) is None

    assert states() == {"web": "running"}


def test_discovery_is_off_without_docker_host_or_socket(app, monkeypatch, tmp_path, log):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    app.config["DOCKER_HOST"] = None
    monkeypatch.setattr(container_monitor, "DEFAULT_SOCKET_PATH", str(tmp_path / "docker.sock"))

    for n in range(3):
        assert containers.discover(now=run(n)) is None

    assert [(r.levelno, r.getMessage()) for r in log.records] == [
        (logging.INFO, "container discovery is off: DOCKER_HOST is not set and "
                       "/var/run/docker.sock does not exist")]
    assert monitors() == {}


def test_the_app_setting_names_the_engine_too(app, fake_docker, monkeypatch):  # noqa: F811
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    app.config["DOCKER_HOST"] = fake_docker.url
    fake_docker.add("web")

    assert containers.discover(now=run(0))["created"] == 1


def test_discovery_without_a_clock_uses_now(engine):
    engine.add("web")
    before = datetime.now(timezone.utc)

    containers.discover()

    web = monitors()["web"]
    assert web.status == "running"
    assert web.last_seen_at >= before


def test_the_job_runs_discovery(engine):
    from maintenant import jobs

    engine.add("web")

    assert jobs.discover_containers()["created"] == 1
    assert states() == {"web": "running"}
