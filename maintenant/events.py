"""Status events on Redis: publish them, and the per-process broker that feeds SSE readers.

Publishing: each event is one JSON message ``{"id", "event", "data"}`` on the pub/sub channel,
also kept in a short replay backlog (a sorted set scored by id). Ids come from the outbox
table, so they only grow, also across a Redis restart.

The broker: ONE subscription per web process, however many readers. A background thread
(a greenlet under gunicorn's gevent workers, which patch threading) reads the channel and puts
each event into every reader's bounded queue; a reader whose queue is full is told to go and
reconnect with ``Last-Event-ID``, so a slow reader never holds up the broker or the others.
When the subscription drops, every stream ends (readers resume from the backlog), the broker
reconnects with backoff, and ``healthy`` stays False until it is subscribed again.
"""

import json
import logging
import queue
import threading
import time
import weakref
from collections import namedtuple

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

from .extensions import EVENTS_BACKLOG, EVENTS_CHANNEL, db, redis_client

log = logging.getLogger(__name__)

BACKLOG_SIZE = 1000
EVENT_PREFIX = "status."
SNAPSHOT = EVENT_PREFIX + "snapshot"

BROKER_EXTENSION = "maintenant.broker"
# Reconnecting after Redis went away: 0.5 s, doubling up to 2 s. While the subscription is
# down, new readers wait for it and the page is rendered from the database, so it must come
# back within moments of Redis; a refused connection every 2 s per web process costs nothing.
BACKOFF_START = 0.5
BACKOFF_MAX = 2.0
# How often the broker's loop wakes up to notice it was asked to stop.
POLL_SECONDS = 1.0
# The subscription PINGs Redis when idle this long; with no answer for three times as long it
# counts as lost, so a silent network drop cannot leave stale pages cached.
PING_SECONDS = 5
# Connections for backlog reads: a reconnect storm of thousands of readers queues on these.
BACKLOG_POOL_SIZE = 10

_create_lock = threading.Lock()


def wire_name(kind):
    """``component_changed`` -> ``status.component_changed``, the name on the wire."""
    return EVENT_PREFIX + kind


def encode(event_id, kind, data):
    return json.dumps({"id": event_id, "event": wire_name(kind), "data": data},
                      separators=(",", ":"), default=str)


def publish(events):
    """Publish ``(id, kind, data)`` events in order, in one round trip.

    This process's cached page is dropped at once (its readers see their own writes); other
    processes drop theirs when their broker receives the events.

    Raises:
        redis.RedisError: when Redis cannot be reached; the caller keeps the events.
    """
    if not events:
        return
    try:
        client = redis_client.client
        channel = redis_client.key(EVENTS_CHANNEL)
        backlog = redis_client.key(EVENTS_BACKLOG)
        pipe = client.pipeline(transaction=False)
        for event_id, kind, data in events:
            message = encode(event_id, kind, data)
            pipe.zadd(backlog, {message: event_id})
            pipe.publish(channel, message)
        pipe.zremrangebyrank(backlog, 0, -BACKLOG_SIZE - 1)
        pipe.execute()
    finally:
        broker = current_app.extensions.get(BROKER_EXTENSION)
        if broker is not None:
            broker.changed()


def newest_event_id():
    """The id of the newest event recorded (published or not), 0 when there is none."""
    from .models import OutboxEvent

    return db.session.scalar(db.select(db.func.max(OutboxEvent.id))) or 0


# Events as the broker hands them to readers.


class Event(namedtuple("Event", "id name frame")):
    """One event, formatted once for the wire and shared by every reader."""

    __slots__ = ()


def sse_frame(event_id, name, data):
    """The bytes of one server-sent event; ``data`` is JSON text (one ``data:`` line a line)."""
    lines = "".join(f"data: {line}\n" for line in data.rstrip("\n").split("\n"))
    return f"id: {event_id}\nevent: {name}\n{lines}\n".encode("utf-8")


def decode(message):
    """An Event from a message on the channel or in the backlog; None when it is not one."""
    try:
        payload = json.loads(message)
        event_id = int(payload["id"])
        name = str(payload["event"])
        data = json.dumps(payload["data"], separators=(",", ":"))
    except (ValueError, TypeError, KeyError):
        log.warning("ignoring a malformed event message: %.200r", message)
        return None
    return Event(event_id, name, sse_frame(event_id, name, data))


# The end of a stream, put in a reader's queue to wake it.
END = object()


class TooManyStreams(Exception):
    """The client address already holds as many open streams as allowed."""


