"""Delivering alerts: a webhook to a local HTTP server (signed, retried, given up) and email
to a real SMTP server."""

import hashlib
import hmac
import json
import time

from mail import free_port

from maintenant.extensions import db
from maintenant.models import Alert, AlertChannel, AlertDelivery
from maintenant.monitors.base import ProbeResult
from maintenant.services import settings
from maintenant.services.alert_delivery import deliver
from maintenant.services.monitors import record_results

from factories import make_component


def webhook(url, secret=None):
    channel = AlertChannel(name="Ops hook", type="webhook", url=url, secret=secret)
    db.session.add(channel)
    db.session.commit()
    return channel


def go_down(monitor):
    record_results([(monitor.monitor_type, monitor.id, ProbeResult("up"), _now())])
    record_results([(monitor.monitor_type, monitor.id, ProbeResult("down", error="HTTP 503"),
                     _now())])
    db.session.expire_all()
    return db.session.scalars(db.select(Alert)).one()


def _now():
    from maintenant.models import utcnow

    return utcnow()


def the_delivery(alert):
    db.session.expire_all()
    return db.session.scalars(db.select(AlertDelivery).filter_by(alert_id=alert.id)).one()


def attempt(delivery_id):
    """One attempt, once the delivery is due (retries wait milliseconds here)."""
    time.sleep(0.02)
    status = deliver(delivery_id)
    db.session.expire_all()
    return status


def test_a_webhook_gets_the_alert_signed_with_the_secret(app, alert_config, endpoint,
                                                        http_server):
    webhook(http_server.url_for("/hook"), secret="s3cret")
    component = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    alert = go_down(endpoint)

    assert attempt(the_delivery(alert).id) == "sent"

    [request] = http_server.requests
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.headers["Content-Type"] == "application/json"
    expected = "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Maintenant-Signature"] == expected
    body = json.loads(request.body)
    assert set(body) == {"event", "alert", "monitor"}
    assert body["event"] == "alert"
    assert body["alert"]["id"] == alert.id
    assert (body["alert"]["from_status"], body["alert"]["to_status"]) == ("up", "down")
    assert body["alert"]["reason"] == "HTTP 503"
    assert body["monitor"] == {"type": "endpoint", "id": endpoint.id, "name": "API health",
                               "status": "down",
                               "components": [{"id": component.id, "name": "API"}]}
    delivery = the_delivery(alert)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, None)
    assert delivery.sent_at is not None
    assert db.session.get(Alert, alert.id).status == "sent"


def test_without_a_secret_there_is_no_signature(app, alert_config, endpoint, http_server):
    webhook(http_server.url)
    alert = go_down(endpoint)

    attempt(the_delivery(alert).id)

    assert "X-Maintenant-Signature" not in http_server.last_request.headers


def test_a_webhook_answering_500_is_retried_until_it_takes_it(app, alert_config, endpoint,
                                                              http_server):
    webhook(http_server.url, secret="k")
    alert = go_down(endpoint)
    delivery_id = the_delivery(alert).id

    http_server.answer(status=500, body="database locked")
    assert attempt(delivery_id) == "pending"
    delivery = the_delivery(alert)
    assert (delivery.attempts, delivery.last_error) == (1, "HTTP 500: database locked")
    assert db.session.get(Alert, alert.id).status == "pending"
    assert attempt(delivery_id) == "pending"
    http_server.answer(status=200)
    assert attempt(delivery_id) == "sent"
    assert attempt(delivery_id) == "skipped"   # done: never sent again

    assert len(http_server.requests) == 3
    assert len({request.body for request in http_server.requests}) == 1   # the same bytes
    assert (the_delivery(alert).attempts, the_delivery(alert).status) == (3, "sent")
    assert db.session.get(Alert, alert.id).status == "sent"


def test_a_delivery_gives_up_after_the_last_attempt(app, alert_config, endpoint, http_server):
    webhook(http_server.url)
    alert = go_down(endpoint)
    delivery_id = the_delivery(alert).id
    http_server.answer(status=503)

    statuses = [attempt(delivery_id) for _ in range(alert_config["ALERT_MAX_ATTEMPTS"] + 1)]

    assert statuses == ["pending"] * 3 + ["failed", "skipped"]
    assert len(http_server.requests) == alert_config["ALERT_MAX_ATTEMPTS"]
    delivery = the_delivery(alert)
    assert (delivery.status, delivery.next_attempt_at) == ("failed", None)
    assert db.session.get(Alert, alert.id).status == "failed"


