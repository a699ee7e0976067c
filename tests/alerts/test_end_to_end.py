"""End to end: a probe result flips a monitor, and the real worker (``python worker.py
--burst``) delivers the alert to a local webhook, signed."""

import hashlib
import hmac
import json

from maintenant.extensions import db
from maintenant.models import Alert, AlertChannel, AlertDelivery, utcnow
from maintenant.monitors.base import ProbeResult
from maintenant.services.monitors import record_results
from test_processes import processes, run_worker_burst, worker_env  # noqa: F401 (fixture)

from factories import make_component


def test_the_worker_delivers_the_alert_of_a_monitor_that_went_down(  # noqa: F811
        app, processes, database_url, redis_conn, endpoint, http_server):
    db.session.add(AlertChannel(name="Ops", type="webhook", url=http_server.url_for("/hook"),
                                secret="e2e-secret"))
    db.session.commit()
    make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    record_results([("endpoint", endpoint.id, ProbeResult("up"), utcnow())])

    record_results([("endpoint", endpoint.id, ProbeResult("down", error="HTTP 503"), utcnow())])
    run_worker_burst(processes, worker_env(processes, database_url))

    [request] = http_server.requests
    assert request.headers["X-Maintenant-Signature"] == "sha256=" + hmac.new(
        b"e2e-secret", request.body, hashlib.sha256).hexdigest()
    body = json.loads(request.body)
    assert (body["event"], body["alert"]["to_status"], body["monitor"]["name"]) == \
        ("alert", "down", "API health")
    db.session.expire_all()
    assert db.session.scalars(db.select(AlertDelivery.status)).all() == ["sent"]
    assert db.session.scalars(db.select(Alert.status)).all() == ["sent"]
