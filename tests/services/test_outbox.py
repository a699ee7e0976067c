"""The outbox: events recorded with the change, published to Redis after the commit."""

import json
import time

import pytest

from conftest import make_config
from factories import make_component
from maintenant import create_app, events
from maintenant.extensions import EVENTS_BACKLOG, EVENTS_CHANNEL, db, redis_client
from maintenant.models import Component, OutboxEvent, StatusLogEntry
from maintenant.services.outbox import EVENTS, commit, drain_outbox
from maintenant.services.statuses import sync_statuses

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
TOKEN = "outbox-test-token"


@pytest.fixture
def channel(app, redis_conn):
    """A subscription to the events channel, ready before the test writes anything."""
    pubsub = redis_conn.pubsub()
    pubsub.subscribe(redis_client.key(EVENTS_CHANNEL))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"   # the subscription is live
    yield pubsub
    pubsub.close()


def received(pubsub, wait=2.0):
    """Every event the channel delivered within ``wait`` seconds of the last one."""
    messages = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            messages.append(json.loads(message["data"]))
            deadline = time.monotonic() + 0.3
    return messages


def backlog(redis_conn):
    """The replay backlog as (score, event), oldest first."""
    return [(score, json.loads(member)) for member, score in
            redis_conn.zrange(redis_client.key(EVENTS_BACKLOG), 0, -1, withscores=True)]


def outbox():
    return db.session.scalars(db.select(OutboxEvent).order_by(OutboxEvent.id)).all()


def test_a_rolled_back_change_leaves_no_event(app, channel):
    db.session.add(Component(name="API", status_override="major_outage"))
    sync_statuses("override")
    # Recorded with the change, written as it commits.
    assert [event.type for event in db.session.info[EVENTS]] == ["component_changed",
                                                                 "global_changed"]

    db.session.rollback()
    commit()

    assert outbox() == []
    assert db.session.scalars(db.select(StatusLogEntry)).all() == []
    assert received(channel, wait=0.5) == []


def test_events_are_not_published_before_the_commit(app, channel):
    db.session.add(Component(name="API"))
    sync_statuses("monitor")
    db.session.flush()

    assert received(channel, wait=0.5) == []
    db.session.commit()
    assert received(channel, wait=0.5) == []   # committed but not drained yet
    assert drain_outbox() == 1

    assert [event["event"] for event in received(channel)] == ["status.component_changed"]


def test_a_write_publishes_its_events_after_the_commit(api, channel, redis_conn):
    response = api.post("/status/components", json={"name": "API", "status_override": "degraded"})
    assert response.status_code == 201
    component_id = response.get_json()["id"]

    messages = received(channel)

    assert [message["event"] for message in messages] == \
        ["status.component_changed", "status.global_changed"]
    changed, overall = messages
    assert {key: changed["data"][key] for key in ("id", "name", "group_id", "status")} == \
        {"id": component_id, "name": "API", "group_id": None, "status": "degraded"}
    assert overall["data"] == {"status": "degraded", "message": "Degraded Performance"}
    assert [message["id"] for message in messages] == [event.id for event in outbox()]
    assert all(event.published_at is not None for event in outbox())
    assert [event for _, event in backlog(redis_conn)] == messages


def test_backlog_ids_only_grow(api, redis_conn):
    for name in ("API", "Website", "Mail"):
        assert api.post("/status/components", json={"name": name}).status_code == 201
    component_id = api.get("/status/components").get_json()["items"][0]["id"]
    api.put(f"/status/components/{component_id}", json={"status_override": "major_outage"})

    entries = backlog(redis_conn)

    ids = [event["id"] for _, event in entries]
    assert len(ids) == 5
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [score for score, _ in entries] == ids
    assert [event["data"].get("name") for _, event in entries] == \
        ["API", "Website", "Mail", "API", None]


def test_the_backlog_is_bounded(app, redis_conn, monkeypatch):
    monkeypatch.setattr(events, "BACKLOG_SIZE", 3)
    for number in range(5):
        make_component(f"Component {number}")

    assert [event["data"]["name"] for _, event in backlog(redis_conn)] == \
        ["Component 2", "Component 3", "Component 4"]


def test_event_ids_keep_growing_after_redis_loses_its_backlog(api, redis_conn):
    api.post("/status/components", json={"name": "API"})
    [(_, before)] = backlog(redis_conn)

    redis_conn.flushdb()   # as a Redis restart without persistence would
    api.post("/status/components", json={"name": "Website"})

    [(_, after)] = backlog(redis_conn)
    assert after["data"]["name"] == "Website"
    assert after["id"] > before["id"]


def test_a_redis_outage_delays_events_and_loses_none(app, database_url, channel, redis_conn):
    down = create_app(make_config(database_url, REDIS_URL=UNREACHABLE_REDIS, API_TOKEN=TOKEN))
    try:
        response = down.test_client().post(
            "/api/v1/status/components", json={"name": "API", "status_override": "major_outage"},
            headers={"Authorization": f"Bearer {TOKEN}"})

        assert response.status_code == 201
        assert response.get_json()["status"] == "major_outage"
        with down.app_context():
            assert drain_outbox() == 0      # the sweep while Redis is still down
    finally:
        with down.app_context():
            db.engine.dispose()
    pending = outbox()
    assert [(event.type, event.published_at) for event in pending] == \
        [("component_changed", None), ("global_changed", None)]
    assert received(channel, wait=0.5) == []
    assert backlog(redis_conn) == []

    back = create_app(make_config(database_url))
    try:
        with back.app_context():
            assert drain_outbox() == 2
            assert drain_outbox() == 0
            assert all(event.published_at is not None for event in outbox())
    finally:
        with back.app_context():
            db.engine.dispose()

    messages = received(channel)
    assert [(message["id"], message["event"]) for message in messages] == \
        [(event.id, "status." + event.type) for event in pending]
    assert messages[0]["data"]["name"] == "API"
    assert [event for _, event in backlog(redis_conn)] == messages
