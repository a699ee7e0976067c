"""Endpoint monitors: check an HTTP(S) URL or a TCP port and say up, down or degraded.

`probe_endpoint` is a pure function of its arguments (no database, no app context) and is
safe to call from many threads at once. Every check opens new connections: a fresh
connection pool per check and `Connection: close` on every request, so a server that stops
accepting new connections is seen at the next check instead of hiding behind a kept-alive
socket. The costly part of a pool, the TLS context with its loaded trust store, is built once
per (verify, CA file) and shared.

The timeout is a deadline for the whole check, redirects included: each name lookup,
connect and TLS handshake gets what is left of it, and once connected, a watcher thread
shuts down the sockets of any check still running at its deadline, so a server that trickles
its headers or body a byte at a time cannot hold a check past it. The system resolver cannot
be interrupted, so names are looked up on a few threads of their own (see `resolve`): a check
stops waiting at its deadline ("name lookup timed out after 10 s"), then connects to the
address found, while the Host header, SNI and the certificate's hostname check keep the name.
"""

from __future__ import annotations

import codecs
import collections
import errno
import heapq
import http.client
import ipaddress
import itertools
import os
import socket
import ssl
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    LocationValueError,
    NameResolutionError,
    NewConnectionError,
    ResponseError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import Retry, Timeout

from maintenant.monitors.base import ProbeResult

UP = "up"
DOWN = "down"
DEGRADED = "degraded"
STATES = (UP, DOWN, DEGRADED)

DEFAULT_EXPECTED_STATUSES = "200-399"
BODY_LIMIT = 1024 * 1024  # bytes of body searched for the keyword
MAX_REDIRECTS = 10
USER_AGENT = "maintenant-probe/0.1"
SCHEMES = ("http", "https", "tcp")
# Threads looking up names at once, for all the checks of a process (see _Resolver).
RESOLVER_THREADS = 32


def probe_endpoint(target, method="GET", headers=None, follow_redirects=True,
                   verify_tls=True, expected_statuses=DEFAULT_EXPECTED_STATUSES, keyword=None,
                   timeout=10.0, latency_threshold_ms=None, ca_certs=None):
    """Check one endpoint once.

    Args:
        target: an `http://` or `https://` URL, or `tcp://host:port`.
        method: the HTTP method (HEAD, GET, POST...). Ignored for tcp.
        headers: extra request headers, e.g. {"Authorization": "Bearer ..."}.
        follow_redirects: follow up to MAX_REDIRECTS redirects; when false a 3xx answer is
            judged by `expected_statuses` like any other.
        verify_tls: verify the server's certificate chain and hostname.
        expected_statuses: text like "200-399" or "200,204,301-302", or the tuple
            `parse_status_ranges` returns.
        keyword: text that must appear in the first BODY_LIMIT bytes of the body
            (case-sensitive).
        timeout: seconds for the whole check, redirects and body included.
        latency_threshold_ms: a check that passes but takes longer is "degraded".
        ca_certs: a PEM file of CAs to trust instead of the system's (tests, private CAs).

    Returns:
        ProbeResult with state up | down | degraded. latency_ms is set whenever the server
        answered; details holds `status_code` and, after redirects, the final `url`.
    """
    try:
        scheme, host, port = parse_target(target)
        statuses = expected_statuses if isinstance(expected_statuses, tuple) \
            else parse_status_ranges(expected_statuses)
    except ValueError as exc:
        return ProbeResult(DOWN, error=str(exc))
    if scheme == "tcp":
        result = _probe_tcp(host, port, timeout)
    else:
        result = _probe_http(target, method, headers, follow_redirects, verify_tls, statuses,
                             keyword, timeout, ca_certs)
    return _judge_latency(result, latency_threshold_ms)


