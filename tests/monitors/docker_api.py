"""A fake Docker engine: the Engine API endpoints the ``docker`` SDK calls, on a unix socket.

No Docker engine runs on the test machines, so tests serve the part of the API that
container discovery uses and let the real SDK talk to it:

    GET/HEAD /_ping                        "OK"
    GET      /version, /v1.NN/version      ApiVersion and friends (the SDK's version check)
    GET      /v1.NN/containers/json        the summaries (?all=1 for stopped ones too)
    GET      /v1.NN/containers/{id}/json   one container's inspect document, by id, id prefix
                                           or name; 404 {"message": "No such container: x"}

Any ``/v1.NN/`` prefix up to the fake's API version is accepted, as is no prefix. The
containers are mutable while the server runs (``add``, ``set_state``, ``set_health``,
``remove``), the engine can be made slow (``delay``), failing (``error``) or stopped and
started again at the same address. Use the ``fake_docker`` (or ``fake_docker_host``, which
also sets DOCKER_HOST) fixture by importing it into a test module, or the class as a context
manager; ``url`` is a real socket, so processes the test starts can use it too.
"""

import hashlib
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import socketserver
import tempfile
import threading
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

ZERO_TIME = "0001-01-01T00:00:00Z"
STATES = ("running", "restarting", "paused", "exited", "dead", "created", "removing")
HEALTH_STATES = ("starting", "healthy", "unhealthy")
# Docker 27's API; from 1.52 the summaries carry a Health field too.
DEFAULT_API_VERSION = "1.47"
MIN_API_VERSION = "1.24"
_VERSIONED_PATH = re.compile(r"^/v(\d+\.\d+)(/.*)$")
_INSPECT_PATH = re.compile(r"^/containers/([^/]+)/json$")


