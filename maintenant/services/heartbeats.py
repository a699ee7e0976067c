"""Heartbeats: pings from the jobs they watch, and the deadline sweep that notices silence.

A heartbeat is ``new`` until its first ping, ``up`` after a success ping, ``down`` after a
fail ping or when no ping came within interval + grace. Every state change goes through
``services.monitors.record_results`` (immediately: a heartbeat has nothing to confirm), so
transitions, hourly aggregates and component statuses follow as for any other monitor.

``deadline_at`` is when the sweep next looks at a heartbeat:

- while ``up``: last ping + interval + grace; past it, the heartbeat goes down, at that
  deadline (not when the sweep happened to run).
- while ``down``: the end of the current silent interval. The sweep records each interval
  without a ping as a failed check, as the prober does for an endpoint that stays down, so
  the hourly aggregates count the down time as it passes rather than only when (and if) the
  job pings again.
- while ``new``: None. A heartbeat that has never pinged has no schedule to miss, so it
  never goes down on its own; its first ping starts the clock. (Resuming a paused heartbeat
  makes it new again: services.monitor_config.)
- while paused: None (services.monitor_config); a ping is kept as last_ping_at only.
"""

from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from ..errors import NotFound
from ..extensions import db
from ..models import Heartbeat, utcnow
from ..monitors.base import ProbeResult
from .monitors import record_results

SUCCESS, FAIL, START = "success", "fail", "start"
PING_KINDS = (SUCCESS, FAIL, START)
UP, DOWN = "up", "down"
FAIL_PING_ERROR = "the job reported a failure"


def allowance(heartbeat):
    """How long a heartbeat may stay silent: interval + grace."""
    return timedelta(seconds=heartbeat.interval_seconds + heartbeat.grace_seconds)


def silence_error(heartbeat):
    return f"no ping within {heartbeat.interval_seconds + heartbeat.grace_seconds} s"


def ping(token, kind=SUCCESS, now=None):
    """Record a ping: ``success`` marks the heartbeat up, ``fail`` down, ``start`` neither.

    A paused heartbeat keeps the ping's time but changes no state. Pings may come often:
    a lookup by token (unique index), then one transaction.

    Returns:
        The heartbeat.
    Raises:
        NotFound: no heartbeat has this token.
    """
    if kind not in PING_KINDS:
        raise ValueError(f"unknown ping kind {kind!r}")
    now = now or utcnow()
    try:
        return _ping(token, kind, now)
    except IntegrityError:
        # Two pings of one heartbeat at once can both create the hour's aggregate row;
        # the second one simply runs again and adds to the row the first one made.
        db.session.rollback()
        return _ping(token, kind, now)


def _ping(token, kind, now):
    heartbeat = db.session.scalar(db.select(Heartbeat).where(Heartbeat.token == token))
    if heartbeat is None:
        raise NotFound("No heartbeat has this ping URL.")
    if kind == START:
        heartbeat.last_start_at = now
        db.session.commit()
    elif heartbeat.paused:
        heartbeat.last_ping_at = now
        db.session.commit()
    elif kind == SUCCESS:
        result = ProbeResult(UP, details={"last_ping_at": now,
                                          "deadline_at": now + allowance(heartbeat)})
        record_results([(heartbeat.monitor_type, heartbeat.id, result, now)], immediate=True)
    else:
        # The job is alive and said it failed: the deadline restarts, so silence after it
        # is still counted as down time (see the module docstring).
        result = ProbeResult(DOWN, error=FAIL_PING_ERROR,
                             details={"last_ping_at": now,
                                      "deadline_at": now + allowance(heartbeat)})
        record_results([(heartbeat.monitor_type, heartbeat.id, result, now)], immediate=True)
    return heartbeat


def check_deadlines(now=None):
    """Put down the heartbeats whose deadline passed; count each silent interval as down.

    One query (the index on deadline_at) finds the heartbeats due, up or down, not paused;
    ``new`` heartbeats have no deadline and never go down on their own. Each result is
    recorded at its deadline, not at ``now``, so a late sweep dates the outage right.

    Returns:
        How many heartbeats went down.
    """
    now = now or utcnow()
    due = db.session.scalars(
        db.select(Heartbeat)
        .where(Heartbeat.deadline_at < now, Heartbeat.paused.is_(False),
               Heartbeat.status.in_((UP, DOWN)))
        .order_by(Heartbeat.deadline_at)
    ).all()
    if not due:
        return 0
    results = []
    for heartbeat in due:
        at = heartbeat.deadline_at
        result = ProbeResult(DOWN, error=silence_error(heartbeat),
                             details={"deadline_at": next_silence_check(heartbeat, at, now)})
        results.append((heartbeat.monitor_type, heartbeat.id, result, at))
    transitions = record_results(results, immediate=True)
    return len(transitions)


def next_silence_check(heartbeat, at, now):
    """The end of the silent interval after ``at`` that is still to come at ``now``.

    Anchored on ``at``: a sweep that ran late (or not at all for a while) does not push the
    following checks later, and catches up with one result rather than one per interval.
    """
    interval = timedelta(seconds=max(heartbeat.interval_seconds, 1))
    missed = (now - at) // interval
    return at + interval * (missed + 1)