def parse_target(target):
    """Split an endpoint target into (scheme, host, port); ValueError says what is wrong.

    The API calls this to validate a target before saving it.
    """
    if not isinstance(target, str) or not target.strip():
        raise ValueError("target must be an http://, https:// or tcp://host:port address")
    try:
        parts = urlsplit(target.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"target is not a valid address: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError("target must start with http://, https:// or tcp://")
    if not parts.hostname:
        raise ValueError("target has no host name")
    if scheme == "tcp":
        if port is None:
            raise ValueError("a tcp target needs a port, e.g. tcp://db.example.com:5432")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("a tcp target is only tcp://host:port")
    elif port is None:
        port = 443 if scheme == "https" else 80
    if port == 0:
        raise ValueError("target port must be between 1 and 65535")
    return scheme, parts.hostname, port


def parse_status_ranges(text):
    """Parse expected status codes: "200-399" or "200,204,301-302".

    Returns:
        A tuple of inclusive (low, high) pairs, e.g. ((200, 200), (301, 302)).

    Raises:
        ValueError: with a message fit to show an operator.
    """
    if not isinstance(text, str):
        raise ValueError("expected status codes must be text like 200-399 or 200,204")
    return _parse_status_ranges(text)


@lru_cache(maxsize=256)
def _parse_status_ranges(text):
    parts = [part.strip() for part in text.split(",")]
    if parts == [""]:
        raise ValueError("expected status codes are empty: give codes like 200-399 or 200,204")
    ranges = []
    for part in parts:
        low, dash, high = part.partition("-")
        low, high = low.strip(), (high.strip() if dash else low.strip())
        if not (_is_status_code(low) and _is_status_code(high)):
            raise ValueError(
                f"{part!r} is not a status code or a range like 200-399 (codes are 100 to 599)")
        low, high = int(low), int(high)
        if low > high:
            raise ValueError(f"the range {part!r} ends before it starts")
        ranges.append((low, high))
    return tuple(ranges)


def _is_status_code(text):
    return len(text) == 3 and text.isascii() and text.isdigit() and 100 <= int(text) <= 599


def status_expected(status, ranges):
    """True when `status` falls in one of the (low, high) `ranges`."""
    return any(low <= status <= high for low, high in ranges)


def describe_error(exc, timeout=None):
    """Say what went wrong with a connection, in plain words ("connection refused")."""
    causes = list(_causes(exc))
    for matches, words in _ERROR_WORDS:
        for cause in causes:
            if matches(cause):
                return words(cause, timeout)
    return str(exc) or type(exc).__name__


def timed_out(timeout):
    """The error for a check cut off by its timeout: "timed out after 10 s"."""
    if timeout is None:
        return "timed out"
    return f"timed out after {timeout:g} s"


def open_connection(host, port, timeout, socket_options=()):
    """Open a TCP connection within `timeout` seconds in all, name lookup included, trying
    each address in turn.

    socket.create_connection leaves the lookup to the resolver's own timeout and gives every
    address the full timeout; this shares one deadline between them all.

    Raises:
        NameLookupTimeout: the name was not looked up in time.
        OSError: as socket.create_connection (socket.gaierror: the name does not resolve).
    """
    deadline = time.monotonic() + timeout
    error = None
    for family, kind, proto, _, address in resolve(host, port, timeout):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(timed_out(timeout))
        sock = None
        try:
            sock = socket.socket(family, kind, proto)
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(remaining)
            sock.connect(address)
            return sock
        except OSError as exc:
            if sock is not None:
                sock.close()
            error = exc
    raise error or OSError(f"no address for {host}")


class NameLookupTimeout(TimeoutError):
    """A name lookup that did not end within what was left of its check."""


def resolve(host, port, timeout):
    """The addresses (getaddrinfo's tuples) of `host` for a TCP connection to `port`,
    looked up within `timeout` seconds.

    Raises:
        socket.gaierror: the name does not resolve.
        NameLookupTimeout: the lookup did not end in time.
    """
    if _is_ip_address(host):  # nothing to look up: no need for a thread
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                  flags=socket.AI_NUMERICHOST)
    return _resolver.resolve(host, port, timeout)


