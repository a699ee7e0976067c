"""End to end: the Procfile's worker and scheduler as real processes on the real Redis.

An endpoint monitor watches a local HTTP server; the server stops; the component using the
monitor goes to major_outage on /status/api within failure_threshold intervals.
"""

import json
import time

import pytest

from rq import Queue

from maintenant import create_app
from maintenant.extensions import QUEUE_PROBES, db
from maintenant.models import Endpoint
from maintenant.services.tokens import create_token
from test_processes import output, processes, procfile  # noqa: F401 (processes: fixture)

from conftest import TEST_PREFIX, TEST_REDIS_URL, Api, make_config

INTERVAL = 5
THRESHOLD = 2


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


def test_a_stopped_target_puts_its_component_in_major_outage(e2e_app, processes,  # noqa: F811
                                                             http_server):
    app, env = e2e_app
    client = app.test_client()
    api = Api(client, create_token("e2e")[1])
    created = api.post("/endpoints", json={
        "name": "Website", "target": http_server.url_for("/health"),
        "interval_seconds": INTERVAL, "failure_threshold": THRESHOLD})
    assert created.status_code == 201, created.get_json()
    endpoint_id = created.get_json()["id"]
    component = api.post("/status/components", json={
        "name": "Website", "monitor_type": "endpoint", "monitor_id": endpoint_id})
    assert component.status_code == 201, component.get_json()
    component_id = component.get_json()["id"]

    worker = processes.start(procfile()["worker"], env, name="worker")
    scheduler = processes.start(procfile()["scheduler"], env, name="scheduler")

    def endpoint_status():
        db.session.remove()  # see what the worker wrote
        return api.get(f"/endpoints/{endpoint_id}").get_json()["status"]

    def component_status():
        db.session.remove()
        page = json.loads(client.get("/status/api").data)
        return {c["id"]: c["status"] for c in page["components"]}[component_id]

    wait_until(lambda: endpoint_status() == "up", 20, "the monitor never came up",
               worker, scheduler)
    assert component_status() == "operational"
    assert any(request.path == "/health" for request in http_server.requests)

    http_server.stop()
    stopped = time.monotonic()
    # Down is confirmed by the THRESHOLD-th failed check: at most THRESHOLD intervals away,
    # plus the dispatch, the recorder's batch and some slack for a loaded machine.
    wait_until(lambda: component_status() == "major_outage", THRESHOLD * INTERVAL + 5,
               "the component never went to major_outage", worker, scheduler)
    took = time.monotonic() - stopped
    assert took >= INTERVAL - 1, "down was confirmed by one failed check"

    assert endpoint_status() == "down"
    endpoint = api.get(f"/endpoints/{endpoint_id}").get_json()
    assert endpoint["last_error"] == "connection refused"
    page = json.loads(client.get("/status/api").data)
    assert page["status"] == "major_outage"


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
