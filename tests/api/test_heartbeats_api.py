"""/api/v1/heartbeats: heartbeat monitors, their ping URLs, pause and deadlines."""

import base64
from datetime import timedelta

import pytest

from maintenant.extensions import db
from maintenant.models import Heartbeat, utcnow

from .helpers import assert_error, created, ids, ok, pick
from .test_endpoints import scheduled

RESPONSE_FIELDS = {
    "id", "name", "paused", "status", "status_changed_at", "last_checked_at", "last_error",
    "interval_seconds", "failure_threshold", "created_at", "updated_at", "grace_seconds",
    "ping_url", "last_ping_at", "last_start_at",
}
PING_PREFIX = "http://status.test/ping/"


def new_heartbeat(api, name="Nightly backup", **fields):
    return created(api.post("/heartbeats", json={"name": name, **fields}))


def token_of(heartbeat):
    assert heartbeat["ping_url"].startswith(PING_PREFIX)
    return heartbeat["ping_url"][len(PING_PREFIX):]


def test_create_answers_201_with_the_heartbeat(api):
    heartbeat = new_heartbeat(api, interval_seconds=3600, grace_seconds=600, paused=False)
    assert set(heartbeat) == RESPONSE_FIELDS
    assert pick(heartbeat, "name", "interval_seconds", "grace_seconds", "paused", "status",
                "last_ping_at", "last_start_at", "last_checked_at") == {
        "name": "Nightly backup", "interval_seconds": 3600, "grace_seconds": 600,
        "paused": False, "status": "new", "last_ping_at": None, "last_start_at": None,
        "last_checked_at": None}
    assert ok(api.get(f"/heartbeats/{heartbeat['id']}")) == heartbeat


def test_create_fills_in_defaults(api):
    heartbeat = new_heartbeat(api)
    assert pick(heartbeat, "interval_seconds", "grace_seconds", "paused") == {
        "interval_seconds": 300, "grace_seconds": 60, "paused": False}


def test_the_ping_url_holds_at_least_128_random_bits(api):
    token = token_of(new_heartbeat(api))
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128


def test_every_heartbeat_has_its_own_ping_url(api):
    urls = {new_heartbeat(api, f"Job {n}")["ping_url"] for n in range(20)}
    assert len(urls) == 20


def test_the_ping_url_follows_the_base_url(app, api):
    heartbeat = new_heartbeat(api)
    app.config["BASE_URL"] = "https://status.example.com"
    assert ok(api.get(f"/heartbeats/{heartbeat['id']}"))["ping_url"] == \
        "https://status.example.com/ping/" + token_of(heartbeat)


def test_list_is_ordered_by_name_then_id(api):
    b = new_heartbeat(api, "B")
    a = new_heartbeat(api, "A")
    listing = ok(api.get("/heartbeats?limit=1"))
    assert ids(listing["items"]) == ids([a])
    assert listing["total"] == 2
    assert ids(ok(api.get("/heartbeats"))["items"]) == ids([a, b])


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "Job", "token": "mine"}, "token"),
    ({"name": "Job", "ping_url": "http://x"}, "ping_url"),
    ({"name": "Job", "failure_threshold": 2}, "failure_threshold"),
    ({"name": "Job", "interval_seconds": 4}, "interval_seconds"),
    ({"name": "Job", "interval_seconds": "300"}, "interval_seconds"),
    ({"name": "Job", "interval_seconds": None}, "interval_seconds"),
    ({"name": "Job", "grace_seconds": -1}, "grace_seconds"),
    ({"name": "Job", "grace_seconds": 1.5}, "grace_seconds"),
    ({"name": "Job", "last_ping_at": "2026-01-01T00:00:00Z"}, "last_ping_at"),
    ({"name": "Job", "status": "up"}, "status"),
])
def test_invalid_bodies_are_422_naming_the_field(api, body, field):
    assert_error(api.post("/heartbeats", json=body), 422, field)
    assert ok(api.get("/heartbeats"))["total"] == 0


def test_grace_may_be_zero(api):
    assert new_heartbeat(api, grace_seconds=0)["grace_seconds"] == 0