class Subscription:
    """One reader's place at the broker: a bounded queue of events, and whether it must end."""

    def __init__(self, broker, address, size):
        self.broker = broker
        self.address = address
        self.queue = queue.Queue(maxsize=size)
        self.closed = False
        # Set while the broker is down and this stream could not catch up: when the broker is
        # subscribed again it ends the stream, and the reader resumes from the backlog.
        self.waiting = False

    def offer(self, event):
        """Queue an event without blocking; False when the queue is full."""
        try:
            self.queue.put_nowait(event)
            return True
        except queue.Full:
            return False

    def end(self):
        """Make the stream end (the reader then reconnects with Last-Event-ID)."""
        self.closed = True
        self.offer(END)  # wakes a reader waiting on an empty queue; a full one sees ``closed``

    def get(self, timeout):
        """The next event; None after ``timeout`` seconds without one; END when the stream ends."""
        if self.closed:
            return END
        try:
            event = self.queue.get(timeout=timeout)
        except queue.Empty:
            return END if self.closed else None
        return END if self.closed else event

    def cancel(self):
        """Leave the broker (the stream closed); safe to call more than once."""
        self.closed = True
        self.broker.unsubscribe(self)


class Broker:
    """The process's one subscription to the events channel, fanned out to its readers.

    Args:
        url: the Redis server.
        channel: the pub/sub channel; ``backlog``: the replay backlog's key.
        queue_size: events a reader may fall behind before it is disconnected.
        max_per_address: open streams allowed per client address (0: no limit).
    """

    def __init__(self, url, channel, backlog, queue_size=100, max_per_address=0):
        self.url = url
        self.channel = channel
        self.backlog = backlog
        self.queue_size = queue_size
        self.max_per_address = max_per_address
        # Backlog reads share a few connections, whatever the number of readers.
        self.redis = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
            url, max_connections=BACKLOG_POOL_SIZE, timeout=5, socket_timeout=5,
            socket_connect_timeout=2))
        self._lock = threading.Lock()
        self._subscriptions = set()
        self._per_address = {}
        self._listeners = []
        self._healthy = False
        self._healthy_event = threading.Event()
        self._stopping = threading.Event()
        # Set from a finalizer, which may run in any thread at any moment: no lock, no Event.
        self._abandoned = False
        self._thread = None
        self.reconnects = 0
        # The id of the last event handed to the readers (0: none yet).
        self.last_event_id = 0

    # Lifecycle

    def start(self):
        """Start the subscription in the background (once)."""
        with self._lock:
            if self._thread is not None or self._stopping.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="maintenant-broker",
                                            daemon=True)
            self._thread.start()

    @property
    def started(self):
        return self._thread is not None

    def abandon(self):
        """Stop soon, from the broker's own thread: safe inside a garbage-collection callback."""
        self._abandoned = True

    def _should_stop(self):
        return self._abandoned or self._stopping.is_set()

    def stop(self, timeout=None):
        """Stop listening and end every stream."""
        self._stopping.set()
        self._set_healthy(False)
        self._end_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and timeout:
            thread.join(timeout)
        self.redis.connection_pool.disconnect()

    @property
    def healthy(self):
        """Whether the subscription is up: events reach readers and cached pages are current."""
        return self._healthy

    def wait_until_healthy(self, timeout):
        return self._healthy_event.wait(timeout)

    def add_listener(self, listener):
        """Call ``listener()`` on every event and whenever the subscription goes up or down."""
        self._listeners.append(listener)

    def changed(self):
        """Tell the listeners something changed (an event, or the subscription's health)."""
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a listener must never stop the events
                log.exception("broker listener failed")

    # Readers

    def subscribe(self, address=None):
        """Register a reader; its queue receives every event from now on.

        Raises:
            TooManyStreams: ``address`` already has ``max_per_address`` open streams.
        """
        self.start()
        subscription = Subscription(self, address, self.queue_size)
        if self._should_stop():
            subscription.end()  # the process is stopping: the reader goes to another one
            return subscription
        with self._lock:
            count = self._per_address.get(address, 0)
            if self.max_per_address and count >= self.max_per_address:
                raise TooManyStreams(address)
            self._per_address[address] = count + 1
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription):
        with self._lock:
            self._remove(subscription)

    def _remove(self, subscription):
        """Forget a reader (with the lock held)."""
        if subscription not in self._subscriptions:
            return
        self._subscriptions.discard(subscription)
        count = self._per_address.get(subscription.address, 1) - 1
        if count > 0:
            self._per_address[subscription.address] = count
        else:
            self._per_address.pop(subscription.address, None)

    def hold_until_live(self, subscription):
        """True when the broker is live for this reader; else mark it waiting (ended later).

        Atomic with the broker going live, so a waiting reader is never forgotten.
        """
        with self._lock:
            if self._healthy:
                return True
            subscription.waiting = True
            return False

    @property
    def reader_count(self):
        return len(self._subscriptions)

    def readers_from(self, address):
        return self._per_address.get(address, 0)

    def replay(self, last_id):
        """The events after ``last_id``, in order, when the backlog still holds all of them.

        Returns:
            A list of Events, or None when the backlog does not reach back to ``last_id``
            (it starts later, or is empty after a Redis restart).
        Raises:
            redis.RedisError: Redis cannot be read.
        """
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrange(self.backlog, 0, 0, withscores=True)
        pipe.zrangebyscore(self.backlog, f"({last_id}", "+inf")
        oldest, messages = pipe.execute()
        if not oldest or int(oldest[0][1]) > last_id + 1:
            return None
        return [event for event in map(decode, messages) if event is not None]

    # The subscription

    def _set_healthy(self, healthy):
        """Flip the health; going live ends the streams that waited for it."""
        with self._lock:
            if healthy == self._healthy:
                return
            self._healthy = healthy
            if healthy:
                self._healthy_event.set()
                to_end = [s for s in self._subscriptions if s.waiting]
            else:
                self._healthy_event.clear()
                to_end = list(self._subscriptions)
            for subscription in to_end:
                self._remove(subscription)
        for subscription in to_end:
            subscription.end()
        # The cache may hold pages from before the gap, or be filled while nothing invalidates it.
        self.changed()

    def _run(self):
        delay = BACKOFF_START
        while not self._should_stop():
            try:
                if self._listen():
                    delay = BACKOFF_START
            except (redis.RedisError, OSError) as error:
                if not self._should_stop():
                    log.warning("events subscription lost (%s); retrying in %.1f s", error, delay)
            except Exception:
                log.exception("events broker failed; retrying in %.1f s", delay)
            finally:
                self._set_healthy(False)
            if self._should_stop():
                break
            self._stopping.wait(delay)
            delay = min(delay * 2, BACKOFF_MAX)
            self.reconnects += 1
        self._end_all()
        self.redis.connection_pool.disconnect()

    def _end_all(self):
        with self._lock:
            remaining = list(self._subscriptions)
            for subscription in remaining:
                self._remove(subscription)
        for subscription in remaining:
            subscription.end()

    def _listen(self):
        """Subscribe and dispatch until stopped or Redis fails; True if it got subscribed."""
        # No silent retries: a dropped connection must end the streams, or readers would
        # miss what was published during the gap.
        client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=10,
                                      retry=Retry(NoBackoff(), 0))
        pubsub = client.pubsub()
        subscribed = False
        heard = pinged = time.monotonic()
        try:
            pubsub.subscribe(self.channel)
            while not self._should_stop():
                message = pubsub.get_message(timeout=POLL_SECONDS)
                now = time.monotonic()
                if message is None:
                    if now - heard > 3 * PING_SECONDS:
                        raise redis.ConnectionError("Redis stopped answering")
                    if now - max(heard, pinged) > PING_SECONDS:
                        pubsub.ping()
                        pinged = now
                    continue
                heard = now
                if message["type"] == "subscribe":
                    if subscribed:  # the client re-subscribed on its own after a drop
                        raise redis.ConnectionError("the subscription was re-established")
                    subscribed = True
                    # A new subscription starts afresh: after a gap the ids go on from the
                    # database, and a database restored from a backup may count from lower.
                    self.last_event_id = 0
                    self._set_healthy(True)
                elif message["type"] == "message":
                    self._dispatch(message["data"])
            return subscribed
        finally:
            try:
                pubsub.close()
                client.close()
            except Exception:
                pass

    def _dispatch(self, message):
        event = decode(message)
        if event is None:
            return
        if event.id <= self.last_event_id:
            # A second copy: two processes drained the outbox at once. Ids are published in
            # commit order (maintenant.services.outbox), so anything not above the last one
            # handed out was handed out already: every reader is spared the repeat.
            return
        # Drop the cached page before any reader can ask for it again.
        self.changed()
        with self._lock:
            subscriptions = list(self._subscriptions)
        dropped = [s for s in subscriptions if not s.offer(event)]
        for subscription in dropped:
            self.unsubscribe(subscription)
            subscription.end()
        self.last_event_id = event.id


