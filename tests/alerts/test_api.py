"""/api/v1/alert-channels (CRUD, validation, test message) and /api/v1/alerts (list, get)."""

import json
from datetime import timedelta

import pytest

from api.helpers import assert_error, created, ids, ok
from maintenant.extensions import db
from maintenant.models import Alert, AlertDelivery, utcnow
from maintenant.services.alert_delivery import deliver

HOOK = {"name": "Ops hook", "type": "webhook", "url": "https://hooks.example/ops",
        "secret": "s3cret"}
MAIL = {"name": "On call", "type": "email", "addresses": ["ops@example.com"]}


# Channels


def test_a_webhook_channel_is_created_without_ever_showing_its_secret(api):
    channel = created(api.post("/alert-channels", json=HOOK))

    assert channel == {"id": channel["id"], "name": "Ops hook", "type": "webhook",
                       "url": "https://hooks.example/ops", "has_secret": True, "addresses": [],
                       "enabled": True, "created_at": channel["created_at"],
                       "updated_at": channel["updated_at"]}
    assert "s3cret" not in json.dumps(ok(api.get(f"/alert-channels/{channel['id']}")))
    assert "s3cret" not in json.dumps(ok(api.get("/alert-channels")))


def test_channels_are_listed_changed_and_deleted(api):
    hook = created(api.post("/alert-channels", json=HOOK))
    mail = created(api.post("/alert-channels", json=MAIL))

    listing = ok(api.get("/alert-channels?limit=1"))
    assert (ids(listing["items"]), listing["total"]) == ([hook["id"]], 2)

    changed = ok(api.put(f"/alert-channels/{hook['id']}", json={"enabled": False,
                                                                 "secret": None}))
    assert (changed["enabled"], changed["has_secret"], changed["url"]) == \
        (False, False, HOOK["url"])
    changed = ok(api.put(f"/alert-channels/{mail['id']}",
                         json={"addresses": ["a@example.com", "b@example.com"]}))
    assert changed["addresses"] == ["a@example.com", "b@example.com"]

    assert api.delete(f"/alert-channels/{hook['id']}").status_code == 204
    assert_error(api.get(f"/alert-channels/{hook['id']}"), 404)
    assert ok(api.get("/alert-channels"))["total"] == 1


def test_changing_the_type_needs_the_new_types_fields_and_drops_the_old(api):
    hook = created(api.post("/alert-channels", json=HOOK))

    assert_error(api.put(f"/alert-channels/{hook['id']}", json={"type": "email"}), 422,
                 "addresses")
    mail = ok(api.put(f"/alert-channels/{hook['id']}",
                      json={"type": "email", "addresses": ["ops@example.com"]}))

    assert (mail["type"], mail["url"], mail["has_secret"]) == ("email", None, False)


@pytest.mark.parametrize("body, field", [
    ({**HOOK, "url": "ftp://hooks.example/x"}, "url"),
    ({**HOOK, "url": "javascript:alert(1)"}, "url"),
    ({**HOOK, "url": "https:///no-host"}, "url"),
    ({**HOOK, "url": "https://hooks.example:99999/"}, "url"),
    ({**HOOK, "url": "https://hooks.example/a b"}, "url"),
    ({**HOOK, "url": "h" * 2001}, "url"),
    ({"name": "x", "type": "webhook"}, "url"),
    ({**HOOK, "addresses": ["ops@example.com"]}, "addresses"),
    ({**HOOK, "secret": ""}, "secret"),
    ({**HOOK, "type": "sms"}, "type"),
    ({**HOOK, "name": " "}, "name"),
    ({**HOOK, "enabled": 1}, "enabled"),
    ({**HOOK, "colour": "red"}, "colour"),
    ({**MAIL, "addresses": []}, "addresses"),
    ({**MAIL, "addresses": ["not an address"]}, "addresses"),
    ({**MAIL, "addresses": ["ops@example.com\r\nBcc: x@evil.example"]}, "addresses"),
    ({**MAIL, "addresses": ["a@example.com", "A@example.com"]}, "addresses"),
    ({**MAIL, "addresses": [f"r{n}@example.com" for n in range(51)]}, "addresses"),
    ({**MAIL, "addresses": "ops@example.com"}, "addresses"),
    ({"name": "x", "type": "email"}, "addresses"),
    ({**MAIL, "url": "https://hooks.example/"}, "url"),
    ({**MAIL, "secret": "x"}, "secret"),
])
def test_bad_channels_are_refused_naming_the_field(api, body, field):
    assert_error(api.post("/alert-channels", json=body), 422, field)
    assert ok(api.get("/alert-channels"))["total"] == 0


def test_unknown_ids_are_404s_and_bad_bodies_4xx(api):
    assert_error(api.get("/alert-channels/999"), 404)
    assert_error(api.put("/alert-channels/999", json={"enabled": False}), 404)
    assert_error(api.delete("/alert-channels/999"), 404)
    assert_error(api.post("/alert-channels/999/test"), 404)
    assert_error(api.get("/alerts/999"), 404)
    assert_error(api.post("/alert-channels", data="{", content_type="application/json"), 400)
    assert_error(api.post("/alert-channels", data="x", content_type="text/plain"), 415)


