"""The per-process cache of the public page and its JSON.

The rendered /status/ and /status/api (body, headers, ETag) are kept until the next event
(the broker drops them; a write in this process drops them at once) or the next moment the
clock alone changes the page: a maintenance window starting or ending, a resolved incident
leaving the page, or (the HTML page's uptime bars) the next midnight of the page's time zone.
While the process's event subscription is down, or not yet up, nothing is
served from the cache: every request renders from the database.

Apart from those, the cache keeps the last render of each key, whatever dropped it since: while
the database cannot be reached (PostgreSQL stopped or restarting), that render is served
rather than an error, and the next render once the database is back replaces it.
"""

import copy
import gzip
import logging
import threading
from datetime import timedelta

from flask import current_app, has_request_context, jsonify, request

from .. import status as rules
from ..db_errors import describe, is_database_unavailable, roll_back_session
from ..events import get_broker, newest_event_id
from ..extensions import db
from ..models import Incident, MaintenanceWindow, utcnow
from ..services.page import page_state, page_with_uptime
from ..services.uptime import next_local_midnight
from .render import render_page

PAGE = "page"
API = "api"
CACHE_EXTENSION = "maintenant.page_cache"

log = logging.getLogger(__name__)

_create_lock = threading.Lock()


class Rendered:
    """One rendered response, and what it was rendered from.

    A body worth compressing is also kept gzipped (compressed once, at render), and answered
    to the clients that accept it, under an ETag of its own.

    Attributes:
        event_id: the newest event id when rendering began: the state includes every event
            up to it (a snapshot resumes from there).
        expires_at: when the clock alone changes what was rendered (None: never).
        stale: whether this is the last render, served while the database cannot be reached
            (events since it may be missing).
    """

    __slots__ = ("body", "headers", "etag", "gzipped", "gzip_headers", "gzip_etag", "event_id",
                 "expires_at", "stale")

    def __init__(self, body, headers, event_id, expires_at):
        self.body = body
        self.headers = with_vary(headers, "Accept-Encoding")
        # The ETag header's value, as sent: what a matching If-None-Match carries back.
        self.etag = header(headers, "ETag")
        self.gzipped = self.gzip_headers = self.gzip_etag = None
        if len(body) >= GZIP_MIN_BYTES and self.etag:
            self.gzipped = gzip.compress(body, GZIP_LEVEL, mtime=0)
            self.gzip_etag = self.etag[:-1] + '-gz"'
            self.gzip_headers = [
                (name, value) for name, value in self.headers
                if name not in ("Content-Length", "ETag")
            ] + [("Content-Encoding", "gzip"), ("ETag", self.gzip_etag)]
        self.event_id = event_id
        self.expires_at = expires_at
        self.stale = False

    def as_stale(self):
        """This render (bodies shared), marked as served while the database is down."""
        entry = copy.copy(self)
        entry.stale = True
        return entry

    def fresh_at(self, now):
        return self.expires_at is None or now < self.expires_at

    def _variant(self):
        """(body, headers, etag) for the current request: gzipped when it accepts gzip."""
        if self.gzipped is not None and has_request_context() and \
                request.accept_encodings["gzip"]:
            return self.gzipped, self.gzip_headers, self.gzip_etag
        return self.body, self.headers, self.etag

    def response(self):
        """A new response with this body and these headers (ETag included)."""
        body, headers, _ = self._variant()
        return current_app.response_class(body, headers=headers)

    def matches(self, if_none_match):
        """Whether a request's If-None-Match names this version (weak comparison, RFC 9110)."""
        etag = self._variant()[2]
        if not if_none_match or etag is None:
            return False
        if if_none_match.strip() == "*":
            return True
        return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))

    def not_modified(self):
        """The 304 for a client that has this version: its validators, no body."""
        headers = [(name, value) for name, value in self._variant()[1]
                   if name in ("ETag", "Cache-Control", "Vary")]
        return current_app.response_class(status=304, headers=headers)


# Bodies from this size up are also kept gzipped (the page with its uptime bars is large and
# very repetitive: it shrinks about tenfold).
GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 6


def header(headers, name):
    return next((value for key, value in headers if key == name), None)


def with_vary(headers, name):
    """``headers`` (a list of pairs) with ``name`` added to its Vary header."""
    vary = header(headers, "Vary")
    if vary and name.lower() in (part.strip().lower() for part in vary.split(",")):
        return list(headers)
    others = [(key, value) for key, value in headers if key != "Vary"]
    return others + [("Vary", f"{vary}, {name}" if vary else name)]


