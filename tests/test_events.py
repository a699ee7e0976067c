"""The broker: one subscription fanned out to bounded reader queues, on a real Redis."""

import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest
import redis

from conftest import TEST_PREFIX, TEST_REDIS_URL
from maintenant import events
from maintenant.events import END, Broker, TooManyStreams, decode, encode, sse_frame

WAIT = 5


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own, on a fixed port, so it can be stopped and started again.

    Nothing is kept on disk: a restart loses the backlog, as it does on these machines.
    """

    def __init__(self, port=None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def command(self):
        return [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel",
                "warning"]

    def start(self, start=None):
        """Start it (``start``: a function that starts the command, for tracked processes)."""
        if start is not None:
            self.process = start(self.command())
        else:
            self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return self
            except redis.RedisError:
                time.sleep(0.05)
            finally:
                client.close()
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(condition, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(what)


def next_events(subscription, count, timeout=WAIT):
    """The next ``count`` events of a reader (END included, if the stream ends)."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        event = subscription.get(0.1)
        if event is not None:
            got.append(event)
            if event is END:
                break
    return got


def ids(received):
    return [event.id for event in received if event is not END]


@pytest.fixture
def names():
    unique = uuid.uuid4().hex[:8]
    return TEST_PREFIX + f"{unique}:events", TEST_PREFIX + f"{unique}:events:backlog"


@pytest.fixture
def make_broker(names):
    started = []

    def make(url=TEST_REDIS_URL, **options):
        broker = Broker(url, *names, **options)
        started.append(broker)
        return broker

    yield make
    for broker in started:
        broker.stop(timeout=5)


@pytest.fixture
def live_broker(make_broker):
    def make(**options):
        broker = make_broker(**options)
        broker.start()
        assert broker.wait_until_healthy(WAIT), "the broker never subscribed"
        return broker

    return make


@pytest.fixture
def publisher(names, redis_conn):
    """Publish like events.publish does: backlog first, then the channel."""
    channel, backlog = names

    def publish(event_id, kind="component_changed", data=None, connection=redis_conn):
        message = encode(event_id, kind, data if data is not None else {"id": event_id})
        connection.zadd(backlog, {message: event_id})
        connection.publish(channel, message)

    yield publish
    redis_conn.delete(backlog)


# Events on the wire


def test_an_event_is_formatted_once_for_the_wire():
    event = decode(encode(7, "component_changed", {"id": 1, "status": "degraded"}))

    assert event.id == 7
    assert event.name == "status.component_changed"
    assert event.frame == (b'id: 7\nevent: status.component_changed\n'
                           b'data: {"id":1,"status":"degraded"}\n\n')


def test_data_on_several_lines_becomes_several_data_lines():
    assert sse_frame(3, "status.snapshot", '{\n"a": 1\n}\n') == \
        b'id: 3\nevent: status.snapshot\ndata: {\ndata: "a": 1\ndata: }\n\n'


@pytest.mark.parametrize("message", [b"not json", b'{"event": "x"}', b'{"id": "x", "event": "y", '
                                     b'"data": 1}', b"[]"])
def test_a_malformed_message_is_not_an_event(message):
    assert decode(message) is None


# Fan-out


def test_every_reader_receives_every_event_in_order(live_broker, publisher):
    broker = live_broker()
    readers = [broker.subscribe() for _ in range(3)]

    for event_id in (1, 2, 3):
        publisher(event_id)

    for reader in readers:
        assert ids(next_events(reader, 3)) == [1, 2, 3]
    assert broker.reader_count == 3


def test_an_event_published_twice_reaches_each_reader_once(live_broker, publisher):
    """Two processes draining the outbox at once publish the same events twice; ids come in
    commit order, so nothing at or below the last id handed out is new."""
    broker = live_broker()
    reader = broker.subscribe()

    for event_id in (1, 2, 1, 2, 3, 2, 4):
        publisher(event_id)

    assert ids(next_events(reader, 4)) == [1, 2, 3, 4]
    assert next_events(reader, 1, timeout=0.3) == []


def test_the_broker_uses_one_subscription_however_many_readers(live_broker, publisher,
                                                                redis_conn, names):
    broker = live_broker()
    readers = [broker.subscribe() for _ in range(50)]

    publisher(1)

    assert all(ids(next_events(reader, 1)) == [1] for reader in readers)
    assert redis_conn.pubsub_numsub(names[0]) == [(names[0].encode(), 1)]


