"""Container monitors: discover the containers of a Docker engine and read their states.

Discovery lists every container with ONE ``GET /containers/json?all=1`` request. That
summary already carries what the status rules need (name, id, image, state, and the health
of a container with a healthcheck: the ``Health`` field from API 1.52, the "(healthy)" in
the status text before), and the engine answers it from its in-memory view without taking
each container's lock. The SDK's ``containers.list()`` instead inspects every container
one request at a time: hundreds of requests every 30 s, any of which can block on a busy
container and one of which fails the whole list when a container goes away meanwhile.
So only the containers a caller asks about are inspected, for their exact start and finish
times and exit code (e.g. the ones whose state just changed, to explain the transition).

State and condition. The API reports a container as Docker does: its ``status`` (running,
restarting, paused, exited, dead, created; removed once it is gone) and, beside it, its
``health`` when it has a healthcheck. The state machine, the alerts, the hourly history and
the status rules all work on one string per monitor, and a health flip must move all of
them (a transition, an alert, degraded time, a degraded component). So that string, the
monitor's *condition*, is the Docker state, except ``unhealthy`` for a running container
failing its healthcheck; it is what the monitor's ``status`` column stores and what
transitions and alerts name ("api is unhealthy (was running)"). ``reported_state`` turns it
back into the Docker state for the API. Keeping health inside the one condition string,
rather than in a second column every reader would have to combine, leaves the generic
machinery (state machine, alerts, history, component lookup) the same for every kind.
"""

import os
import re
import socket
import ssl
import stat
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import docker
import docker.errors
import requests

DEFAULT_SOCKET_PATH = "/var/run/docker.sock"
DEFAULT_TIMEOUT = 5

# Docker's State.Status values, mapped to the states a container monitor can be in.
# A container being removed is as good as stopped; it disappears at the next listing.
DOCKER_STATES = {
    "running": "running",
    "restarting": "restarting",
    "paused": "paused",
    "exited": "exited",
    "dead": "dead",
    "created": "created",
    "removing": "exited",
}
HEALTH_STATES = ("starting", "healthy", "unhealthy")
# The condition of a running container failing its healthcheck (see the module docstring).
UNHEALTHY = "unhealthy"
# The settings the docker CLI and SDK read to talk TLS to a tcp:// engine.
TLS_VARIABLES = ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")

# How dockerd words a container's status ("Up 2 hours (healthy)", "Up 3 seconds (health:
# starting)", "Exited (137) 5 minutes ago", "Restarting (1) 2 seconds ago"): the same since
# healthchecks came in (Docker 1.12); read only when the summary has no Health field.
_STATUS_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_STATUS_EXIT_CODE = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\)")
_ENGINE_TIME = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$"
)


