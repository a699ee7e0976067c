"""GET /status/events: the wire format, the catch-up (replay or snapshot) and the live events."""

import json
import time

import pytest

from conftest import make_config
from factories import make_component
from maintenant import create_app, events
from maintenant.events import get_broker, newest_event_id, stop_broker
from maintenant.extensions import EVENTS_BACKLOG, db, redis_client
from maintenant.public import stream
from maintenant.services.components import get_component, update_component
from test_events import RedisServer

WAIT = 5
STATUSES = ("degraded", "partial_outage", "major_outage")


class Reader:
    """An SSE reader on a test client response: parses what the stream sends as it comes."""

    def __init__(self, response):
        self.response = response
        self.chunks = iter(response.response)
        self.buffer = ""
        self.ended = False
        self.comments = []
        self.retry = None

    def _blocks(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.ended:
            if "\n\n" in self.buffer:
                block, self.buffer = self.buffer.split("\n\n", 1)
                yield block
                continue
            try:
                self.buffer += next(self.chunks).decode("utf-8")
            except StopIteration:
                self.ended = True

    def events(self, count=None, timeout=WAIT):
        """The next ``count`` events (all until ``timeout`` or the end when None)."""
        got = []
        for block in self._blocks(timeout):
            event = {}
            for line in block.split("\n"):
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    continue
                field, _, value = line.partition(": ")
                if field == "retry":
                    self.retry = int(value)
                elif field == "data":
                    event["data"] = event["data"] + "\n" + value if "data" in event else value
                else:
                    event[field] = value
            if "event" in event:
                got.append({"id": int(event["id"]), "event": event["event"],
                            "data": json.loads(event["data"])})
                if count is not None and len(got) == count:
                    return got
        return got

    def wait_for_end(self, timeout=WAIT):
        self.events(timeout=timeout)
        return self.ended

    def close(self):
        self.response.close()


@pytest.fixture
def live(app):
    """The app's broker, subscribed; streams keep alive every 0.2 s so reads never hang."""
    app.config["SSE_KEEPALIVE_SECONDS"] = 0.2
    broker = get_broker()
    assert broker.wait_until_healthy(WAIT)
    yield broker
    stop_broker(app)


@pytest.fixture
def open_stream(client, live):
    readers = []

    def open_(headers=None, query=""):
        response = client.get("/status/events" + query, headers=headers or {}, buffered=False)
        reader = Reader(response)
        readers.append(reader)
        return reader

    yield open_
    for reader in readers:
        reader.close()


def change(component_id, status):
    """An operator override: one component_changed (and maybe a global_changed) event."""
    update_component(get_component(component_id), {"status_override": status})


def wait_for_event(reader, kind, timeout=WAIT):
    for event in reader.events(timeout=timeout):
        if event["event"] == kind:
            return event
    pytest.fail(f"no {kind}")


def test_the_stream_starts_at_once_with_a_retry_hint_and_a_comment(open_stream):
    reader = open_stream()

    assert reader.response.status_code == 200
    assert reader.response.mimetype == "text/event-stream"
    assert reader.response.headers["Cache-Control"] == "no-cache"
    assert reader.response.headers["X-Accel-Buffering"] == "no"
    first = next(reader.chunks)
    assert first.startswith(b"retry: 3000\n: connected\n\n")


def test_a_reader_without_an_id_gets_a_snapshot_of_the_page_first(open_stream, client):
    component = make_component("API")
    change(component.id, "degraded")

    reader = open_stream()
    snapshot, = reader.events(1)

    assert snapshot["event"] == "status.snapshot"
    assert snapshot["id"] == newest_event_id()
    assert snapshot["data"] == client.get("/status/api").get_json()
    assert snapshot["data"]["components"][0]["status"] == "degraded"
    assert reader.retry == 3000 and "connected" in reader.comments


def test_events_follow_as_they_happen(open_stream):
    component = make_component("API")
    reader = open_stream()
    reader.events(1)  # the snapshot

    change(component.id, "major_outage")
    received = reader.events(2)

    assert [event["event"] for event in received] == ["status.component_changed",
                                                      "status.global_changed"]
    assert received[0]["data"]["status"] == "major_outage"
    assert received[0]["id"] < received[1]["id"] == newest_event_id()


def test_idle_streams_get_keepalive_comments(open_stream, app):
    reader = open_stream()

    reader.events(timeout=0.7)

    assert reader.comments.count("keepalive") >= 2


def missed_events(component_id, count=3):
    """Changes made while a reader was away: the events they published, oldest first."""
    first = newest_event_id()
    for status in STATUSES[:count]:
        change(component_id, status)
    return list(range(first + 1, newest_event_id() + 1))


@pytest.mark.parametrize("how", ["header", "query"])
def test_a_reader_that_comes_back_gets_exactly_what_it_missed(open_stream, how):
    component = make_component("API")
    last_seen = newest_event_id()
    missed = missed_events(component.id)

    reader = open_stream(**({"headers": {"Last-Event-ID": str(last_seen)}} if how == "header"
                            else {"query": f"?last_event_id={last_seen}"}))
    received = reader.events(timeout=1)

    assert [event["id"] for event in received] == missed
    assert "status.snapshot" not in [event["event"] for event in received]
    assert received[-2]["data"]["status"] == "major_outage"


def test_the_header_wins_over_the_query(open_stream):
    component = make_component("API")
    last_seen = newest_event_id()
    missed = missed_events(component.id)

    reader = open_stream(headers={"Last-Event-ID": str(last_seen)}, query="?last_event_id=1")

    assert [event["id"] for event in reader.events(timeout=1)] == missed


def test_a_reader_up_to_date_gets_nothing_but_what_comes_next(open_stream):
    component = make_component("API")

    reader = open_stream(headers={"Last-Event-ID": str(newest_event_id())})
    assert reader.events(timeout=0.5) == []
    change(component.id, "degraded")

    assert reader.events(1)[0]["event"] == "status.component_changed"


@pytest.mark.parametrize("last_event_id", ["abc", "-1", "1.5", "1e3", " ", "９",
                                           "99999999999999999999999"])
def test_a_malformed_id_gets_a_snapshot(open_stream, last_event_id):
    make_component("API")

    reader = open_stream(headers={"Last-Event-ID": last_event_id})

    assert [event["event"] for event in reader.events(timeout=0.5)] == ["status.snapshot"]


def test_an_id_newer_than_any_event_gets_a_snapshot(open_stream):
    make_component("API")
    newest = newest_event_id()

    reader = open_stream(headers={"Last-Event-ID": str(newest + 10)})
    received = reader.events(timeout=0.5)

    assert [(event["event"], event["id"]) for event in received] == [("status.snapshot", newest)]


def test_an_id_older_than_the_backlog_gets_a_snapshot(open_stream, monkeypatch):
    monkeypatch.setattr(events, "BACKLOG_SIZE", 3)
    component = make_component("API")
    last_seen = newest_event_id()
    missed_events(component.id)  # more events than the backlog keeps

    reader = open_stream(headers={"Last-Event-ID": str(last_seen)})
    received = reader.events(timeout=0.5)

    assert [(event["event"], event["id"]) for event in received] == \
        [("status.snapshot", newest_event_id())]
    assert received[0]["data"]["components"][0]["status"] == "major_outage"


def test_an_id_from_before_the_backlog_was_lost_gets_a_snapshot(open_stream, redis_conn):
    component = make_component("API")
    last_seen = newest_event_id()
    missed_events(component.id, 1)
    redis_conn.delete(redis_client.key(EVENTS_BACKLOG))  # as a Redis restart does

    reader = open_stream(headers={"Last-Event-ID": str(last_seen)})

    assert [event["event"] for event in reader.events(timeout=0.5)] == ["status.snapshot"]


def test_the_newest_id_needs_no_backlog(open_stream, redis_conn):
    component = make_component("API")
    redis_conn.delete(redis_client.key(EVENTS_BACKLOG))

    reader = open_stream(headers={"Last-Event-ID": str(newest_event_id())})

    assert reader.events(timeout=0.5) == [], "nothing happened since: nothing to send"
    change(component.id, "degraded")
    assert reader.events(1)[0]["event"] == "status.component_changed"


def test_an_event_during_the_catch_up_arrives_once(open_stream, live, monkeypatch):
    component = make_component("API")
    last_seen = newest_event_id()
    missed = missed_events(component.id, 1)
    replay = live.replay

    def replay_while_a_change_lands(last_id):
        # Registered already: the change reaches this reader live AND is in the backlog.
        change(component.id, "major_outage")
        time.sleep(0.2)
        return replay(last_id)

    monkeypatch.setattr(live, "replay", replay_while_a_change_lands)
    reader = open_stream(headers={"Last-Event-ID": str(last_seen)})
    received = [event["id"] for event in reader.events(timeout=1)]

    assert received == missed + list(range(missed[-1] + 1, newest_event_id() + 1))
    assert len(received) == len(set(received))


def test_an_event_during_a_snapshot_is_not_lost(open_stream, monkeypatch):
    component = make_component("API")
    rendered = stream.rendered

    def render_while_a_change_lands(key):
        entry = rendered(key)
        change(component.id, "major_outage")  # after the snapshot was read
        return entry

    monkeypatch.setattr(stream, "rendered", render_while_a_change_lands)
    reader = open_stream()
    received = reader.events(timeout=1)

    assert received[0]["event"] == "status.snapshot"
    assert received[0]["data"]["components"][0]["status"] == "operational"
    assert [event["event"] for event in received[1:]] == ["status.component_changed",
                                                          "status.global_changed"]


def test_a_closed_stream_leaves_the_broker(open_stream, live):
    readers = [open_stream() for _ in range(3)]
    for reader in readers:
        reader.events(1)
    assert live.reader_count == 3

    readers[0].close()
    assert live.reader_count == 2

    never_read = open_stream()  # closed before its first chunk: still unregistered
    never_read.close()
    assert live.reader_count == 2


def test_a_reader_that_cannot_keep_up_is_disconnected(app, client, monkeypatch):
    app.config.update(SSE_KEEPALIVE_SECONDS=0.2, SSE_CLIENT_QUEUE=2)
    broker = get_broker()
    assert broker.wait_until_healthy(WAIT)
    component = make_component("API")
    slow = Reader(client.get("/status/events", buffered=False))
    fast = Reader(client.get("/status/events", buffered=False))
    slow.events(1)
    fast.events(1)

    received = []
    for status in STATUSES:
        change(component.id, status)
        received += fast.events(timeout=0.3)

    assert slow.wait_for_end(), "the slow reader's stream ends (it reconnects with its last id)"
    assert len(received) >= 3 and not fast.ended
    assert broker.reader_count == 1
    fast.close()
    stop_broker(app)


def test_streams_per_address_can_be_capped(app, client):
    app.config.update(SSE_KEEPALIVE_SECONDS=0.2, SSE_MAX_STREAMS_PER_IP=2)
    assert get_broker().wait_until_healthy(WAIT)
    open_ = [client.get("/status/events", buffered=False) for _ in range(2)]

    refused = client.get("/status/events")

    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    open_[0].close()
    again = client.get("/status/events", buffered=False)
    assert again.status_code == 200
    for response in (open_[1], again):
        response.close()
    stop_broker(app)


def test_without_redis_there_is_no_stream(database_url):
    app = create_app(make_config(database_url, REDIS_URL=None))
    with app.app_context():
        response = app.test_client().get("/status/events")

        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "unavailable"
        db.session.remove()


# Redis going away


@pytest.fixture
def own_redis():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def own_app(database_url, app, own_redis, monkeypatch):
    """The test database (emptied by ``app``) with a Redis of the test's own."""
    monkeypatch.setattr(events, "BACKOFF_START", 0.1)
    monkeypatch.setattr(stream, "LIVE_WAIT_SECONDS", 0.2)
    own = create_app(make_config(database_url, REDIS_URL=own_redis.url,
                                 SSE_KEEPALIVE_SECONDS=0.2))
    with own.app_context():
        yield own
        stop_broker(own)
        db.session.remove()


def test_streams_end_when_redis_goes_and_resume_when_it_is_back(own_app, own_redis):
    client = own_app.test_client()
    broker = get_broker()
    assert broker.wait_until_healthy(WAIT)
    component = make_component("API")
    reader = Reader(client.get("/status/events", buffered=False))
    last_id = reader.events(1)[0]["id"]

    own_redis.stop()

    assert reader.wait_for_end(), "the stream ends cleanly"
    # Meanwhile the page answers from the database, and a change is kept in the outbox.
    change(component.id, "major_outage")
    assert client.get("/status/api").get_json()["components"][0]["status"] == "major_outage"
    assert client.get("/status/").status_code == 200
    waiting = Reader(client.get("/status/events", headers={"Last-Event-ID": str(last_id)},
                                buffered=False))
    assert waiting.events(timeout=0.5) == [], "no catch-up while Redis is down"

    own_redis.start()

    assert waiting.wait_for_end(15), "ended once the broker is back, to catch up"
    change(component.id, "degraded")  # publishes what the outage held back, then its own
    reader = Reader(client.get("/status/events", headers={"Last-Event-ID": str(last_id)},
                               buffered=False))
    received = reader.events(timeout=1)
    assert [event["data"].get("status") for event in received
            if event["event"] == "status.component_changed"] == ["major_outage", "degraded"]
    assert received[-1]["id"] == newest_event_id()
    reader.close()
