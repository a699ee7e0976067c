"""The maintenance lifecycle: act on the windows the clock has started or ended.

A window's status is derived from the clock (``MaintenanceWindow.status_at``), so the page is
right at any moment. What the clock cannot do by itself is act: publish
``maintenance_started`` and ``maintenance_ended``, release the alerts held during a window,
schedule the next occurrence of a recurring window. ``announced_status`` records how far a
window's moves have been acted on; ``settle`` acts on the rest, exactly once, claiming each
move with a conditional UPDATE so two workers never announce the same one.

On time: a Redis sorted set holds each window's next edge (member: the window's id, score:
the epoch of its next start or end still to act on). The scheduler pops the due edges every
second and queues one ``jobs.advance_maintenance``; the API re-arms a window's edge after each
change, ``advance`` after each move, and ``reconcile_edges`` (scheduler start-up and
housekeeping) repairs whatever a Redis outage lost. Housekeeping also runs ``advance`` every
15 s, so a lost edge only delays a move.
"""

import calendar
import logging
import uuid
import zoneinfo
from datetime import datetime, timedelta, timezone

import redis
from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm.attributes import set_committed_value

from .. import status as rules
from ..extensions import QUEUE_DEFAULT, db, redis_client
from ..models import MaintenanceWindow, utcnow
from ..models.maintenance import CANCELLED, COMPLETED, IN_PROGRESS, SCHEDULED
from ..schemas import MaintenanceOut
from . import alerts
from .outbox import commit, record_event
from .statuses import sync_statuses

log = logging.getLogger(__name__)

M = MaintenanceWindow

EDGES = "maintenance:edges"
# The id of the advance job last queued by the scheduler: one waiting job is enough.
ADVANCE_JOB = "maintenance:advance-job"
ADVANCE_JOB_PREFIX = "advance-maintenance-"
# A move older than this is acted on without events: after an upgrade every past window is
# still unannounced, and a page's readers do not want a day-old "maintenance started".
STALE_AFTER = timedelta(hours=24)
# The final statuses: nothing more happens to a window once one has been announced.
FINAL = (COMPLETED, CANCELLED)


# Moves and their events


def due_clause(now):
    """SQL for "this window has a move not yet acted on at ``now``" (final ones excluded), or
    a reminder due."""
    announced = M.announced_status
    clause = (
        announced.is_(None)
        | ((announced == SCHEDULED) & (M.cancelled.is_(True) | (M.starts_at <= now)))
        | ((announced == IN_PROGRESS) & (M.cancelled.is_(True) | (M.ends_at <= now)))
    )
    lead = reminder_lead()
    if lead:
        clause = clause | ((announced == SCHEDULED) & M.cancelled.is_(False)
                           & M.reminded_at.is_(None) & (M.starts_at <= now + lead))
    return clause


def events_for(old, new):
    """The events announcing a move from ``old`` to ``new`` status, in order.

    A window that went from scheduled to completed unseen (the scheduler was down) gets both.
    A window never announced at all (``old`` None) that is over already, such as a past
    window entered for the record, gets none: nobody was waiting for it.
    """
    if old is None and new == COMPLETED:
        return []
    kinds = []
    if old in (None, SCHEDULED) and new in (IN_PROGRESS, COMPLETED):
        kinds.append(("maintenance_started", IN_PROGRESS))
    if (old in (SCHEDULED, IN_PROGRESS) and new == COMPLETED) or (
            old == IN_PROGRESS and new == CANCELLED):
        kinds.append(("maintenance_ended", new))
    return kinds


def window_event(kind, window, status, notify=True):
    """Record ``kind`` with the window as the API shows it, in the status the event announces;
    subscribers are mailed about it unless ``notify`` is false."""
    payload = MaintenanceOut().dump(window)
    payload["status"] = status
    event = record_event(kind, payload)
    event.notify = notify
    return event


def reminder_lead():
    """How long before a window starts subscribers are reminded of it (0: never)."""
    return timedelta(minutes=current_app.config.get("MAINTENANCE_REMINDER_MINUTES", 60))