def get_broker(app=None):
    """The app's broker, created and started on first use; None without Redis."""
    app = app or current_app._get_current_object()
    broker = app.extensions.get(BROKER_EXTENSION)
    if broker is not None:
        return broker
    if not app.config.get("REDIS_URL"):
        return None
    with _create_lock:
        broker = app.extensions.get(BROKER_EXTENSION)
        if broker is None:
            broker = Broker(app.config["REDIS_URL"],
                            app.config["REDIS_PREFIX"] + EVENTS_CHANNEL,
                            app.config["REDIS_PREFIX"] + EVENTS_BACKLOG,
                            queue_size=app.config["SSE_CLIENT_QUEUE"],
                            max_per_address=app.config["SSE_MAX_STREAMS_PER_IP"])
            app.extensions[BROKER_EXTENSION] = broker
            # The thread holds the broker, not the app: when an app goes away (tests build
            # many), so does its subscription.
            weakref.finalize(app, broker.abandon)
    broker.start()
    return broker


def current_broker(app=None):
    """The app's broker if one was started, without starting one."""
    app = app or current_app._get_current_object()
    return app.extensions.get(BROKER_EXTENSION)


def stop_broker(app, timeout=None):
    """Stop the app's broker, if it has one; waits ``timeout`` seconds for its thread."""
    broker = app.extensions.pop(BROKER_EXTENSION, None)
    if broker is not None:
        broker.stop(timeout)