def test_a_reader_that_falls_behind_is_dropped_and_the_others_continue(live_broker, publisher):
    broker = live_broker(queue_size=3)
    slow, fast = broker.subscribe(), broker.subscribe()

    received = []
    for event_id in range(1, 11):  # the fast reader takes each event as it comes
        publisher(event_id)
        received += next_events(fast, 1)

    assert ids(received) == list(range(1, 11))
    assert slow.closed
    assert slow.get(0.1) is END, "its stream ends: it reconnects with Last-Event-ID"
    assert broker.reader_count == 1


def test_a_full_queue_never_blocks_the_broker(live_broker, publisher):
    broker = live_broker(queue_size=1)
    stuck = [broker.subscribe() for _ in range(20)]
    heard = []
    broker.add_listener(lambda: heard.append(1))
    for event_id in range(1, 6):
        publisher(event_id)
    wait_until(lambda: len(heard) == 5, "the broker stalled")
    assert all(subscription.closed for subscription in stuck)
    reader = broker.subscribe()

    publisher(6)

    assert ids(next_events(reader, 1)) == [6]
    assert broker.reader_count == 1


def test_a_reader_that_leaves_is_forgotten(live_broker, publisher):
    broker = live_broker()
    staying, leaving = broker.subscribe("10.0.0.1"), broker.subscribe("10.0.0.1")

    leaving.cancel()
    leaving.cancel()  # closing twice is harmless
    publisher(1)

    assert broker.reader_count == 1
    assert broker.readers_from("10.0.0.1") == 1
    assert ids(next_events(staying, 1)) == [1]
    assert leaving.queue.empty()


def test_open_streams_per_address_can_be_capped(make_broker):
    broker = make_broker(max_per_address=2)
    first, _ = broker.subscribe("10.0.0.1"), broker.subscribe("10.0.0.1")

    with pytest.raises(TooManyStreams):
        broker.subscribe("10.0.0.1")
    broker.subscribe("10.0.0.2")
    first.cancel()
    broker.subscribe("10.0.0.1")

    assert broker.readers_from("10.0.0.1") == 2


def test_listeners_hear_of_every_event_before_the_readers(live_broker, publisher):
    broker = live_broker()
    reader = broker.subscribe()
    heard = []
    broker.add_listener(lambda: heard.append(reader.queue.qsize()))

    publisher(1)
    next_events(reader, 1)

    assert heard == [0], "the cache is dropped before any reader sees the event"


def test_a_malformed_message_is_skipped(live_broker, publisher, redis_conn, names):
    broker = live_broker()
    reader = broker.subscribe()

    redis_conn.publish(names[0], b"garbage")
    publisher(1)

    assert ids(next_events(reader, 1)) == [1]


# Replay from the backlog


def test_replay_gives_the_events_after_an_id_in_order(make_broker, publisher):
    broker = make_broker()
    for event_id in (3, 1, 2, 4):
        publisher(event_id)

    assert [event.id for event in broker.replay(2)] == [3, 4]
    assert broker.replay(4) == []
    assert [event.id for event in broker.replay(0)] == [1, 2, 3, 4]


def test_replay_refuses_when_the_backlog_does_not_reach_back(make_broker, publisher, names,
                                                              redis_conn):
    broker = make_broker()
    for event_id in (5, 6, 7):
        publisher(event_id)

    assert [event.id for event in broker.replay(4)] == [5, 6, 7]
    assert broker.replay(3) is None, "event 4 is gone: a snapshot is needed"
    redis_conn.delete(names[1])
    assert broker.replay(7) is None, "an empty backlog covers nothing"


# Health, and Redis going away


def test_a_broker_is_not_healthy_until_subscribed(make_broker):
    broker = make_broker()

    assert not broker.healthy and not broker.started
    broker.start()

    assert broker.wait_until_healthy(WAIT)


def test_a_broker_without_redis_stays_unhealthy_and_keeps_trying(make_broker, monkeypatch):
    monkeypatch.setattr(events, "BACKOFF_START", 0.05)
    monkeypatch.setattr(events, "BACKOFF_MAX", 0.1)
    broker = make_broker(url=f"redis://127.0.0.1:{free_port()}/0")
    broker.start()

    wait_until(lambda: broker.reconnects >= 3, "the broker stopped retrying")
    assert not broker.healthy


