"""The probe runner: checks on a thread pool, results written in batches by one recorder."""

import time
from datetime import datetime

import pytest

from maintenant import jobs
from maintenant.extensions import db
from maintenant.models import Certificate, Endpoint, MonitorTransition
from maintenant.monitors.runner import probe_now, safely, start_probes, stop_runner

from .servers import LocalHttpServer

pytestmark = pytest.mark.usefixtures("probe_runner")


@pytest.fixture
def probe_runner(app):
    """Stop the app's runner after the test, so its threads do not outlive it."""
    yield
    stop_runner(app)


def make_endpoint(target, name="API", **fields):
    endpoint = Endpoint(name=name, target=target, status="unknown",
                        **{"interval_seconds": 30, "failure_threshold": 2,
                           "timeout_seconds": 5.0, **fields})
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def reload(endpoint):
    db.session.expire_all()
    return db.session.get(Endpoint, endpoint.id)


def wait_for(condition, timeout=10.0, every=0.02):
    """Poll ``condition`` until it holds; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"still not true after {timeout} s")
        time.sleep(every)
    return time.monotonic() - started


def checked(monitors):
    """A condition: every monitor (all of one kind) has a recorded check."""
    model = type(monitors[0])
    ids = [monitor.id for monitor in monitors]

    def condition():
        db.session.expire_all()
        return db.session.scalar(db.select(db.func.count()).select_from(model).where(
            model.id.in_(ids), model.last_checked_at.is_not(None))) == len(ids)
    return condition


# --- probe_now ------------------------------------------------------------------------------

def test_probe_now_checks_a_live_server_and_stores_the_result(http_server):
    endpoint = make_endpoint(http_server.url_for("/health"))

    transitions = probe_now([("endpoint", endpoint.id)])

    assert [(t.from_status, t.to_status) for t in transitions] == [("unknown", "up")]
    endpoint = reload(endpoint)
    assert endpoint.status == "up"
    assert endpoint.last_latency_ms is not None and endpoint.last_latency_ms > 0
    assert endpoint.last_error is None
    assert http_server.last_request.path == "/health"


def test_a_stopped_server_is_down_after_the_threshold(http_server):
    endpoint = make_endpoint(http_server.url)
    probe_now([("endpoint", endpoint.id)])

    http_server.stop()
    probe_now([("endpoint", endpoint.id)])
    assert reload(endpoint).status == "up"
    assert reload(endpoint).last_error == "connection refused"
    probe_now([("endpoint", endpoint.id)])

    endpoint = reload(endpoint)
    assert endpoint.status == "down"
    last = db.session.scalars(db.select(MonitorTransition).order_by(
        MonitorTransition.id.desc())).first()
    assert (last.from_status, last.to_status, last.reason) == ("up", "down", "connection refused")


def test_an_error_answer_is_down_in_plain_words(http_server):
    http_server.answer(status=503)
    endpoint = make_endpoint(http_server.url)

    probe_now([("endpoint", endpoint.id)])

    endpoint = reload(endpoint)
    assert (endpoint.status, endpoint.last_error) == ("down", "HTTP 503")


def test_probe_now_skips_paused_and_deleted_monitors(http_server):
    paused = make_endpoint(http_server.url, paused=True)

    assert probe_now([("endpoint", paused.id), ("endpoint", 9999)]) == []

    assert reload(paused).last_checked_at is None
    assert http_server.requests == []


# --- start_probes and the recorder -----------------------------------------------------------

def test_a_hanging_target_does_not_hold_back_the_others(http_server):
    http_server.hang(path="/hang")
    hanging = make_endpoint(http_server.url_for("/hang"), name="Hanging", timeout_seconds=2.0)
    fast = [make_endpoint(http_server.url_for(f"/fast/{n}"), name=f"Fast {n}")
            for n in range(20)]
    now = time.time()
    started = time.monotonic()

    # The hanging check first: it takes a thread, never the others' turn.
    assert start_probes([("endpoint", hanging.id, now)]
                        + [("endpoint", endpoint.id, now) for endpoint in fast]) == 21

    fast_recorded = wait_for(checked(fast))
    assert fast_recorded < 1.5, "the fast checks waited for the hanging one"
    assert reload(hanging).last_checked_at is None
    wait_for(checked([hanging]))
    assert time.monotonic() - started >= 2.0
    hanging = reload(hanging)
    assert (hanging.status, hanging.last_error) == ("down", "timed out after 2 s")
    assert all(reload(endpoint).status == "up" for endpoint in fast)


def test_start_probes_waits_for_the_due_time(http_server):
    endpoint = make_endpoint(http_server.url_for("/due"))
    due = time.time() + 0.5

    start_probes([("endpoint", endpoint.id, due)])
    wait_for(lambda: http_server.requests, every=0.005)
    arrived = time.time()

    assert arrived >= due - 0.05
    assert arrived - due < 0.5
    wait_for(checked([endpoint]))


def test_checks_already_late_start_at_once(http_server):
    endpoint = make_endpoint(http_server.url)
    queued = time.time()

    start_probes([("endpoint", endpoint.id, queued - 5)])
    wait_for(lambda: http_server.requests, every=0.005)

    assert time.time() - queued < 0.5


def test_start_probes_skips_paused_and_deleted_monitors(http_server):
    live = make_endpoint(http_server.url_for("/live"))
    paused = make_endpoint(http_server.url_for("/paused"), paused=True)
    now = time.time()

    assert start_probes([("endpoint", live.id, now), ("endpoint", paused.id, now),
                         ("endpoint", 9999, now)]) == 1

    wait_for(checked([live]))
    assert [request.path for request in http_server.requests] == ["/live"]


def test_results_of_many_checks_are_written_in_a_few_batches(http_server, app):
    endpoints = [make_endpoint(http_server.url_for(f"/m/{n}"), name=f"M{n}") for n in range(200)]
    commits = []
    from sqlalchemy import event

    def count(connection):
        commits.append(time.monotonic())

    event.listen(db.engine, "commit", count)
    try:
        now = time.time()
        start_probes([("endpoint", endpoint.id, now) for endpoint in endpoints])
        wait_for(checked(endpoints))
    finally:
        event.remove(db.engine, "commit", count)

    # A batch every RECORD_EVERY seconds, not a transaction per check.
    assert len(commits) < 20
    assert all(reload(endpoint).status == "up" for endpoint in endpoints[:5])


def test_a_certificate_checked_by_the_worker_s_job_shows_in_the_api(api, app, tls_server,
                                                                    certificates):
    """The worker's path: the probe job hands the check to the pool, the recorder stores it,
    and the API then shows what the certificate says."""
    app.config["PROBE_CA_FILE"] = certificates.ca_file  # the test CA, as a private CA would be
    server = tls_server(certificates.expiring)
    created = api.post("/certificates", json={"name": "Website TLS", "host": "localhost",
                                              "port": server.port})
    assert created.status_code == 201, created.get_json()
    certificate = db.session.get(Certificate, created.get_json()["id"])

    assert jobs.run_probes([["certificate", certificate.id, time.time()]]) == 1
    wait_for(checked([certificate]))

    answer = api.get(f"/certificates/{certificate.id}").get_json()
    assert answer["status"] == "expiring"
    assert datetime.fromisoformat(answer["expires_at"]) == \
        certificates.expiring.not_after.replace(microsecond=0)
    assert answer["issuer"] == "CN=maintenant test CA, O=maintenant tests"
    assert answer["subject"] == "CN=localhost, O=maintenant tests"
    assert answer["days_left"] == 5
    assert answer["last_error"].startswith("certificate expires in 5 days, on ")


def test_a_probe_that_raises_is_a_down_result_not_a_lost_check():
    def broken():
        raise KeyError("oops")

    result = safely(broken)

    assert result.state == "down"
    assert result.error == "probe error: KeyError: 'oops'"


def test_another_app_gets_a_runner_of_its_own(app, database_url):
    from conftest import make_config
    from maintenant import create_app
    from maintenant.monitors.runner import get_runner

    mine = get_runner()
    other_app = create_app(make_config(database_url))
    with other_app.app_context():
        theirs = get_runner()
    stop_runner(other_app)

    assert theirs is not mine
    assert (mine.app, theirs.app) == (app, other_app)
    assert get_runner() is mine