class DockerUnavailable(Exception):
    """The Docker engine could not be reached, or would not list its containers."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ContainerInfo:
    """One container as the engine reports it.

    Attributes:
        name: its name, without the leading "/".
        container_id: the full 64-hex id.
        image: the image reference it was created from (e.g. "nginx:1.27").
        state: running | restarting | paused | exited | dead | created.
        health: None (no healthcheck) | starting | healthy | unhealthy.
        started_at: when it last started (aware, UTC); None when never started or not
            inspected.
        finished_at: when it last stopped (aware, UTC); None when never stopped or not
            inspected.
        exit_code: the code it last exited with, for exited, dead and restarting
            containers; None otherwise.
    """

    name: str
    container_id: str
    image: str
    state: str
    health: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None


class EngineClient(docker.APIClient):
    """The SDK's low-level client, made to keep the CA that its TLS settings name.

    requests lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE replace a session's CA file on every
    request (docker/docker-py#2433, open): on a host that sets either, an engine whose
    certificate DOCKER_CERT_PATH/ca.pem signed would be refused. Proxies from the environment
    still apply.
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and isinstance(self.verify, str):
            settings["verify"] = self.verify  # the CA file TLSConfig set
        return settings


def docker_host(environ=os.environ, default_socket=None):
    """The Docker engine's address, or None when there is none to watch (discovery off).

    DOCKER_HOST when set; else ``unix:///var/run/docker.sock`` when that socket exists.
    ``default_socket`` replaces that path (tests).
    """
    host = environ.get("DOCKER_HOST", "").strip()
    if host:
        return host
    path = default_socket or DEFAULT_SOCKET_PATH
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            return f"unix://{path}"
    except OSError:
        pass
    return None


def docker_tls(environ=os.environ):
    """The TLS settings for the engine, read as the docker CLI and SDK read them.

    With DOCKER_TLS_VERIFY or DOCKER_CERT_PATH set, the SDK's own ``kwargs_from_env`` builds
    the ``docker.tls.TLSConfig``: client certificate ``cert.pem`` and ``key.pem`` and CA
    ``ca.pem`` from DOCKER_CERT_PATH (default ``~/.docker``); the engine's certificate is
    verified against that CA when DOCKER_TLS_VERIFY is set to anything but the empty string.

    Returns:
        The TLSConfig, or None when neither variable is set (a unix socket, plain tcp://).

    Raises:
        DockerUnavailable: the certificate files are missing.
    """
    settings = {name: environ[name] for name in TLS_VARIABLES if name in environ}
    if not settings:
        # Also because kwargs_from_env reads os.environ when handed an empty mapping.
        return None
    try:
        return docker.utils.kwargs_from_env(environment=settings).get("tls")
    except docker.errors.TLSParameterError as error:
        cert_path = settings.get("DOCKER_CERT_PATH") or "~/.docker"
        raise DockerUnavailable(
            f"the Docker TLS settings (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) cannot be used: "
            f"{cert_path} needs ca.pem, cert.pem and key.pem ({error})") from error


def list_containers(base_url, timeout=DEFAULT_TIMEOUT, inspect=None, tls=None):
    """Every container of the engine at ``base_url``, running or not.

    Args:
        base_url: the engine's address ("unix:///var/run/docker.sock", "tcp://host:2375").
        timeout: seconds to wait for each answer of the engine.
        inspect: optional ``predicate(ContainerInfo) -> bool`` choosing the containers to
            inspect for started_at, finished_at and the exact exit code (one more request
            each). By default none is: the whole listing is one request.
        tls: a ``docker.tls.TLSConfig`` (see ``docker_tls``) to speak HTTPS to a tcp://
            engine; None for none.

    Returns:
        list of ContainerInfo, in the engine's order (newest first). A container removed
        between the listing and its inspection is left out.

    Raises:
        DockerUnavailable: the engine could not be reached or did not answer the listing;
            never a partial list.
    """
    try:
        # Its constructor asks the engine for its API version: the first request.
        client = EngineClient(base_url=base_url, timeout=timeout, tls=tls or False)
    except docker.errors.DockerException as error:
        raise DockerUnavailable(_unavailable_message(base_url, error, timeout)) from error
    try:
        try:
            summaries = client.containers(all=True)
        except (docker.errors.DockerException, requests.RequestException) as error:
            raise DockerUnavailable(_unavailable_message(base_url, error, timeout)) from error
        infos = [_info_from_summary(summary) for summary in summaries]
        if inspect is None:
            return infos
        return _with_details(client, infos, inspect)
    finally:
        client.close()


def container_condition(info):
    """The monitor condition of a listed container: what the state machine, alerts,
    history and status rules read (see the module docstring).

    running (healthy, starting or without a healthcheck) | unhealthy (running but failing
    its healthcheck) | restarting | paused | exited | dead | created.
    """
    if info.state == "running" and info.health == "unhealthy":
        return UNHEALTHY
    return info.state


def reported_state(condition):
    """The Docker state a monitor condition stands for, as the API reports it in ``status``
    (its health is reported beside it): unhealthy is running."""
    return "running" if condition == UNHEALTHY else condition


def _with_details(client, infos, inspect):
    """``infos`` with the chosen containers' inspected details; the rest as listed."""
    detailed = []
    reachable = True
    for info in infos:
        if reachable and inspect(info):
            try:
                info = _info_from_inspect(client.inspect_container(info.container_id), info)
            except docker.errors.NotFound:
                continue  # removed since the listing: gone, as the next listing will say
            except (docker.errors.DockerException, requests.RequestException):
                # The listing is complete without details; one slow or failing engine
                # call must not cost a timeout per remaining container.
                reachable = False
        detailed.append(info)
    return detailed


def _info_from_summary(summary):
    state = _monitor_docker_state(summary.get("State"))
    return ContainerInfo(
        name=_canonical_name(summary.get("Names"), summary["Id"]),
        container_id=summary["Id"],
        image=summary.get("Image") or "",
        state=state,
        health=_summary_health(summary),
        exit_code=_summary_exit_code(summary, state),
    )


def _info_from_inspect(attrs, listed):
    """``listed`` updated from an inspect answer, which is the more recent of the two."""
    engine_state = attrs.get("State") or {}
    state = _monitor_docker_state(engine_state.get("Status"))
    health = (engine_state.get("Health") or {}).get("Status")
    return replace(
        listed,
        state=state,
        health=health if health in HEALTH_STATES else None,
        started_at=_engine_time(engine_state.get("StartedAt")),
        finished_at=_engine_time(engine_state.get("FinishedAt")),
        exit_code=engine_state.get("ExitCode") if _has_exit_code(state) else None,
    )


def _monitor_docker_state(status):
    # An engine newer than this code might add a state: treat it as stopped, which shows.
    return DOCKER_STATES.get(status, "exited")


def _has_exit_code(state):
    return state in ("exited", "dead", "restarting")


def _canonical_name(names, container_id):
    """The container's own name: legacy links add names like "/web/db" next to "/db"."""
    stripped = [name.lstrip("/") for name in names or ()]
    for name in stripped:
        if "/" not in name:
            return name
    return stripped[0] if stripped else container_id[:12]


def _summary_health(summary):
    health = summary.get("Health")
    if isinstance(health, dict):  # API 1.52 and later; "none" without a healthcheck
        status = health.get("Status")
        return status if status in HEALTH_STATES else None
    match = _STATUS_HEALTH.search(summary.get("Status") or "")
    if match is None:
        return None
    return "starting" if match.group(1) == "health: starting" else match.group(1)


def _summary_exit_code(summary, state):
    if not _has_exit_code(state):
        return None
    match = _STATUS_EXIT_CODE.match(summary.get("Status") or "")
    return int(match.group(1)) if match else None


def _engine_time(value):
    """An engine timestamp (RFC 3339, nanoseconds) as an aware UTC datetime; None for zero."""
    if not value or value.startswith("0001-01-01"):
        return None
    match = _ENGINE_TIME.match(value)
    if match is None:
        return None
    seconds, fraction, zone = match.groups()
    fraction = (fraction or "")[:6].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{seconds}.{fraction}{zone}").astimezone(timezone.utc)


def _unavailable_message(base_url, error, timeout):
    if isinstance(error, docker.errors.APIError) and error.response is not None:
        explanation = error.explanation or error.response.reason
        return (
            f"the Docker engine at {base_url} answered HTTP "
            f"{error.response.status_code}: {explanation}"
        )
    return f"cannot reach the Docker engine at {base_url}: {_plain_reason(error, timeout)}"


def _plain_reason(error, timeout):
    """What went wrong, in plain words, from the errors requests and urllib3 nest."""
    causes = list(_causes(error))
    for cause in causes:
        if isinstance(cause, FileNotFoundError):
            return "no such socket"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, PermissionError):
            return "permission denied (is this user in the docker group?)"
        if isinstance(cause, socket.gaierror):
            return "unknown host"
        if isinstance(cause, (TimeoutError, requests.Timeout)):
            return f"timed out after {timeout:g} s"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed ({cause.reason or cause})"
    for cause in causes:
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the engine"
        if isinstance(cause, requests.ConnectionError) and "aborted" in str(cause).lower():
            return "connection closed by the engine"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
    return str(error)


def _causes(error, seen=None):
    """``error`` and every exception it wraps: causes, contexts, args, urllib3 reasons."""
    seen = set() if seen is None else seen
    if not isinstance(error, BaseException) or id(error) in seen:
        return
    seen.add(id(error))
    yield error
    for inner in (error.__cause__, error.__context__, getattr(error, "reason", None)):
        yield from _causes(inner, seen)
    for arg in error.args:
        yield from _causes(arg, seen)