class PageCache:
    """Rendered responses by key, dropped all at once by ``invalidate``.

    A render stores its result only if nothing invalidated the cache since it began
    (``generation``), so a page read before a change can never be kept after it.

    The last render of each key is kept apart (``remember``, ``last``) and never invalidated:
    it is what the page serves while the database cannot be reached.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = {}
        self._last = {}
        # One render per key at a time: after an event, thousands of readers wait for one
        # render instead of each running the queries.
        self._render_locks = {}
        self.generation = 0

    def invalidate(self):
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def get(self, key, now):
        entry = self._entries.get(key)
        return entry if entry is not None and entry.fresh_at(now) else None

    def put(self, key, entry, generation):
        """Keep ``entry`` unless the cache was invalidated since ``generation``."""
        with self._lock:
            if generation != self.generation:
                return False
            self._entries[key] = entry
            return True

    def remember(self, key, entry):
        """Keep ``entry`` as the last render of ``key`` (unless a newer one is kept already)."""
        with self._lock:
            last = self._last.get(key)
            if last is None or entry.event_id >= last.event_id:
                self._last[key] = entry

    def last(self, key):
        """The last render of ``key``, however old; None if it was never rendered."""
        return self._last.get(key)

    def render_lock(self, key):
        with self._lock:
            return self._render_locks.setdefault(key, threading.Lock())


def page_cache(app=None):
    """The app's page cache; it listens to the app's broker for invalidations."""
    app = app or current_app._get_current_object()
    cache = app.extensions.get(CACHE_EXTENSION)
    if cache is not None:
        return cache
    with _create_lock:
        cache = app.extensions.get(CACHE_EXTENSION)
        if cache is None:
            cache = PageCache()
            broker = get_broker(app)
            if broker is not None:
                broker.add_listener(cache.invalidate)
            app.extensions[CACHE_EXTENSION] = cache
    return cache


def next_clock_change(now):
    """When the clock alone next changes the page (None: not before something else does).

    The earliest of: a future start or end of a maintenance window that is not cancelled (any
    window: one beyond the page's list still puts components into maintenance), and the moment
    the oldest resolved incident on the page leaves it.
    """
    window = MaintenanceWindow
    live = window.cancelled.is_(False)
    days = timedelta(days=current_app.config["RESOLVED_INCIDENT_DAYS"])
    row = db.session.execute(db.select(
        db.select(db.func.min(window.starts_at)).where(live, window.starts_at > now)
        .scalar_subquery(),
        db.select(db.func.min(window.ends_at)).where(live, window.ends_at > now)
        .scalar_subquery(),
        db.select(db.func.min(Incident.resolved_at))
        .where(Incident.status == rules.RESOLVED, Incident.resolved_at >= now - days)
        .scalar_subquery(),
    )).one()
    starts, ends, resolved = row
    moments = [starts, ends, resolved + days if resolved is not None else None]
    moments = [moment for moment in moments if moment is not None]
    return min(moments) if moments else None


# While a component is in an outage, today's uptime falls by the minute: the page's bars are
# rendered again at least this often then.
OUTAGE_LIFETIME = timedelta(minutes=5)


def uptime_change(state, now):
    """When the clock alone changes the page's uptime bars: the next midnight of the page's
    time zone (a new day, the oldest one leaves), or sooner while something is in an outage."""
    moment = next_local_midnight(now, state["page"]["timezone"])
    components = [*state["components"], *(c for g in state["groups"] for c in g["components"])]
    if any(c["status"] in (rules.PARTIAL_OUTAGE, rules.MAJOR_OUTAGE) for c in components):
        moment = min(moment, now + OUTAGE_LIFETIME)
    return moment


def render_document(state):
    return jsonify(state)


RENDERERS = {PAGE: render_page, API: render_document}
# Documents that read more (or less) than the page state: kind -> load(now, *args) -> state.
# Their key is the kind, or a tuple (kind, *args) for one with arguments (a badge's component).
LOADERS = {PAGE: page_with_uptime}
# Documents the clock changes continuously (an uptime percentage): kind -> longest time kept.
LIFETIMES = {}


def register(kind, renderer, load=None, lifetime=None):
    """Cache another public document (feeds, badges, API v2) the way the page is cached.

    Args:
        renderer: state -> response.
        load: (now, *args) -> state; the page state when None. It may raise (an unknown
            component): nothing is cached then.
        lifetime: a timedelta after which the document is rendered again even if nothing
            changed (None: only events and the clock's known moments drop it).
    """
    RENDERERS[kind] = renderer
    if load is not None:
        LOADERS[kind] = load
    if lifetime is not None:
        LIFETIMES[kind] = lifetime


def render(key, now=None):
    """Render ``key`` from the database, uncached."""
    now = now or utcnow()
    # "page:fr": the page in one language (the part after ":" picks nothing here: the
    # request being served renders in its own language, which is the one in its key).
    kind, *args = key if isinstance(key, tuple) else (key.partition(":")[0],)
    event_id = newest_event_id()  # before the state: the state then holds at least this much
    state = LOADERS.get(kind, page_state)(now, *args)
    response = RENDERERS[kind](state)
    response.add_etag()
    # no-cache: clients and proxies may keep the page but must revalidate it every time.
    response.headers["Cache-Control"] = "no-cache"
    expires_at = next_clock_change(now)
    if kind in LIFETIMES:
        expires_at = min(filter(None, (expires_at, now + LIFETIMES[kind])))
    if kind == PAGE:
        expires_at = min(filter(None, (expires_at, uptime_change(state, now))))
    return Rendered(response.get_data(), list(response.headers), event_id, expires_at)


def rendered(key):
    """``key`` as ``current_render`` gives it; its last render while the database is down.

    Raises:
        the database's error when it cannot be reached and ``key`` was never rendered.
    """
    try:
        return current_render(key)
    except Exception as error:
        if not is_database_unavailable(error):
            raise
        roll_back_session()
        entry = page_cache().last(key)
        if entry is None:
            raise
        log.warning("database unavailable: serving the last render of %s (%s)", key,
                    describe(error))
        return entry.as_stale()


def current_render(key):
    """``key`` from the cache when it may be used and is fresh; else rendered (and kept)."""
    now = utcnow()
    cache = page_cache()
    broker = get_broker()
    if broker is None or not broker.healthy:
        return render_kept(cache, key, now)
    entry = cache.get(key, now)
    if entry is not None:
        return entry
    with cache.render_lock(key):
        entry = cache.get(key, now)  # rendered by another request while this one waited
        if entry is not None:
            return entry
        generation = cache.generation
        # Read after the generation: a broker going down bumps it, so the render is not kept.
        if not broker.healthy:
            return render_kept(cache, key, now)
        entry = render_kept(cache, key, now)
        cache.put(key, entry, generation)
        return entry


def render_kept(cache, key, now):
    """``render`` remembered as the last render of ``key``, for when the database is down."""
    entry = render(key, now)
    cache.remember(key, entry)
    return entry
