"""Container discovery: one container monitor per container name of the Docker engine.

Containers are discovered, never created by hand. Every run lists the engine's containers
in one request and feeds each monitor's observed state through ``record_results`` with the
usual confirmations (failure_threshold): one odd listing does not page anyone. A container
recreated under the same name (a redeploy) keeps its monitor; a container that disappears
becomes ``removed``, which counts as an outage for a component that uses it, until it comes
back or the operator deletes its monitor.

A running container failing its healthcheck is fed to the state machine as the condition
``unhealthy`` (monitors.container explains why): its health flips are transitions like any
other, with their alerts, degraded time and degraded components, while the API reports it
as status ``running`` with health ``unhealthy``.
"""

import logging

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..config import Config
from ..extensions import db
from ..models import Container, utcnow
from ..monitors.base import ProbeResult
from ..monitors.container import (DockerUnavailable, container_condition, docker_host,
                                  docker_tls, list_containers)
from .monitors import INITIAL_STATE, record_results

log = logging.getLogger(__name__)

# Seconds between two discoveries, from MAINTENANT_DISCOVERY_INTERVAL (config.py), for the
# scheduler's table of periodic jobs, which is built before any app exists. Within an app,
# ``discovery_interval()`` reads the app's setting.
DISCOVERY_INTERVAL = Config.DISCOVERY_INTERVAL
ENGINE_TIMEOUT = 5
REMOVED = "removed"
# The columns' sizes (models.Container): a longer name is cut for display, and a container
# whose name does not fit at all is left out rather than failing every discovery.
NAME_MAX = 200
CONTAINER_NAME_MAX = 255
OFF_MESSAGE = ("container discovery is off: DOCKER_HOST is not set and "
               "/var/run/docker.sock does not exist")


class Notices:
    """What this process already told the log, so a job that runs every 30 s says it once."""

    def __init__(self):
        self.said_off = False
        self.unavailable = None  # the last "engine unavailable" message, while it lasts

    def off(self):
        if not self.said_off:
            log.info(OFF_MESSAGE)
            self.said_off = True

    def engine_unavailable(self, message):
        if message != self.unavailable:
            log.warning("container discovery: %s; container states are kept as they are",
                        message)
            self.unavailable = message

    def engine_back(self, base_url):
        if self.unavailable is not None:
            log.info("container discovery: the Docker engine at %s answers again", base_url)
            self.unavailable = None


notices = Notices()


def engine_address():
    """The Docker engine to watch: DOCKER_HOST, else the local socket; None when neither."""
    return current_app.config.get("DOCKER_HOST") or docker_host()


def discovery_interval():
    """Seconds between two discoveries (MAINTENANT_DISCOVERY_INTERVAL): also every container
    monitor's interval_seconds, so the hourly aggregates credit the time between two
    listings (a gap longer than a few intervals counts as no data)."""
    return current_app.config["DISCOVERY_INTERVAL"]


def discover(now=None):
    """List the engine's containers and bring their monitors up to date.

    Returns:
        {"seen", "created", "removed", "changed"}: containers listed, monitors created,
        monitors whose container is no longer listed, and state changes confirmed; None
        when discovery is off or the engine could not be listed (states are kept).
    """
    base_url = engine_address()
    if not base_url:
        notices.off()
        return None
    try:
        infos = list_containers(base_url, timeout=ENGINE_TIMEOUT, tls=docker_tls())
    except DockerUnavailable as error:
        notices.engine_unavailable(error.message)
        return None
    notices.engine_back(base_url)
    now = now or utcnow()
    try:
        return _update_monitors(infos, now)
    except IntegrityError:
        # Another discovery created the same new monitor meanwhile: it has done this run's
        # work, and the next run sees its monitors.
        db.session.rollback()
        log.info("container discovery: another run created the same monitors; skipped")
        return None


def _update_monitors(infos, now):
    listed = {}
    for info in infos:
        if len(info.name) <= CONTAINER_NAME_MAX:
            listed.setdefault(info.name, info)  # names are unique within an engine
    monitors = {monitor.container_name: monitor
                for monitor in db.session.scalars(db.select(Container))}
    interval = discovery_interval()
    for monitor in monitors.values():
        if monitor.interval_seconds != interval:  # the setting changed since the last run
            monitor.interval_seconds = interval
    created = 0
    for name in listed.keys() - monitors.keys():
        monitors[name] = Container(name=name[:NAME_MAX], container_name=name,
                                   status=INITIAL_STATE[Container.monitor_type],
                                   interval_seconds=interval)
        db.session.add(monitors[name])
        created += 1
    if created:
        db.session.flush()  # the new monitors' ids, for their first results
    results = []
    removed = 0
    for name, monitor in monitors.items():
        info = listed.get(name)
        if info is None:
            removed += 1
        if monitor.paused:
            continue
        result = observed(info, now) if info is not None else \
            ProbeResult(REMOVED, error="container removed")
        results.append((monitor.monitor_type, monitor.id, result, now))
    transitions = record_results(results)
    return {"seen": len(listed), "created": created, "removed": removed,
            "changed": len(transitions)}


def observed(info, now):
    """The probe result a listed container amounts to, with its facts for the monitor."""
    return ProbeResult(container_condition(info), error=trouble(info),
                       details={"container_id": info.container_id, "image": info.image,
                                "health": info.health, "last_seen_at": now})


def trouble(info):
    """What is wrong with a container, in plain words; None when it runs as it should."""
    code = f" with code {info.exit_code}" if info.exit_code is not None else ""
    if info.state == "running":
        return "healthcheck failing" if info.health == "unhealthy" else None
    if info.state == "exited":
        return f"exited{code}"
    if info.state == "restarting":
        return f"restarting after exiting{code}"
    if info.state == "dead":
        return f"dead (exited{code})" if code else "dead"
    if info.state == "created":
        return "created but never started"
    if info.state == "paused":
        return "paused"
    return info.state
