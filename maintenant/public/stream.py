"""GET /status/events: the page's live updates, as server-sent events.

On the wire: first ``retry: 3000`` and a ``: connected`` comment, then the reader's catch-up,
then each event as it happens (``id:``, ``event: status.<kind>``, ``data:`` JSON), with a
``: keepalive`` comment whenever nothing was sent for SSE_KEEPALIVE_SECONDS.

The catch-up:

- ``Last-Event-ID`` (the header an EventSource sends when it reconnects, or
  ``?last_event_id=`` on the first connection) that the replay backlog still covers: the
  events after it, in order.
- anything else (no id, a malformed one, one older than the backlog, one newer than any
  event, or one from before a Redis restart that emptied the backlog): one
  ``status.snapshot`` event whose data is the /status/api document and whose id is the
  newest event id it includes, so the reader resumes from there. A reader without an id
  gets one too: the page it was loaded with may have come from the browser's cache.

The reader is registered with the broker before the backlog is read, and the live events it
already got from the catch-up are skipped, so nothing falls between the two. While the
process's Redis subscription is down a new stream sends no catch-up; it is ended when the
subscription is back, and the reader resumes from its last id. While the database cannot be
reached a new stream ends after its prelude: the reader comes back after ``retry``.
"""

import logging

import redis
from flask import current_app, request

from ..api.errors import error_response
from ..db_errors import describe, is_database_unavailable, roll_back_session
from ..events import END, SNAPSHOT, TooManyStreams, get_broker, newest_event_id, sse_frame
from . import bp
from .cache import API, rendered

log = logging.getLogger(__name__)

RETRY_MS = 3000
PRELUDE = f"retry: {RETRY_MS}\n: connected\n\n".encode("ascii")
KEEPALIVE = b": keepalive\n\n"
# A new reader waits this long for the broker's subscription (it starts with the first reader).
LIVE_WAIT_SECONDS = 2.0
# Event ids are positive integers from the database; anything longer is not one of ours.
MAX_ID_DIGITS = 18


@bp.get("/events")
def events():
    broker = get_broker()
    if broker is None:
        return error_response(503, "Live updates need Redis, and this server has none.")
    try:
        subscription = broker.subscribe(request.remote_addr)
    except TooManyStreams:
        return error_response(429, "Too many open streams from this address.",
                              headers={"Retry-After": str(RETRY_MS // 1000)})
    stream = EventStream(subscription, current_app.config["SSE_KEEPALIVE_SECONDS"])
    try:
        stream.catch_up(last_event_id())
    except BaseException:
        stream.close()
        raise
    response = current_app.response_class(stream, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def last_event_id():
    """The id the reader has seen last, from the header or the query; None when absent or
    not an event id."""
    raw = request.headers.get("Last-Event-ID")
    if raw is None:
        raw = request.args.get("last_event_id")
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_ID_DIGITS:
        return None
    return int(raw)


def replay_after(broker, last_id):
    """The events after ``last_id`` if the backlog covers them; None when it does not."""
    newest = newest_event_id()
    if last_id > newest:
        return None  # not an id of this installation (or of this database)
    try:
        replay = broker.replay(last_id)
    except redis.RedisError:
        return None
    if replay is None and last_id == newest:
        return []  # the backlog is gone (a Redis restart) but nothing happened since
    return replay


class EventStream:
    """The response body of one reader: its catch-up, then the live events, until it ends.

    An iterable with ``close`` (not a generator): the WSGI server closes it when the reader
    goes away, even before the first chunk, and that unregisters it from the broker.
    """

    def __init__(self, subscription, keepalive):
        self.subscription = subscription
        self.keepalive = keepalive
        self._first = PRELUDE
        # Live events the catch-up already covered: ids up to ``_through``, and those replayed.
        self._through = 0
        self._replayed = frozenset()
        self._replayed_max = 0

    def catch_up(self, last_id):
        broker = self.subscription.broker
        broker.wait_until_healthy(LIVE_WAIT_SECONDS)
        if not broker.hold_until_live(self.subscription):
            return  # Redis is down: the broker ends this stream once it is back
        try:
            self._catch_up(broker, last_id)
        except Exception as error:
            if not is_database_unavailable(error):
                raise
            # The database is down: the reader keeps what it shows, and comes back after
            # RETRY_MS with its Last-Event-ID until the catch-up can be read again.
            log.warning("database unavailable: a stream ended after its prelude (%s)",
                        describe(error))
            roll_back_session()
            self.subscription.end()

    def _catch_up(self, broker, last_id):
        replay = replay_after(broker, last_id) if last_id is not None else None
        if replay is not None:
            self._through = last_id
            self._replayed = frozenset(event.id for event in replay)
            self._replayed_max = max(self._replayed, default=0)
            self._first += b"".join(event.frame for event in replay)
            return
        snapshot = rendered(API)
        if snapshot.stale:
            # The last render kept for a database outage: the events since it would not follow.
            self.subscription.end()
            return
        self._through = snapshot.event_id
        self._first += sse_frame(snapshot.event_id, SNAPSHOT, snapshot.body.decode("utf-8"))

    def _seen(self, event):
        if event.id <= self._through or event.id in self._replayed:
            return True
        if event.id > self._replayed_max:
            self._replayed = frozenset()  # past the replay: no more duplicates of it
        return False

    def __iter__(self):
        return self

    def __next__(self):
        if self._first is not None:
            chunk, self._first = self._first, None
            return chunk
        while True:
            event = self.subscription.get(self.keepalive)
            if event is END:
                self.close()
                raise StopIteration
            if event is None:
                return KEEPALIVE
            if not self._seen(event):
                return event.frame

    def close(self):
        self.subscription.cancel()