class FakeDockerEngine:
    """A fake Docker engine serving its containers over a unix socket in a temp dir.

    Attributes:
        url: the address to hand to the SDK or DOCKER_HOST ("unix:///tmp/.../docker.sock").
        api_version: the API version the fake speaks ("1.47"; "1.52" adds summary Health).
        requests: (method, path) of every request served, for tests that count calls.
        delay: seconds to wait before answering each request (0: at once).
        error: None, or (status, message) to answer every containers request with.
    """

    def __init__(self, api_version=DEFAULT_API_VERSION):
        self.api_version = api_version
        self.requests = []
        self.delay = 0
        self.error = None
        # Short on purpose: a unix socket path must fit in 108 bytes.
        self._dir = tempfile.mkdtemp(prefix="fake-docker-")
        self.socket_path = os.path.join(self._dir, "docker.sock")
        self.url = f"unix://{self.socket_path}"
        self._containers = {}  # id -> _Container, in creation order
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self):
        """Listen on ``socket_path`` (again, after ``stop``)."""
        if self._server is not None:
            return self
        server = _UnixHTTPServer(self.socket_path, _Handler)
        server.engine = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop answering and remove the socket, as an engine that went away."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        self._thread.join(timeout=5)
        self._server = self._thread = None
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)

    def close(self):
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()

    # -- the containers ----------------------------------------------------------------

    def add(self, name, state="running", health=None, image="nginx:1.27", exit_code=None,
            extra_names=()):
        """Create a container and put it in ``state``; returns its id.

        Args:
            health: None for no healthcheck, else starting | healthy | unhealthy.
            exit_code: for exited, dead and restarting containers (default 0, 0, 1).
            extra_names: more names, as legacy links add ("/web/db" for "db"); listed first.
        """
        container = _Container(name, image, healthcheck=health is not None,
                               extra_names=extra_names)
        with self._lock:
            if any(c.name == container.name for c in self._containers.values()):
                raise ValueError(f"a container named {name!r} already exists")
            container.set_state(state, exit_code)
            container.health = health
            self._containers[container.id] = container
        return container.id

    def set_state(self, name, state, exit_code=None, health=None):
        """Move a container to ``state``, as docker start/stop/kill/pause/... would.

        Starting a container with a healthcheck resets its health to "starting", stopping
        it leaves "unhealthy", as dockerd does; ``health`` sets it afterwards.
        """
        with self._lock:
            container = self._get(name)
            container.set_state(state, exit_code)
            if health is not None:
                container.set_health(health)

    def set_health(self, name, health):
        """Set a container's health (starting | healthy | unhealthy), or None to drop its
        healthcheck altogether."""
        with self._lock:
            self._get(name).set_health(health)

    def remove(self, name):
        """Remove a container (docker rm)."""
        with self._lock:
            del self._containers[self._get(name).id]

    def container(self, name):
        """The inspect document of a container, as the engine would answer it."""
        with self._lock:
            return self._get(name).inspect()

    def names(self):
        with self._lock:
            return [container.name for container in self._containers.values()]

    def _find(self, ref):
        """A container by full id, name (with or without "/") or unique id prefix."""
        ref = ref.lstrip("/")
        if ref in self._containers:
            return self._containers[ref]
        for container in self._containers.values():
            if container.name == ref:
                return container
        matches = [c for c in self._containers.values() if ref and c.id.startswith(ref)]
        return matches[0] if len(matches) == 1 else None

    def _get(self, name):
        container = self._find(name)
        if container is None:
            raise KeyError(f"no container {name!r}")
        return container

    # -- the API -----------------------------------------------------------------------

    def handle(self, method, target):
        """Answer one request: (status, content type, body bytes, extra headers)."""
        self.requests.append((method, target))
        if self.delay:
            time.sleep(self.delay)
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        match = _VERSIONED_PATH.match(path)
        if match:
            version, path = match.groups()
            if _version_key(version) > _version_key(self.api_version):
                return self._json(400, {"message": (
                    f"client version {version} is too new. Maximum supported API "
                    f"version is {self.api_version}")})
            if _version_key(version) < _version_key(MIN_API_VERSION):
                return self._json(400, {"message": (
                    f"client version {version} is too old. Minimum supported API "
                    f"version is {MIN_API_VERSION}, please upgrade your client to a "
                    f"newer version")})
        if path == "/_ping" and method in ("GET", "HEAD"):
            return 200, "text/plain; charset=utf-8", b"OK", {
                "Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}
        if method != "GET":
            return self._json(404, {"message": "page not found"})
        if path == "/version":
            return self._json(200, self._version())
        if path.startswith("/containers/") and self.error is not None:
            status, message = self.error
            return self._json(status, {"message": message})
        if path == "/containers/json":
            show_all = query.get("all", ["0"])[0].lower() in ("1", "true")
            with self._lock:
                summaries = [
                    container.summary(with_health=self._summary_has_health())
                    for container in reversed(list(self._containers.values()))
                    if show_all or container.running
                ]
            return self._json(200, summaries)
        match = _INSPECT_PATH.match(path)
        if match:
            with self._lock:
                container = self._find(match.group(1))
                document = container.inspect() if container is not None else None
            if document is None:
                return self._json(404, {"message": f"No such container: {match.group(1)}"})
            return self._json(200, document)
        return self._json(404, {"message": "page not found"})

    def _summary_has_health(self):
        return _version_key(self.api_version) >= (1, 52)

    def _version(self):
        return {
            "Platform": {"Name": "Docker Engine - Community"},
            "Version": "27.3.1",
            "ApiVersion": self.api_version,
            "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "41ca978",
            "GoVersion": "go1.22.7",
            "Os": "linux",
            "Arch": "amd64",
            "KernelVersion": "6.8.0-fake",
            "BuildTime": "2024-09-20T11:41:11.000000000+00:00",
        }

    def _json(self, status, document):
        return status, "application/json", json.dumps(document).encode() + b"\n", {}


@pytest.fixture
def fake_docker():
    """A running fake Docker engine, stopped and removed after the test."""
    with FakeDockerEngine() as engine:
        yield engine


@pytest.fixture
def fake_docker_host(fake_docker, monkeypatch):
    """The fake engine, named by DOCKER_HOST for the test (and the processes it starts)."""
    monkeypatch.setenv("DOCKER_HOST", fake_docker.url)
    return fake_docker


class _Container:
    """One fake container's facts, turned into the engine's JSON shapes on demand."""

    def __init__(self, name, image, healthcheck, extra_names=()):
        self.id = secrets.token_hex(32)
        self.name = name.lstrip("/")
        self.extra_names = [f"/{extra.lstrip('/')}" for extra in extra_names]
        self.image = image
        self.image_id = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
        self.created = datetime.now(timezone.utc)
        self.healthcheck = healthcheck
        self.health = None
        self.status = "created"
        self.exit_code = 0
        self.started_at = None
        self.finished_at = None
        self.restart_count = 0

    @property
    def running(self):
        return self.status in ("running", "paused", "restarting")

    def set_state(self, state, exit_code=None):
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
        now = datetime.now(timezone.utc)
        if state == "running" and self.status != "paused":
            if self.status in ("running", "restarting"):
                self.restart_count += 1
            self.started_at = now
            self.exit_code = 0
            if self.healthcheck:
                self.health = "starting"
        elif state in ("exited", "dead", "restarting"):
            if self.started_at is None:
                self.started_at = now
            self.finished_at = now
            self.exit_code = exit_code if exit_code is not None else int(state == "restarting")
            if self.healthcheck:
                self.health = "unhealthy"
        elif state == "created":
            self.started_at = self.finished_at = None
            self.exit_code = 0
        elif state == "paused" and self.started_at is None:
            self.started_at = now
        self.status = state

    def set_health(self, health):
        if health is not None and health not in HEALTH_STATES:
            raise ValueError(f"unknown health {health!r}; one of {', '.join(HEALTH_STATES)}")
        self.healthcheck = health is not None
        self.health = health

    def summary(self, with_health):
        """The GET /containers/json entry."""
        document = {
            "Id": self.id,
            "Names": self.extra_names + [f"/{self.name}"],
            "Image": self.image,
            "ImageID": self.image_id,
            "Command": "/docker-entrypoint.sh",
            "Created": int(self.created.timestamp()),
            "Ports": [],
            "Labels": {},
            "State": self.status,
            "Status": self.status_text(),
            "HostConfig": {"NetworkMode": "bridge"},
            "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "f" * 64}}},
            "Mounts": [],
        }
        if with_health:
            running = self.status == "running"
            document["Health"] = {
                "Status": self.health if self.healthcheck and running else "none",
                "FailingStreak": 3 if self.health == "unhealthy" else 0,
            }
        return document

    def status_text(self):
        """The human status dockerd shows in ``docker ps`` (container/state.go)."""
        now = datetime.now(timezone.utc)
        if self.status == "paused":
            return f"Up {_human_duration(now - self.started_at)} (Paused)"
        if self.status == "restarting":
            return f"Restarting ({self.exit_code}) {_human_duration(now - self.finished_at)} ago"
        if self.status == "running":
            text = f"Up {_human_duration(now - self.started_at)}"
            if self.healthcheck:
                text += " (health: starting)" if self.health == "starting" else f" ({self.health})"
            return text
        if self.status == "removing":
            return "Removal In Progress"
        if self.status == "dead":
            return "Dead"
        if self.status == "created":
            return "Created"
        return f"Exited ({self.exit_code}) {_human_duration(now - self.finished_at)} ago"

    def inspect(self):
        """The GET /containers/{id}/json document (the parts anyone reads)."""
        state = {
            "Status": self.status,
            "Running": self.running,
            "Paused": self.status == "paused",
            "Restarting": self.status == "restarting",
            "OOMKilled": False,
            "Dead": self.status == "dead",
            "Pid": 4242 if self.running else 0,
            "ExitCode": self.exit_code,
            "Error": "",
            "StartedAt": _engine_time(self.started_at),
            "FinishedAt": _engine_time(self.finished_at),
        }
        config = {
            "Hostname": self.id[:12],
            "Image": self.image,
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["nginx", "-g", "daemon off;"],
            "Labels": {},
        }
        if self.healthcheck:
            state["Health"] = {
                "Status": self.health,
                "FailingStreak": 3 if self.health == "unhealthy" else 0,
                "Log": [],
            }
            config["Healthcheck"] = {"Test": ["CMD-SHELL", "curl -f http://localhost/"]}
        return {
            "Id": self.id,
            "Created": _engine_time(self.created),
            "Path": "/docker-entrypoint.sh",
            "Args": ["nginx", "-g", "daemon off;"],
            "State": state,
            "Image": self.image_id,
            "Name": f"/{self.name}",
            "RestartCount": self.restart_count,
            "Driver": "overlay2",
            "Platform": "linux",
            "HostConfig": {"NetworkMode": "bridge", "RestartPolicy": {"Name": "no"}},
            "Config": config,
            "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "f" * 64}}},
            "Mounts": [],
        }


class _UnixHTTPServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, *args, **kwargs):
        self.connections = set()
        super().__init__(*args, **kwargs)

    def server_bind(self):
        if os.path.exists(self.server_address):
            os.unlink(self.server_address)
        super().server_bind()

    def drop_connections(self):
        """Close kept-alive connections too: a stopped engine answers nobody."""
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is not the test's failure


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects

    def version_string(self):
        return "Docker/27.3.1 (linux)"

    def setup(self):
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self):
        self.server.connections.discard(self.connection)
        super().finish()

    def do_GET(self):
        self._answer(with_body=True)

    def do_HEAD(self):
        self._answer(with_body=False)

    def do_POST(self):
        self._answer(with_body=True)

    def _answer(self, with_body):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        engine = self.server.engine
        status, content_type, body, headers = engine.handle(self.command, self.path)
        self.send_response(status)
        self.send_header("Api-Version", engine.api_version)
        self.send_header("Docker-Experimental", "false")
        self.send_header("Ostype", "linux")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def address_string(self):
        return "unix-socket"  # a unix peer has no address; the default would crash

    def log_message(self, format, *args):
        pass  # engine.requests records what was asked


def _engine_time(moment):
    """RFC 3339 with nanoseconds, as dockerd writes times; the zero time for None."""
    if moment is None:
        return ZERO_TIME
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}123Z"


def _human_duration(delta):
    """go-units HumanDuration, which words docker ps's "Up 5 minutes"."""
    seconds = int(delta.total_seconds())
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{hours // (24 * 365)} years"


def _version_key(version):
    return tuple(int(part) for part in version.split("."))
