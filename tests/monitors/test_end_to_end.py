"""End to end: the Procfile's worker and scheduler as real processes on the real Redis.

An endpoint monitor watches a local HTTP server; the server stops; the component using the
monitor goes to major_outage on /status/api within failure_threshold intervals. A heartbeat
pinged through /ping/<token> stops being pinged; the scheduler's deadline sweep puts its
component in major_outage; a ping brings it back, a fail ping takes it down at once.
"""

import json
import time

import pytest

from rq import Queue
from rq.job import JobStatus

from maintenant import create_app, jobs
from maintenant.extensions import QUEUE_PROBES, db
from maintenant.models import Endpoint
from maintenant.scheduler import PERIODIC_JOBS
from maintenant.services.heartbeats import FAIL_PING_ERROR
from maintenant.services.tokens import create_token
from test_processes import job_status, output, processes, procfile  # noqa: F401 (processes)

from conftest import TEST_PREFIX, TEST_REDIS_URL, Api, make_config

INTERVAL = 5
THRESHOLD = 2
# How often the scheduler runs the heartbeat deadline sweep.
SWEEP = next(periodic.interval for periodic in PERIODIC_JOBS
             if periodic.func is jobs.check_heartbeat_deadlines)


@pytest.fixture
def e2e_app(tmp_path, processes, redis_conn):  # noqa: F811 (the fixture imported above)
    """An app on a fresh SQLite file migrated by the Procfile's release step.

    Yields (app, env): env is what the worker and scheduler processes get.
    """
    url = "sqlite:///" + str(tmp_path / "maintenant.db")
    env = processes.env(DATABASE_URL=url, REDIS_URL=TEST_REDIS_URL,
                        MAINTENANT_REDIS_PREFIX=TEST_PREFIX)
    returncode, text = processes.run(procfile()["release"], env)
    assert returncode == 0, text
    app = create_app(make_config(url))
    with app.app_context():
        yield app, env
        db.session.remove()
        db.engine.dispose()


def wait_until(condition, timeout, what, *watched):
    """Poll ``condition`` for ``timeout`` seconds; fail with the processes' output if it never holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if any(process.poll() is not None for process in watched):
            break
        time.sleep(0.2)
    logs = "\n".join(f"--- {process.args}\n{output(process)[-4000:]}" for process in watched)
    pytest.fail(f"{what}\n{logs}")


def monitor_state(api, path):
    """A monitor as the API answers it now, with what the worker wrote."""
    db.session.remove()
    return api.get(path).get_json()


def component_status(client, component_id):
    """A component's status on the public /status/api, with what the worker wrote."""
    db.session.remove()
    page = json.loads(client.get("/status/api").data)
    return {c["id"]: c["status"] for c in page["components"]}[component_id]