def test_backoff_doubles_from_half_a_second_up_to_two():
    delays, delay = [], events.BACKOFF_START
    for _ in range(6):
        delays.append(delay)
        delay = min(delay * 2, events.BACKOFF_MAX)

    assert delays == [0.5, 1, 2, 2, 2, 2]


@pytest.fixture
def own_redis():
    server = RedisServer().start()
    yield server
    server.stop()


def test_redis_going_away_ends_every_stream_and_the_broker_comes_back(make_broker, own_redis,
                                                                      names, monkeypatch):
    monkeypatch.setattr(events, "BACKOFF_START", 0.1)
    broker = make_broker(url=own_redis.url)
    broker.start()
    assert broker.wait_until_healthy(WAIT)
    readers = [broker.subscribe() for _ in range(3)]
    heard = []
    broker.add_listener(lambda: heard.append(broker.healthy))

    own_redis.stop()

    for reader in readers:
        assert next_events(reader, 1) == [END]
    assert not broker.healthy
    assert broker.reader_count == 0
    assert False in heard, "the cache heard the subscription go down"

    own_redis.start()
    assert broker.wait_until_healthy(15), "the broker did not resubscribe"
    reader = broker.subscribe()
    connection = redis.Redis.from_url(own_redis.url)
    connection.publish(names[0], encode(8, "component_changed", {"id": 1}))
    connection.close()
    assert ids(next_events(reader, 1)) == [8]


def test_a_redis_that_stops_answering_counts_as_gone(make_broker, own_redis, monkeypatch):
    monkeypatch.setattr(events, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(events, "PING_SECONDS", 0.2)
    broker = make_broker(url=own_redis.url)
    broker.start()
    assert broker.wait_until_healthy(WAIT)
    reader = broker.subscribe()
    time.sleep(1)
    assert broker.healthy, "an idle subscription that answers its pings stays up"

    connection = redis.Redis.from_url(own_redis.url)
    connection.client_pause(3000)  # the connection stays open, but nothing answers
    try:
        assert next_events(reader, 1, timeout=2.5) == [END]
        assert not broker.healthy
    finally:
        connection.client_unpause()
        connection.close()
    assert broker.wait_until_healthy(15)


def test_readers_waiting_for_redis_are_ended_when_it_is_back(make_broker, own_redis,
                                                            monkeypatch):
    monkeypatch.setattr(events, "BACKOFF_START", 0.1)
    broker = make_broker(url=own_redis.url)
    broker.start()
    assert broker.wait_until_healthy(WAIT)
    own_redis.stop()
    wait_until(lambda: not broker.healthy, "the broker did not notice Redis leave")

    waiting = broker.subscribe()
    assert broker.hold_until_live(waiting) is False
    own_redis.start()

    assert next_events(waiting, 1, timeout=15) == [END], \
        "ended, so it resumes from the backlog what was published before the resubscription"
    live = broker.subscribe()
    assert broker.hold_until_live(live) is True
    assert broker.reader_count == 1


def test_stopping_the_broker_ends_every_stream(live_broker):
    broker = live_broker()
    reader = broker.subscribe()

    broker.stop(timeout=5)

    assert next_events(reader, 1) == [END]
    assert not broker.healthy
    assert next_events(broker.subscribe(), 1) == [END], "a stopping process takes no reader"


def test_stopping_a_broker_that_never_got_live_ends_its_waiting_streams(make_broker):
    broker = make_broker(url=f"redis://127.0.0.1:{free_port()}/0")
    waiting = broker.subscribe()
    assert broker.hold_until_live(waiting) is False

    broker.stop(timeout=5)

    assert next_events(waiting, 1) == [END]


def test_an_abandoned_broker_stops_by_itself(live_broker):
    broker = live_broker()
    reader = broker.subscribe()

    broker.abandon()  # what the app's finalizer does when the app is collected

    assert next_events(reader, 1) == [END]
    wait_until(lambda: not broker._thread.is_alive(), "the broker's thread kept running")


# One broker per app


def test_an_app_gets_one_broker_started_on_first_use(app):
    assert events.current_broker() is None

    broker = events.get_broker()

    assert events.get_broker() is broker
    assert broker.started
    assert broker.wait_until_healthy(WAIT)
    events.stop_broker(app)
    assert events.current_broker() is None


def test_brokers_are_created_once_under_concurrency(app):
    real_app = app
    got = []

    def use():
        got.append(events.get_broker(real_app))

    threads = [threading.Thread(target=use) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(broker) for broker in got}) == 1
    events.stop_broker(app)