def remind(windows, now):
    """Record ``maintenance_reminder`` for scheduled windows starting within the reminder lead.

    A window scheduled so close to its start that the announcement itself came within the
    lead is marked reminded without a second mail. Claimed with a conditional UPDATE of
    ``reminded_at``, like the moves, so a reminder is recorded once.
    """
    lead = reminder_lead()
    reminded = []
    if not lead:
        return reminded
    for window in windows:
        if window.reminded_at is not None or window.status_at(now) != SCHEDULED or \
                window.starts_at - lead > now:
            continue
        claimed = db.session.execute(
            db.update(M).where(M.id == window.id, M.reminded_at.is_(None))
            .values(reminded_at=now).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            continue
        set_committed_value(window, "reminded_at", now)
        if window.created_at <= window.starts_at - lead:
            window_event("maintenance_reminder", window, SCHEDULED)
        reminded.append(window)  # its next edge is now its start: re-armed after the commit
    return reminded


def claim(window, old, new):
    """Take the move ``old`` -> ``new`` for this transaction; False when another took it.

    The UPDATE only matches while the window still has ``old``: on PostgreSQL a second
    transaction waits for the first and then matches nothing; SQLite runs one writer at a time.
    """
    same_old = M.announced_status.is_(None) if old is None else M.announced_status == old
    result = db.session.execute(
        db.update(M).where(M.id == window.id, same_old).values(announced_status=new)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    set_committed_value(window, "announced_status", new)
    return True


def settle(windows, now):
    """Act on the moves of ``windows`` not yet acted on at ``now``, in the current transaction.

    For the API's changes: call after ``sync_statuses``; the caller commits.

    Returns:
        The windows whose moves this call acted on (successors it created included).
    """
    return act(claim_moves(windows, now), now)


def claim_moves(windows, now):
    """Claim the moves of ``windows`` not yet acted on: [(window, old, new)] this one took."""
    moves = []
    for window in windows:
        old, new = window.announced_status, window.status_at(now)
        if old != new and old not in FINAL and claim(window, old, new):
            moves.append((window, old, new))
    return moves


def act(moves, now):
    """Act on claimed moves: maintenance_started / maintenance_ended, the next occurrence of a
    recurring window (itself settled at once when the scheduler was so late that it is due
    already), and the alerts held by the windows that ended.

    Returns:
        The windows acted on, successors included.
    """
    pending = list(moves)
    touched, ended = [], []
    while pending:
        window, old, new = pending.pop(0)
        touched.append(window)
        if not stale(window, new, now):
            for kind, status in events_for(old, new):
                window_event(kind, window, status)
        if old == IN_PROGRESS or (old in (None, SCHEDULED) and new == COMPLETED):
            ended.append(window)
        if new != SCHEDULED:
            successor = schedule_successor(window, now)
            if successor is not None:
                pending.extend(claim_moves([successor], now))
    if ended:
        release_alerts(ended, now)
    return touched


def stale(window, new, now):
    """Whether a move happened so long ago that announcing it now would only mislead."""
    moved_at = {IN_PROGRESS: window.starts_at, COMPLETED: window.ends_at}.get(new)
    return moved_at is not None and now - moved_at > STALE_AFTER


def release_alerts(windows, now):
    """Let the alert engine deliver what these windows held back (same transaction)."""
    alerts.release_after_maintenance(windows, now)


def advance(now=None):
    """Act on every window the clock has moved: one transaction, then re-arm their edges.

    Idempotent: a second run (or a second worker at the same time) finds nothing to do.

    Returns:
        How many windows moved.
    """
    now = now or utcnow()
    # Claims first: a second run at the same time waits here for the first to commit (the
    # same rows on PostgreSQL, the one writer on SQLite), then finds every move taken and
    # reads the statuses the first one logged. The same order for everyone: no deadlock.
    windows = db.session.scalars(
        db.select(M).where(due_clause(now)).order_by(M.starts_at, M.id)).all()
    moves = claim_moves(windows, now)
    reminded = remind(windows, now)
    sync_statuses(rules.CAUSE_MAINTENANCE, now)
    touched = act(moves, now)
    if any(window.status_at(now) == IN_PROGRESS for window in touched[len(moves):]):
        # The scheduler was down for over a period: a new occurrence is under way already.
        sync_statuses(rules.CAUSE_MAINTENANCE, now)
    commit()
    arm([*touched, *reminded], now)
    return len(touched)


# Recurrence


def period_shift(moment, frequency, steps, anchor_day, zone):
    """``moment`` moved ``steps`` periods on the wall clock of ``zone``.

    Days and weeks keep the local time across daylight saving changes; months keep the day of
    month of the series (``anchor_day``), clamped to the month's last day (31 Jan -> 28 Feb ->
    31 Mar).
    """
    local = moment.astimezone(zone)
    if frequency == "monthly":
        month_index = local.month - 1 + steps
        year, month = local.year + month_index // 12, month_index % 12 + 1
        day = min(anchor_day, calendar.monthrange(year, month)[1])
        shifted = local.replace(year=year, month=month, day=day, tzinfo=None)
    else:
        days = steps * (7 if frequency == "weekly" else 1)
        shifted = local.replace(tzinfo=None) + timedelta(days=days)
    return shifted.replace(tzinfo=zone).astimezone(timezone.utc)


def page_zone():
    from .settings import get_settings

    try:
        return zoneinfo.ZoneInfo(get_settings().timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return timezone.utc


def next_occurrence(window, now, zone=None):
    """(starts_at, ends_at) of the occurrence after ``window``, or None past ``until``.

    Occurrences that would already be over at ``now`` (the scheduler was down for longer than
    a period) are skipped: the next one is the first still to come or in progress.
    """
    if window.recurrence_frequency is None:
        return None
    zone = zone or page_zone()
    first = db.session.get(M, window.series_id) if window.series_id else None
    anchor_day = (first or window).starts_at.astimezone(zone).day
    duration = window.ends_at - window.starts_at
    steps = window.recurrence_interval
    while True:
        starts_at = period_shift(window.starts_at, window.recurrence_frequency, steps,
                                 anchor_day, zone)
        if window.recurrence_until is not None and starts_at > window.recurrence_until:
            return None
        if starts_at + duration > now:
            return starts_at, starts_at + duration
        steps += window.recurrence_interval


def schedule_successor(window, now):
    """Schedule the next occurrence of a recurring window, once; returns it (or None)."""
    if window.recurrence_frequency is None or window.successor_scheduled:
        return None
    times = next_occurrence(window, now)
    result = db.session.execute(
        db.update(M).where(M.id == window.id, M.successor_scheduled.is_(False))
        .values(successor_scheduled=True).execution_options(synchronize_session=False))
    set_committed_value(window, "successor_scheduled", True)
    if result.rowcount != 1 or times is None:
        return None
    starts_at, ends_at = times
    successor = M(
        title=window.title, description=window.description, starts_at=starts_at,
        ends_at=ends_at, cancelled=False, components=list(window.components),
        recurrence_frequency=window.recurrence_frequency,
        recurrence_interval=window.recurrence_interval,
        recurrence_until=window.recurrence_until, series_id=window.series_id or window.id,
        created_at=now, updated_at=now)
    db.session.add(successor)
    db.session.flush()
    scheduled_event(successor, now)
    return successor


def scheduled_event(window, now):
    """``maintenance_scheduled``: mailed when the window is still ahead (a window entered for
    the record, or already under way, is announced by its own moves or not at all)."""
    event = record_event("maintenance_scheduled", MaintenanceOut().dump(window))
    event.notify = window.status_at(now) == SCHEDULED
    return event


# Edges: when the scheduler should next run ``advance``


def edges_key():
    return redis_client.key(EDGES)


def advance_job_key():
    return redis_client.key(ADVANCE_JOB)


def epoch(moment):
    return moment.timestamp()


def next_edge(window, now):
    """When ``window`` next needs ``advance`` (epoch seconds), or None when it never will."""
    status = window.status_at(now)
    if window.announced_status != status:
        return epoch(now)  # a move not acted on yet: at once
    if status == SCHEDULED:
        lead = reminder_lead()
        if lead and window.reminded_at is None:
            return epoch(max(window.starts_at - lead, now))
        return epoch(window.starts_at)
    if status == IN_PROGRESS:
        return epoch(window.ends_at)
    return None


def arm(windows, now=None):
    """Put each window's next edge in the set (after the commit that changed it).

    A Redis failure is logged and left to ``reconcile_edges`` and housekeeping: it delays a
    move, it never loses one.
    """
    if not windows or not redis_client.configured:
        return
    now = now or utcnow()
    try:
        pipe = redis_client.client.pipeline(transaction=False)
        for window in windows:
            edge = next_edge(window, now)
            if edge is None:
                pipe.zrem(edges_key(), window.id)
            else:
                pipe.zadd(edges_key(), {window.id: edge})
        pipe.execute()
    except redis.RedisError as error:
        log.warning("maintenance edges not armed (housekeeping will repair them): %s", error)


def disarm(window_id):
    """Forget a deleted window's edge."""
    if not redis_client.configured:
        return
    try:
        redis_client.client.zrem(edges_key(), window_id)
    except redis.RedisError as error:
        log.warning("maintenance edge of %s not removed (it will fire harmlessly): %s",
                    window_id, error)


def reconcile_edges(now=None):
    """Make sure every window with a move ahead has its edge in the set; returns how many.

    An edge already earlier than the computed one is kept (ZADD LT): an early edge only runs
    ``advance`` for nothing, and it may have been armed by a change newer than what this read.
    Members of windows deleted or finished are not removed here: when they come due they are
    popped and run ``advance`` once, for nothing.
    """
    now = now or utcnow()
    windows = db.session.scalars(
        db.select(M).where(M.announced_status.is_(None)
                           | M.announced_status.in_((SCHEDULED, IN_PROGRESS)))
    ).all()
    wanted = {window.id: next_edge(window, now) for window in windows}
    wanted = {window_id: edge for window_id, edge in wanted.items() if edge is not None}
    if wanted and redis_client.configured:
        try:
            redis_client.client.zadd(edges_key(), wanted, lt=True)
        except redis.RedisError as error:
            log.warning("maintenance edges not reconciled: %s", error)
    return len(wanted)


# Pop the edges due by ARGV[1] and remove them, atomically: two schedulers never pop one twice.
POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #due > 0 then
  redis.call('ZREM', KEYS[1], unpack(due))
end
return due
"""


def pop_due_edges(client, key, now=None, limit=1000):
    """Take the edges due by ``now``; returns the window ids."""
    now = datetime.now(timezone.utc).timestamp() if now is None else now
    return [int(member) for member in client.eval(POP_DUE, 1, key, now, limit)]


def queue_advance(client, pending_key, queue_name=QUEUE_DEFAULT):
    """Queue one ``jobs.advance_maintenance``, unless one is still waiting in its queue.

    A job already running may have read the windows before the edge that asks for this one,
    so only a job still waiting makes another unnecessary.

    Returns:
        The job queued, or None when one was waiting.
    """
    from rq import Queue

    from .. import jobs

    queue = Queue(queue_name, connection=client)
    waiting = client.get(pending_key)
    if waiting is not None:
        try:
            job = Job.fetch(waiting.decode(), connection=client)
            if (job.get_status() == JobStatus.QUEUED
                    and client.lpos(queue.key, job.id) is not None):
                return None
        except NoSuchJobError:
            pass
    job = queue.enqueue(jobs.advance_maintenance, job_id=ADVANCE_JOB_PREFIX + uuid.uuid4().hex,
                        result_ttl=60, failure_ttl=3600,
                        description="maintenance windows started or ended")
    client.set(pending_key, job.id, ex=3600)
    return job