def create(api, path, **fields):
    response = api.post(path, json=fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_stopped_target_puts_its_component_in_major_outage(e2e_app, processes,  # noqa: F811
                                                             http_server):
    app, env = e2e_app
    client = app.test_client()
    api = Api(client, create_token("e2e")[1])
    endpoint_id = create(api, "/endpoints", name="Website",
                         target=http_server.url_for("/health"), interval_seconds=INTERVAL,
                         failure_threshold=THRESHOLD)["id"]
    component_id = create(api, "/status/components", name="Website", monitor_type="endpoint",
                          monitor_id=endpoint_id)["id"]
    endpoint_path = f"/endpoints/{endpoint_id}"

    worker = processes.start(procfile()["worker"], env, name="worker")
    scheduler = processes.start(procfile()["scheduler"], env, name="scheduler")

    wait_until(lambda: monitor_state(api, endpoint_path)["status"] == "up", 20,
               "the monitor never came up", worker, scheduler)
    assert component_status(client, component_id) == "operational"
    assert any(request.path == "/health" for request in http_server.requests)

    http_server.stop()
    stopped = time.monotonic()
    # Down is confirmed by the THRESHOLD-th failed check: at most THRESHOLD intervals away,
    # plus the dispatch, the recorder's batch and some slack for a loaded machine.
    wait_until(lambda: component_status(client, component_id) == "major_outage",
               THRESHOLD * INTERVAL + 5, "the component never went to major_outage",
               worker, scheduler)
    took = time.monotonic() - stopped
    assert took >= INTERVAL - 1, "down was confirmed by one failed check"

    endpoint = monitor_state(api, endpoint_path)
    assert endpoint["status"] == "down"
    assert endpoint["last_error"] == "connection refused"
    page = json.loads(client.get("/status/api").data)
    assert page["status"] == "major_outage"


def test_a_silent_heartbeat_puts_its_component_in_major_outage(e2e_app, processes,  # noqa: F811
                                                               redis_conn):
    app, env = e2e_app
    client = app.test_client()
    api = Api(client, create_token("e2e")[1])
    # The shortest interval the API allows, and no grace: down INTERVAL s after the last ping.
    heartbeat = create(api, "/heartbeats", name="Nightly backup", interval_seconds=INTERVAL,
                       grace_seconds=0)
    token = heartbeat["ping_url"].rsplit("/", 1)[1]
    heartbeat_path = f"/heartbeats/{heartbeat['id']}"
    component_id = create(api, "/status/components", name="Backups", monitor_type="heartbeat",
                          monitor_id=heartbeat["id"])["id"]

    worker = processes.start(procfile()["worker"], env, name="worker")
    scheduler = processes.start(procfile()["scheduler"], env, name="scheduler")
    # The sweep the scheduler queues at start-up has run: the worker works the probes queue.
    wait_until(lambda: job_status(redis_conn, "periodic-heartbeat-deadlines")
               == JobStatus.FINISHED, 30, "the deadline sweep never ran", worker, scheduler)

    def ping(suffix=""):
        answer = client.get(f"/ping/{token}{suffix}")
        assert (answer.status_code, answer.data) == (200, b"OK\n")

    ping()
    pinged = time.monotonic()
    assert component_status(client, component_id) == "operational"
    assert monitor_state(api, heartbeat_path)["status"] == "up"

    # No more pings: the deadline passes INTERVAL s after the last one, and the next sweep
    # (every SWEEP s) puts the heartbeat down; plus some slack for a loaded machine.
    wait_until(lambda: component_status(client, component_id) == "major_outage",
               INTERVAL + SWEEP + 5, "the component never went to major_outage",
               worker, scheduler)
    assert time.monotonic() - pinged >= INTERVAL - 0.5, "down before the deadline"
    silent = monitor_state(api, heartbeat_path)
    assert silent["status"] == "down"
    assert silent["last_error"] == f"no ping within {INTERVAL} s"
    assert json.loads(client.get("/status/api").data)["status"] == "major_outage"

    ping()  # the job runs again
    assert component_status(client, component_id) == "operational"
    back = monitor_state(api, heartbeat_path)
    assert (back["status"], back["last_error"]) == ("up", None)

    ping("/fail")  # and reports a failure: down at once, no threshold, no sweep
    assert component_status(client, component_id) == "major_outage"
    failed = monitor_state(api, heartbeat_path)
    assert (failed["status"], failed["last_error"]) == ("down", FAIL_PING_ERROR)


def test_a_burst_worker_records_the_checks_it_started(app, processes, database_url,  # noqa: F811
                                                      redis_conn, http_server):
    endpoint = Endpoint(name="Website", target=http_server.url_for("/burst"), status="unknown")
    db.session.add(endpoint)
    db.session.commit()
    Queue(QUEUE_PROBES, connection=redis_conn).enqueue(
        "maintenant.jobs.run_probes", [("endpoint", endpoint.id, time.time() + 0.5)])
    env = processes.env(DATABASE_URL=database_url, REDIS_URL=TEST_REDIS_URL,
                        MAINTENANT_REDIS_PREFIX=TEST_PREFIX)

    returncode, text = processes.run("python worker.py --burst", env)

    assert returncode == 0, text
    db.session.expire_all()
    endpoint = db.session.get(Endpoint, endpoint.id)
    assert endpoint.status == "up", "the result died with the worker"
    assert [request.path for request in http_server.requests] == ["/burst"]