def test_the_token_cannot_be_changed(api):
    heartbeat = new_heartbeat(api)
    assert_error(api.put(f"/heartbeats/{heartbeat['id']}", json={"token": "guessable"}), 422,
                 "token")
    assert ok(api.get(f"/heartbeats/{heartbeat['id']}"))["ping_url"] == heartbeat["ping_url"]


def test_put_changes_what_it_names_and_keeps_the_ping_url(api):
    heartbeat = new_heartbeat(api)
    changed = ok(api.put(f"/heartbeats/{heartbeat['id']}",
                         json={"name": "Hourly", "interval_seconds": 3600}))
    assert pick(changed, "name", "interval_seconds", "grace_seconds", "ping_url") == {
        "name": "Hourly", "interval_seconds": 3600, "grace_seconds": 60,
        "ping_url": heartbeat["ping_url"]}


def up_since(heartbeat_id, last_ping_at):
    row = db.session.get(Heartbeat, heartbeat_id)
    row.status, row.last_ping_at = "up", last_ping_at
    row.deadline_at = last_ping_at + timedelta(seconds=row.interval_seconds + row.grace_seconds)
    db.session.commit()


def deadline_of(heartbeat_id):
    db.session.expire_all()
    return db.session.get(Heartbeat, heartbeat_id).deadline_at


def test_a_new_interval_or_grace_moves_the_deadline_of_an_up_heartbeat(api):
    heartbeat = new_heartbeat(api)
    pinged = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    up_since(heartbeat["id"], pinged)
    ok(api.put(f"/heartbeats/{heartbeat['id']}",
               json={"interval_seconds": 600, "grace_seconds": 30}))
    assert deadline_of(heartbeat["id"]) == pinged + timedelta(seconds=630)


def test_a_down_heartbeat_keeps_the_sweeps_deadline(api):
    heartbeat = new_heartbeat(api)
    deadline = utcnow().replace(microsecond=0) + timedelta(minutes=3)
    row = db.session.get(Heartbeat, heartbeat["id"])
    row.status, row.last_ping_at, row.deadline_at = "down", utcnow(), deadline
    db.session.commit()
    ok(api.put(f"/heartbeats/{heartbeat['id']}", json={"interval_seconds": 600}))
    assert deadline_of(heartbeat["id"]) == deadline


def test_a_paused_heartbeat_has_no_deadline_and_resumes_as_new(api):
    heartbeat = new_heartbeat(api)
    up_since(heartbeat["id"], utcnow() - timedelta(minutes=1))
    paused = ok(api.put(f"/heartbeats/{heartbeat['id']}", json={"paused": True}))
    assert (paused["paused"], paused["status"]) == (True, "up")
    assert deadline_of(heartbeat["id"]) is None
    resumed = ok(api.put(f"/heartbeats/{heartbeat['id']}", json={"paused": False}))
    assert (resumed["paused"], resumed["status"]) == (False, "new")
    assert resumed["last_ping_at"] is not None
    assert deadline_of(heartbeat["id"]) is None


def test_heartbeats_are_not_on_the_probe_schedule(api):
    heartbeat = new_heartbeat(api)
    assert scheduled("heartbeat", heartbeat["id"]) == []


def test_delete_answers_204(api):
    heartbeat = new_heartbeat(api)
    assert api.delete(f"/heartbeats/{heartbeat['id']}").status_code == 204
    assert_error(api.get(f"/heartbeats/{heartbeat['id']}"), 404)
    assert ok(api.get("/heartbeats"))["total"] == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_ids_are_404(api, method):
    assert_error(api.request(method, "/heartbeats/404", json={} if method == "PUT" else None), 404)


def test_a_read_token_cannot_write(api, read_api):
    heartbeat = new_heartbeat(api)
    assert ok(read_api.get(f"/heartbeats/{heartbeat['id']}"))["ping_url"] == heartbeat["ping_url"]
    assert_error(read_api.post("/heartbeats", json={"name": "X"}), 403)
    assert_error(read_api.put(f"/heartbeats/{heartbeat['id']}", json={"paused": True}), 403)
    assert_error(read_api.delete(f"/heartbeats/{heartbeat['id']}"), 403)