def _is_ip_address(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Lookup:
    __slots__ = ("key", "deadline", "future")

    def __init__(self, key, deadline):
        self.key = key
        self.deadline = deadline  # the latest deadline of the checks waiting for it
        self.future = Future()


class _Resolver:
    """Name lookups on up to RESOLVER_THREADS daemon threads, waited for with a timeout.

    getaddrinfo cannot be interrupted: a lookup the system resolver is stuck on holds its
    thread until the resolver gives up. Here it holds one of these threads, not the check's:
    the check stops waiting at its deadline. Checks that look up the same name at once share
    one lookup, so a name that hangs takes one thread however many monitors use it; a lookup
    every waiting check has given up on is dropped before it starts. The threads are daemons,
    so a stuck lookup never holds up the worker's exit.
    """

    def __init__(self, threads=RESOLVER_THREADS):
        self.max_threads = threads
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue = collections.deque()
        self._lookups = {}  # (host, port) -> _Lookup, queued or running
        self._threads = 0
        self._idle = 0  # threads waiting for work that no lookup was handed to yet

    def resolve(self, host, port, timeout):
        deadline = time.monotonic() + timeout
        key = (host, port)
        with self._lock:
            lookup = self._lookups.get(key)
            if lookup is not None:
                lookup.deadline = max(lookup.deadline, deadline)
            else:
                lookup = self._lookups[key] = _Lookup(key, deadline)
                self._queue.append(lookup)
                if self._idle:
                    self._idle -= 1
                    self._wake.notify()
                elif self._threads < self.max_threads:
                    self._threads += 1
                    threading.Thread(target=self._work, name="probe-resolver",
                                     daemon=True).start()
        try:
            return lookup.future.result(max(timeout, 0))
        except FutureTimeout:
            raise NameLookupTimeout(f"name lookup of {host} timed out") from None

    def _work(self):
        while True:
            lookup = self._next()
            try:
                addresses = socket.getaddrinfo(*lookup.key, type=socket.SOCK_STREAM)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting checks
                self._finish(lookup)
                lookup.future.set_exception(exc)
            else:
                self._finish(lookup)
                lookup.future.set_result(addresses)

    def _next(self):
        """The next lookup someone still waits for (blocks until there is one)."""
        with self._lock:
            while True:
                while not self._queue:
                    self._idle += 1
                    self._wake.wait()  # whoever wakes us took us off _idle
                lookup = self._queue.popleft()
                if lookup.deadline > time.monotonic():
                    return lookup
                del self._lookups[lookup.key]
                lookup.future.set_exception(NameLookupTimeout("nobody waits for it any more"))

    def _finish(self, lookup):
        # Forgotten before its result is out: a check starting now looks the name up again
        # (results are not cached here; the system resolver may cache them).
        with self._lock:
            del self._lookups[lookup.key]


_resolver = _Resolver()


# --- TCP -----------------------------------------------------------------------------------

def _probe_tcp(host, port, timeout):
    started = time.perf_counter()
    try:
        sock = open_connection(host, port, timeout)
    except OSError as exc:
        return ProbeResult(DOWN, error=describe_error(exc, timeout))
    latency_ms = (time.perf_counter() - started) * 1000
    sock.close()
    return ProbeResult(UP, latency_ms=latency_ms)


# --- HTTP ----------------------------------------------------------------------------------

def _probe_http(url, method, headers, follow_redirects, verify_tls, statuses, keyword,
                timeout, ca_certs):
    check = _Check(timeout)
    manager = _CheckPoolManager(
        check,
        num_pools=MAX_REDIRECTS + 1,
        maxsize=1,
        ssl_context=_tls_context(bool(verify_tls), ca_certs),
        timeout=Timeout(connect=timeout, read=timeout),
        retries=Retry(total=None, connect=0, read=0, other=0, status=0,
                      redirect=MAX_REDIRECTS if follow_redirects else 0,
                      raise_on_redirect=True, raise_on_status=False),
    )
    response = None
    started = time.perf_counter()
    try:
        response = manager.request(method.upper(), url, headers=_request_headers(headers),
                                   redirect=bool(follow_redirects), preload_content=False)
        details = {"status_code": response.status}
        if response.retries is not None and response.retries.history:
            details["url"] = _final_url(url, response.retries.history)
        if not status_expected(response.status, statuses):
            return ProbeResult(DOWN, _elapsed_ms(started), f"HTTP {response.status}", details)
        if keyword:
            found = _body_contains(response, keyword, check)
            if not found and check.cut_off:
                return ProbeResult(DOWN, error=timed_out(timeout), details=details)
            if not found:
                return ProbeResult(DOWN, _elapsed_ms(started), f'keyword "{keyword}" not found',
                                   details)
        return ProbeResult(UP, _elapsed_ms(started), None, details)
    except Exception as exc:  # noqa: BLE001 - a probe reports every failure, never raises
        error = timed_out(timeout) if check.cut_off else describe_error(exc, timeout)
        return ProbeResult(DOWN, error=error)
    finally:
        check.done = True
        if response is not None:
            response.close()
            response.release_conn()
        manager.clear()


def _final_url(url, history):
    for step in history:
        if step.redirect_location:
            url = urljoin(url, step.redirect_location)
    return url


def _request_headers(headers):
    request_headers = urllib3.HTTPHeaderDict({"User-Agent": USER_AGENT})
    request_headers.update(headers or {})
    # A new connection per check: see the module docstring.
    request_headers["Connection"] = "close"
    return request_headers


def _body_contains(response, keyword, check):
    """Read up to BODY_LIMIT bytes of the body, stopping as soon as the keyword shows."""
    needles = _encodings_of(keyword, response.headers.get("Content-Type", ""))
    overlap = max(len(needle) for needle in needles) - 1
    body = bytearray()
    while len(body) < BODY_LIMIT and not check.cut_off:
        try:
            chunk = response.read1(min(64 * 1024, BODY_LIMIT - len(body)))
        except Exception:  # noqa: BLE001 - a read cut off at the deadline is a timeout
            if check.cut_off:
                return False
            raise
        if not chunk:
            break
        start = max(0, len(body) - overlap)
        body += chunk
        if any(body.find(needle, start) != -1 for needle in needles):
            return True
    return False


def _encodings_of(keyword, content_type):
    """The keyword as bytes in UTF-8 and, when the response declares another, its charset."""
    needles = {keyword.encode("utf-8")}
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            try:
                codecs.lookup(value.strip().strip('"'))
                needles.add(keyword.encode(value.strip().strip('"')))
            except (LookupError, UnicodeError):
                pass
    return needles


def _judge_latency(result, latency_threshold_ms):
    if result.state != UP or latency_threshold_ms is None or result.latency_ms is None:
        return result
    if result.latency_ms <= latency_threshold_ms:
        return result
    return replace(result, state=DEGRADED, error=(
        f"slow: answered in {result.latency_ms:.0f} ms, over the {latency_threshold_ms:g} ms "
        "threshold"))


def _elapsed_ms(started):
    return (time.perf_counter() - started) * 1000


_TLS_LOCK = threading.Lock()


def _tls_context(verify, ca_certs):
    """One TLS context per (verify, CA file), built once even when 100 threads ask at once."""
    with _TLS_LOCK:
        return _build_tls_context(verify, ca_certs)


@lru_cache(maxsize=32)
def _build_tls_context(verify, ca_certs):
    """Loading a trust store costs about 0.1 s of CPU: done once per (verify, CA file)."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_certs)


# --- The deadline of a check ---------------------------------------------------------------

class _Check:
    """The deadline of one HTTP check, shared by all the connections it opens."""

    __slots__ = ("timeout", "deadline", "done", "cut_off")

    def __init__(self, timeout):
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.done = False
        self.cut_off = False

    def remaining(self):
        return self.deadline - time.monotonic()


class _Cutoff:
    """One thread that shuts down the sockets of checks still running at their deadline.

    A socket timeout bounds each read, not the whole check. Shutting the socket down from
    outside wakes a blocked read at once, and the check reports a timeout. The socket
    stays open (its owner closes it), so its descriptor cannot be reused under it.
    """

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._heap = []
        self._order = itertools.count()
        self._thread = None

    def watch(self, check, sock):
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="probe-cutoff",
                                                daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (check.deadline, next(self._order), check, sock))
            if self._heap[0][2] is check:
                self._wake.notify()

    def _run(self):
        with self._lock:
            while True:
                if not self._heap:
                    self._wake.wait()
                    continue
                deadline, _, check, sock = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
                if not check.done:
                    check.cut_off = True
                    try:
                        # The plain socket's shutdown, also for a TLS socket: it must not
                        # touch the TLS state the checking thread is using.
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
                    except OSError:
                        pass


_cutoff = _Cutoff()


class _WatchedHTTPConnection(HTTPConnection):
    """A connection that connects within what is left of its check and is then watched."""

    def __init__(self, *args, check, **kwargs):
        super().__init__(*args, **kwargs)
        self.check = check

    def _new_conn(self):
        """urllib3's _new_conn, with the name looked up by `resolve` within the deadline.

        Only the socket goes to the address found: urllib3 still sends the Host header,
        asks for the server name (SNI) and verifies the certificate against `self.host`.
        """
        remaining = self.check.remaining()
        if remaining <= 0:
            self.check.cut_off = True
            raise ConnectTimeoutError(self, "the check's deadline passed")
        if not isinstance(self.timeout, (int, float)) or self.timeout > remaining:
            self.timeout = remaining
        host = self._dns_host.strip("[]")
        try:
            host.encode("idna")
        except UnicodeError:
            raise LocationParseError(f"'{host}', label empty or too long") from None
        try:
            sock = open_connection(host, self.port, self.timeout, self.socket_options)
        except NameLookupTimeout as exc:
            raise ConnectTimeoutError(self, f"name lookup of {self.host} timed out") from exc
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"connection to {self.host} timed out (connect timeout={self.timeout})"
            ) from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") \
                from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock

    def connect(self):
        super().connect()
        _cutoff.watch(self.check, self.sock)

    @property
    def is_connected(self):
        # One request per connection, even when a server keeps it open after answering
        # `Connection: close`: a redirect to the same host makes a new connection.
        return False


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _validate_conn(self, conn):
        # Connect early as urllib3 does, without its InsecureRequestWarning: verify_tls=False
        # is the operator's choice, and a warning per check would flood the worker's log.
        if conn.is_closed:
            conn.connect()


class _CheckPoolManager(urllib3.PoolManager):
    """A pool manager for one check: its connections carry the check's deadline."""

    def __init__(self, check, **kwargs):
        super().__init__(**kwargs)
        self.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
        self.check = check

    def _new_pool(self, scheme, host, port, request_context=None):
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.conn_kw["check"] = self.check
        return pool


# --- Error wording -------------------------------------------------------------------------

def _causes(exc):
    """The exception, its reasons, causes and contexts, breadth first."""
    seen = set()
    queue = [exc]
    while queue:
        current = queue.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        queue.extend(arg for arg in (getattr(current, "reason", None), current.__cause__,
                                     current.__context__, *current.args)
                     if isinstance(arg, BaseException))


def _ssl_words(exc):
    """The readable part of an ssl error: "wrong version number"."""
    text = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else str(exc)
    if text.startswith("[") and "] " in text:
        text = text.split("] ", 1)[1]
    if " (_ssl.c:" in text:
        text = text.split(" (_ssl.c:", 1)[0]
    return text or (exc.reason or "").lower().replace("_", " ") or type(exc).__name__


def _is_timeout(exc):
    return isinstance(exc, (TimeoutError, Urllib3Timeout)) \
        and not isinstance(exc, NewConnectionError)


def _is_name_error(exc):
    return isinstance(exc, (socket.gaierror, NameResolutionError))


def _name_words(exc, _timeout):
    if isinstance(exc, socket.gaierror) and exc.errno not in (
            socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
        return f"name lookup failed: {exc.strerror or exc}"
    return "name does not resolve"


def _errno_is(*codes):
    return lambda exc: isinstance(exc, OSError) and exc.errno in codes


_ERROR_WORDS = (
    (lambda exc: isinstance(exc, ssl.SSLCertVerificationError),
     lambda exc, _: f"TLS certificate verify failed: {exc.verify_message or _ssl_words(exc)}"),
    (lambda exc: isinstance(exc, ssl.CertificateError) and not isinstance(exc, ssl.SSLError),
     lambda exc, _: f"TLS certificate verify failed: {exc}"),
    (lambda exc: isinstance(exc, ConnectionRefusedError),
     lambda exc, _: "connection refused"),
    (lambda exc: isinstance(exc, NameLookupTimeout),
     lambda exc, timeout: "name lookup " + timed_out(timeout)),
    (_is_timeout, lambda exc, timeout: timed_out(timeout)),
    (_is_name_error, _name_words),
    (lambda exc: isinstance(exc, ConnectionResetError),
     lambda exc, _: "connection reset"),
    (lambda exc: isinstance(exc, ResponseError) and "redirect" in str(exc),
     lambda exc, _: "too many redirects"),
    (lambda exc: isinstance(exc, ssl.SSLError),
     lambda exc, _: f"TLS handshake failed: {_ssl_words(exc)}"),
    (lambda exc: isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError,
                                  ConnectionAbortedError, http.client.IncompleteRead)),
     lambda exc, _: "connection closed by the server"),
    (lambda exc: isinstance(exc, http.client.HTTPException),
     lambda exc, _: f"not an HTTP answer: {str(exc).strip()[:80]!r}"),
    (_errno_is(errno.ENETUNREACH), lambda exc, _: "network unreachable"),
    (_errno_is(errno.EHOSTUNREACH), lambda exc, _: "host unreachable"),
    (lambda exc: isinstance(exc, LocationValueError),
     lambda exc, _: f"invalid URL: {exc}"),
    (lambda exc: isinstance(exc, OSError) and exc.strerror,
     lambda exc, _: exc.strerror[0].lower() + exc.strerror[1:]),
)