def test_a_retry_waits_for_its_backoff(app, alert_config, endpoint, http_server):
    app.config["ALERT_RETRY_BASE_SECONDS"] = 60
    webhook(http_server.url)
    alert = go_down(endpoint)
    http_server.answer(status=500)

    assert attempt(the_delivery(alert).id) == "pending"
    assert attempt(the_delivery(alert).id) == "skipped"   # not due for a minute
    assert len(http_server.requests) == 1


def test_a_refused_connection_and_a_redirect_are_failures(app, alert_config, endpoint,
                                                         http_server):
    webhook(f"http://127.0.0.1:{free_port()}/hook")   # nothing listens: refused
    alert = go_down(endpoint)
    delivery_id = the_delivery(alert).id

    attempt(delivery_id)
    assert the_delivery(alert).last_error.startswith("could not connect")

    db.session.get(AlertChannel, the_delivery(alert).channel_id).url = http_server.url
    db.session.commit()
    http_server.redirect("/", "http://127.0.0.1:9/elsewhere")
    attempt(delivery_id)
    assert the_delivery(alert).last_error == "HTTP 302"
    assert [request.path for request in http_server.requests] == ["/"]   # not followed


def test_two_workers_never_send_one_delivery_at_once(app, alert_config, endpoint, http_server):
    from maintenant.services.alert_delivery import claim
    from maintenant.models import utcnow

    webhook(http_server.url)
    alert = go_down(endpoint)
    delivery_id = the_delivery(alert).id

    assert claim(delivery_id, utcnow())            # a first worker holds it...
    assert deliver(delivery_id) == "skipped"       # ...so a second one does nothing
    assert http_server.requests == []


def test_a_disabled_channel_gets_no_more_alerts(app, alert_config, endpoint, http_server):
    channel = webhook(http_server.url)
    alert = go_down(endpoint)
    channel.enabled = False
    db.session.commit()

    assert attempt(the_delivery(alert).id) == "failed"
    assert the_delivery(alert).last_error == "the channel is disabled"
    assert http_server.requests == []


def test_an_email_channel_mails_the_alert_through_smtp(app, alert_config, endpoint,
                                                       smtp_server):
    app.config.update(smtp_server.settings())
    settings.update_settings({"title": "Acme Status"})
    db.session.add(AlertChannel(name="On call", type="email",
                                addresses=["ops@example.com", "cto@example.com"]))
    db.session.commit()
    make_component("Public API", monitor_type="endpoint", monitor_id=endpoint.id)
    alert = go_down(endpoint)

    assert attempt(the_delivery(alert).id) == "sent"

    [received] = smtp_server.received
    assert sorted(received.rcpt_tos) == ["cto@example.com", "ops@example.com"]
    message = received.message
    assert message["Subject"] == "[Acme Status] API health is down"
    assert message["From"] == "status@maintenant.test"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_content()
    assert "API health is down (was up)." in text
    assert "Reason:      HTTP 503" in text
    assert "Components:  Public API" in text
    assert f"http://status.test/api/v1/alerts/{alert.id}" in text
    assert db.session.get(Alert, alert.id).status == "sent"


def test_an_smtp_refusal_is_retried(app, alert_config, endpoint, smtp_server):
    app.config.update(smtp_server.settings())
    db.session.add(AlertChannel(name="On call", type="email", addresses=["ops@example.com"]))
    db.session.commit()
    alert = go_down(endpoint)
    smtp_server.refuse = "451 Try again later"

    assert attempt(the_delivery(alert).id) == "pending"
    assert "451" in the_delivery(alert).last_error
    smtp_server.refuse = None
    assert attempt(the_delivery(alert).id) == "sent"
    assert len(smtp_server.messages) == 1


def test_mail_sends_many_messages_on_one_connection(app, smtp_server):
    from email.message import EmailMessage

    from maintenant import mail

    app.config.update(smtp_server.settings())
    with mail.connection() as mailer:
        for number in range(3):
            message = EmailMessage()
            message["To"] = f"reader{number}@example.com"
            message["Subject"] = f"Message {number}"
            message.set_content("Hello")
            assert mailer.send(message) == {}

    assert [m["Subject"] for m in smtp_server.messages] == ["Message 0", "Message 1", "Message 2"]
    assert all(m["Message-ID"] and m["Date"] for m in smtp_server.messages)
