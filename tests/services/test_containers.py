"""Container discovery on the real database, against a fake Docker engine the real SDK talks to."""

import logging
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from factories import make_component
from maintenant import config
from maintenant.extensions import db
from maintenant.models import (Alert, Container, MonitorHour, MonitorTransition, OutboxEvent,
                               StatusLogEntry)
from maintenant.monitors import container as container_monitor
from maintenant.services import containers
from maintenant.services.statuses import effective_status
from monitors.docker_api import fake_docker, fake_docker_host  # noqa: F401 (fixtures)
from monitors.servers import certificates  # noqa: F401 (fixture)
from monitors.test_container_discovery import tls_engine  # noqa: F401 (fixture)

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


def test_a_health_flip_while_running_moves_everything_a_state_change_does(engine):
    """Healthy -> unhealthy -> healthy while running: transitions with their reasons, the
    component degraded and back, its events, the alerts, and degraded time in the history.
    (The API shows the unhealthy condition as status running + health unhealthy:
    tests/api/test_containers.py.)"""
    engine.add("api", health="healthy")
    containers.discover(now=run(0))
    component = make_component("API", monitor_type="container", monitor_id=monitors()["api"].id)
    engine.set_health("api", "unhealthy")

    containers.discover(now=run(1))
    assert effective_status(component) == "operational"  # one listing is not enough
    containers.discover(now=run(2))

    api = monitors()["api"]
    assert (api.status, api.health, api.last_error) == ("unhealthy", "unhealthy",
                                                        "healthcheck failing")
    assert effective_status(component) == "degraded"

    engine.set_health("api", "healthy")
    containers.discover(now=run(3))
    containers.discover(now=run(4))

    api = monitors()["api"]
    assert (api.status, api.health, api.last_error) == ("running", "healthy", None)
    assert effective_status(component) == "operational"
    assert transitions_of(api) == [
        ("unknown", "running", run(0), None),
        ("running", "unhealthy", run(2), "healthcheck failing"),
        ("unhealthy", "running", run(4), None),
    ]
    alerts = db.session.scalars(db.select(Alert).order_by(Alert.id)).all()
    assert [(a.monitor_id, a.from_status, a.to_status, a.reason) for a in alerts] == [
        (api.id, "running", "unhealthy", "healthcheck failing"),
        (api.id, "unhealthy", "running", None),
    ]
    logged = db.session.scalars(db.select(StatusLogEntry.to_status).where(
        StatusLogEntry.component_id == component.id).order_by(StatusLogEntry.id)).all()
    assert logged[-2:] == ["degraded", "operational"]
    events = db.session.scalars(db.select(OutboxEvent.payload).where(
        OutboxEvent.type == "component_changed").order_by(OutboxEvent.id)).all()
    assert [event["status"] for event in events if event["id"] == component.id][-2:] == [
        "degraded", "operational"]
    [hour] = db.session.scalars(db.select(MonitorHour).where(
        MonitorHour.monitor_type == "container")).all()
    # running 0 -> 60 (the first unhealthy listing is not confirmed yet), unhealthy 60 -> 120.
    assert (hour.up_seconds, hour.degraded_seconds, hour.down_seconds) == (
        pytest.approx(60), pytest.approx(60), 0)
    assert (hour.checks, hour.failures) == (5, 2)


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


def test_discovery_speaks_tls_to_an_engine_that_requires_it(app, tls_engine,  # noqa: F811
                                                           monkeypatch):
    engine, url, cert_path = tls_engine
    app.config["DOCKER_HOST"] = None
    monkeypatch.setenv("DOCKER_HOST", url)
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", cert_path)
    engine.add("web", health="unhealthy")

    assert containers.discover(now=run(0))["created"] == 1
    assert (states(), monitors()["web"].health) == ({"web": "unhealthy"}, "unhealthy")


def test_unusable_tls_settings_are_said_once_and_keep_the_states(engine, monkeypatch,
                                                                 tmp_path, log):
    engine.add("web")
    containers.discover(now=run(0))
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))

    for n in (1, 2, 3):
        assert containers.discover(now=run(n)) is None

    warnings = [r.getMessage() for r in log.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "container discovery: the Docker TLS settings (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) "
        f"cannot be used: {tmp_path} needs ca.pem, cert.pem and key.pem (")
    assert states() == {"web": "running"}


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


# --- the discovery interval (MAINTENANT_DISCOVERY_INTERVAL) -----------------------------------

SHOW_INTERVALS = """
from maintenant import create_app
from maintenant.scheduler import PERIODIC_JOBS
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "REDIS_URL": None})
[job] = [job for job in PERIODIC_JOBS if job.id.endswith("discover-containers")]
print(app.config["DISCOVERY_INTERVAL"], job.interval)
"""


def start_with(**env):
    """Start-up with ``env``: (exit code, output) of loading the app and the scheduler's jobs."""
    result = subprocess.run([sys.executable, "-c", SHOW_INTERVALS], capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", **env}, timeout=60)
    return result.returncode, result.stdout.strip() or result.stderr.strip()


def test_discovery_runs_every_30_s_by_default():
    assert start_with() == (0, "30 30")
    assert start_with(MAINTENANT_DISCOVERY_INTERVAL="") == (0, "30 30")


def test_the_discovery_job_follows_the_setting():
    assert start_with(MAINTENANT_DISCOVERY_INTERVAL="120") == (0, "120 120")
    assert start_with(MAINTENANT_DISCOVERY_INTERVAL=" 5 ") == (0, "5 5")


@pytest.mark.parametrize("value", ["4", "0", "-30", "30s", "1.5", "ten", "86401"])
def test_a_wrong_discovery_interval_stops_the_process_at_start_up(value):
    with pytest.raises(ValueError) as raised:
        config.discovery_interval(value)
    assert str(raised.value) == ("MAINTENANT_DISCOVERY_INTERVAL must be a whole number of "
                                 f"seconds from 5 to 86400, not {value!r}")


def test_a_wrong_discovery_interval_is_refused_before_anything_runs():
    code, output = start_with(MAINTENANT_DISCOVERY_INTERVAL="2")
    assert code != 0
    assert output.endswith("ValueError: MAINTENANT_DISCOVERY_INTERVAL must be a whole number of "
                           "seconds from 5 to 86400, not '2'")


def test_discovered_monitors_take_the_discovery_interval(app, engine):
    app.config["DISCOVERY_INTERVAL"] = 120
    engine.add("web")

    containers.discover(now=T0)
    containers.discover(now=T0 + timedelta(seconds=120))

    assert monitors()["web"].interval_seconds == 120
    # Two minutes between listings are two minutes up, not a gap with no data.
    [hour] = db.session.scalars(db.select(MonitorHour)).all()
    assert (hour.up_seconds, hour.checks) == (pytest.approx(120), 2)


def test_existing_monitors_follow_a_changed_interval(app, engine):
    engine.add("web")
    containers.discover(now=T0)
    assert monitors()["web"].interval_seconds == 30
    app.config["DISCOVERY_INTERVAL"] = 300  # restarted with a new setting

    containers.discover(now=T0 + timedelta(seconds=300))

    web = monitors()["web"]
    assert web.interval_seconds == 300
    [hour] = db.session.scalars(db.select(MonitorHour)).all()
    assert hour.up_seconds == pytest.approx(300)