def test_a_read_token_reads_but_does_not_write(api, read_api):
    channel = created(api.post("/alert-channels", json=HOOK))

    assert ok(read_api.get("/alert-channels"))["total"] == 1
    assert_error(read_api.post("/alert-channels", json=HOOK), 403)
    assert_error(read_api.post(f"/alert-channels/{channel['id']}/test"), 403)


def test_the_test_endpoint_queues_a_test_message_the_worker_sends(api, http_server, redis_conn):
    from rq import Queue

    channel = created(api.post("/alert-channels", json={**HOOK, "url": http_server.url}))

    response = api.post(f"/alert-channels/{channel['id']}/test")

    assert response.status_code == 202
    delivery = response.get_json()
    assert (delivery["alert_id"], delivery["channel_id"], delivery["status"],
            delivery["attempts"]) == (None, channel["id"], "pending", 0)
    assert f"alert-delivery-{delivery['id']}-0" in Queue("notifications",
                                                          connection=redis_conn).job_ids
    assert deliver(delivery["id"]) == "sent"
    body = json.loads(http_server.last_request.body)
    assert body["event"] == "test"
    assert body["channel"] == {"id": channel["id"], "name": "Ops hook", "type": "webhook"}
    assert http_server.last_request.headers["X-Maintenant-Signature"].startswith("sha256=")


# Alerts


def add_alert(minutes_ago, monitor_type="endpoint", monitor_id=1, status="sent", **fields):
    at = utcnow() - timedelta(minutes=minutes_ago)
    alert = Alert(monitor_type=monitor_type, monitor_id=monitor_id, monitor_name="API",
                  from_status="up", to_status="down", reason="HTTP 503", created_at=at,
                  last_at=at, count=1, status=status, **fields)
    db.session.add(alert)
    db.session.commit()
    return alert


def test_alerts_are_listed_newest_first_with_filters_and_pages(api):
    old = add_alert(60)
    heartbeat = add_alert(30, monitor_type="heartbeat", monitor_id=1, status="suppressed")
    other = add_alert(10, monitor_id=2, status="no_channels")
    new = add_alert(1)

    def listed(query=""):
        body = ok(api.get("/alerts" + query))
        return ids(body["items"]), body["total"]

    assert listed() == ([new.id, other.id, heartbeat.id, old.id], 4)
    assert listed("?limit=2&offset=1") == ([other.id, heartbeat.id], 4)
    assert listed("?monitor_type=endpoint&monitor_id=1") == ([new.id, old.id], 2)
    assert listed("?status=suppressed") == ([heartbeat.id], 1)
    since = (utcnow() - timedelta(minutes=45)).isoformat()
    until = (utcnow() - timedelta(minutes=5)).replace(tzinfo=None).isoformat() + "Z"
    assert listed(f"?since={since.replace('+', '%2B')}&until={until}") == \
        ([other.id, heartbeat.id], 2)
    # An offset's "+" left unencoded arrives as a space: still understood.
    assert listed(f"?since={since}") == ([new.id, other.id, heartbeat.id], 3)


@pytest.mark.parametrize("query, field", [
    ("status=lost", "status"), ("monitor_type=printer", "monitor_type"),
    ("monitor_id=x", "monitor_id"), ("since=yesterday", "since"),
    ("since=2026-01-01T00:00:00", "since"), ("limit=0", "limit"), ("offset=-1", "offset"),
    ("since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
])
def test_bad_alert_filters_are_422s(api, query, field):
    assert_error(api.get("/alerts?" + query), 422, field)


def test_an_alert_is_shown_with_its_deliveries(api):
    channel = created(api.post("/alert-channels", json=HOOK))
    alert = add_alert(1, status="pending")
    db.session.add(AlertDelivery(alert_id=alert.id, channel_id=channel["id"], payload={},
                                 status="pending", attempts=0, next_attempt_at=utcnow()))
    db.session.commit()

    body = ok(api.get(f"/alerts/{alert.id}"))

    assert (body["id"], body["from_status"], body["to_status"], body["count"]) == \
        (alert.id, "up", "down", 1)
    [delivery] = body["deliveries"]
    assert (delivery["channel_id"], delivery["status"]) == (channel["id"], "pending")


def test_deleting_a_channel_settles_the_alerts_that_waited_on_it(api):
    channel = created(api.post("/alert-channels", json=HOOK))
    alert = add_alert(1, status="pending")
    db.session.add(AlertDelivery(alert_id=alert.id, channel_id=channel["id"], payload={},
                                 status="pending", attempts=0, next_attempt_at=utcnow()))
    db.session.commit()

    api.delete(f"/alert-channels/{channel['id']}")

    assert ok(api.get(f"/alerts/{alert.id}"))["status"] == "no_channels"
