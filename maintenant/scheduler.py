"""The scheduler process: periodic jobs with fixed ids, reconciled at start-up, then rq-scheduler.

Every periodic job has a fixed id, so scheduling is idempotent: a restart, or a second
scheduler, finds the job already there and leaves it alone. rq-scheduler's own lock makes
sure only one scheduler at a time moves due jobs onto the queues, and the reconcile takes
that same lock. The lock names its holder and lapses within seconds, so a scheduler killed
while holding it stops the others only that long; and each run of a periodic job is claimed
atomically, so even two schedulers ticking at once never queue it twice.
"""

import logging
import os
import signal
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

import redis
import rq_scheduler
from rq import Queue
from rq.job import JobStatus

from . import jobs
from .db_errors import describe, is_database_unavailable
from .extensions import QUEUE_DEFAULT, QUEUE_NOTIFICATIONS, QUEUE_PROBES, db
from .logs import configure as configure_logs
from .monitors import schedule
from .services import lifecycle
from .services.containers import DISCOVERY_INTERVAL

log = logging.getLogger(__name__)

# Ids of the jobs this module owns start with this; other scheduled jobs are left alone.
PERIODIC_PREFIX = "periodic-"
# The one-off job that fans recent events out again after Redis lost its data.
FAN_OUT_AGAIN_JOB = "fan-out-again"
POLL_INTERVAL = 1
LOCK_WAIT = 30
# Seconds between two tries to reach Redis again after it went away.
REDIS_RETRY = 1
# Seconds rq-scheduler's lock outlives a scheduler killed while holding it (rq-scheduler's own
# is the poll interval + 10 s). A tick takes milliseconds; one that overruns this is still
# safe: periodic runs are claimed atomically and probes popped atomically.
LOCK_TTL = 3

# Claim a periodic job's run: if it is due (score <= ARGV[2]), move it to its next run
# (ARGV[3]) and return 1; else 0 (another scheduler claimed it first, or it is not due).
CLAIM_RUN = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""
# Delete the lock only if it is still ours (it may have lapsed and been taken meanwhile).
RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class PeriodicJob:
    """A job that runs every ``interval`` seconds under a fixed id."""

    id: str
    func: object
    interval: int
    queue: str = QUEUE_DEFAULT

    @property
    def func_name(self):
        return f"{self.func.__module__}.{self.func.__qualname__}"


PERIODIC_JOBS = (
    PeriodicJob(PERIODIC_PREFIX + "drain-outbox", jobs.drain_outbox, interval=30),
    PeriodicJob(PERIODIC_PREFIX + "housekeeping", jobs.housekeeping, interval=15),
    PeriodicJob(PERIODIC_PREFIX + "sweep-alerts", jobs.sweep_alerts, interval=5,
                queue=QUEUE_NOTIFICATIONS),
    PeriodicJob(PERIODIC_PREFIX + "notify-subscribers", jobs.notify_sweep, interval=5,
                queue=QUEUE_NOTIFICATIONS),
    PeriodicJob(PERIODIC_PREFIX + "heartbeat-deadlines", jobs.check_heartbeat_deadlines,
                interval=5, queue=QUEUE_PROBES),
    PeriodicJob(PERIODIC_PREFIX + "discover-containers", jobs.discover_containers,
                interval=DISCOVERY_INTERVAL, queue=QUEUE_PROBES),
    # A safety net: the API keeps the probe schedule in step with every change already.
    PeriodicJob(PERIODIC_PREFIX + "reconcile-probes", jobs.reconcile_probes, interval=300),
    PeriodicJob(PERIODIC_PREFIX + "prune-history", jobs.prune_monitor_history, interval=3600),
)
# The scheduler pops probes this far ahead; the worker waits for each one's due time, so
# the scheduler's one-second poll and the queue's latency do not make checks late.
DISPATCH_LOOKAHEAD = 1.5
DISPATCH_BATCH = 200
# A batch of checks not started within this many seconds is dropped: the next interval's
# checks are due by then, and a backlog must not burst onto the targets.
PROBE_JOB_TTL = 30


class Scheduler(rq_scheduler.Scheduler):
    """rq-scheduler's Scheduler that never queues a periodic job twice.

    Each run of a periodic job is claimed with one atomic script that moves it to its next
    run, so two schedulers that both see it due queue it once. When the workers are behind
    or down, a periodic job may still be waiting in its queue when it is due again; one
    waiting run is enough, so it is not pushed a second time.
    """

    # The periodic jobs each tick makes sure are scheduled (run_scheduler sets them).
    periodic_jobs = ()

    def enqueue_job(self, job):
        interval = job.meta.get("interval")
        if not interval or job.meta.get("repeat") is not None:
            return super().enqueue_job(job)
        # rq-scheduler's own rhythm: whole seconds, the next run an interval from now.
        now = int(time.time())
        if not self.claim_run(job.id, now, now + int(interval)):
            self.log.debug("%s was claimed by another scheduler", job.id)
            return
        if self.still_waiting(job):
            self.log.info("%s is still waiting in its queue; not queued again", job.id)
            return
        self.get_queue_for_job(job).enqueue_job(job, at_front=bool(job.enqueue_at_front))

    def claim_run(self, job_id, now, next_run):
        """Move a due periodic job to its next run; False if it was not due (any more)."""
        return bool(self.connection.eval(CLAIM_RUN, 1, self.scheduled_jobs_key, job_id, now,
                                         next_run))

    @property
    def lock_holder(self):
        """What the lock holds while this scheduler has it: where it runs, and its name."""
        return f"{socket.gethostname()}:{os.getpid()}:{self.name}"

    def acquire_lock(self):
        """rq-scheduler's lock, named for its holder and lapsing LOCK_TTL s after a crash."""
        self._lock_acquired = bool(self.connection.set(
            self.scheduler_lock_key, self.lock_holder, ex=LOCK_TTL, nx=True))
        return self._lock_acquired

    def remove_lock(self):
        """Release the lock if it is still ours (it lapses on its own otherwise)."""
        if self._lock_acquired:
            self.connection.eval(RELEASE_LOCK, 1, self.scheduler_lock_key, self.lock_holder)
            self._lock_acquired = False

    def __init__(self, *args, probe_schedule=None, maintenance_edges=None, **kwargs):
        """
        Args:
            probe_schedule: the key of the probe schedule to dispatch from each tick.
            maintenance_edges: (edges key, advance job key) of the maintenance lifecycle:
                each tick, due edges queue one ``jobs.advance_maintenance``.
        """
        super().__init__(*args, **kwargs)
        self.probe_schedule = probe_schedule
        self.maintenance_edges = maintenance_edges

    def enqueue_jobs(self):
        """Each tick: the due periodic jobs, the due probes, the due maintenance moves."""
        if self.periodic_jobs and self.lost_periodic_jobs():
            # Redis restarted empty (or was flushed), perhaps so fast that no command failed:
            # what only Redis held (this schedule, the probes', the maintenance edges') is
            # rebuilt from the definitions and the database.
            log.warning("periodic jobs missing from Redis (restarted empty?): reconciling")
            reconcile_all(self, self.periodic_jobs)
        jobs_moved = super().enqueue_jobs()
        if self.probe_schedule:
            dispatch_due_probes(self.connection, self.probe_schedule)
        if self.maintenance_edges:
            dispatch_due_edges(self.connection, *self.maintenance_edges)
        return jobs_moved

    def lost_periodic_jobs(self):
        """Whether any of ``periodic_jobs`` is missing from the schedule."""
        scores = self.connection.zmscore(self.scheduled_jobs_key,
                                         [periodic.id for periodic in self.periodic_jobs])
        return any(score is None for score in scores)

    # Set by SIGINT/SIGTERM: run()'s own clean-up failing afterwards is no outage to wait out.
    stopping = False

    def _install_signal_handlers(self):
        """rq-scheduler's SIGINT/SIGTERM handlers, made to stop even while Redis is down.

        Its handler registers the death in Redis before it exits: with Redis down that
        raises, and run_scheduler would take the error for an outage and start again.
        """
        def stop(signum, frame):
            self.stopping = True
            self.log.info("Shutting down RQ scheduler...")
            try:
                self.register_death()
                self.remove_lock()
            except redis.RedisError:
                pass  # the lock and the registration lapse on their own
            raise SystemExit()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)

    def still_waiting(self, job):
        queue = self.get_queue_for_job(job)
        return (job.get_status() == JobStatus.QUEUED
                and self.connection.lpos(queue.key, job.id) is not None)


def dispatch_due_probes(connection, schedule_key, lookahead=DISPATCH_LOOKAHEAD):
    """Pop the probes due soon from the schedule and queue them in batches for the workers."""
    due = schedule.pop_due(lookahead=lookahead, client=connection, key=schedule_key)
    probes = Queue(QUEUE_PROBES, connection=connection)
    for start in range(0, len(due), DISPATCH_BATCH):
        probes.enqueue(jobs.run_probes, due[start:start + DISPATCH_BATCH], ttl=PROBE_JOB_TTL,
                       result_ttl=0, failure_ttl=3600)
    return len(due)


def dispatch_due_edges(connection, edges_key, advance_job_key):
    """Pop the maintenance windows due to start or end, and queue one advance for all of them.

    Returns:
        The ids of the windows popped.
    """
    due = lifecycle.pop_due_edges(connection, edges_key)
    if due:
        job = lifecycle.queue_advance(connection, advance_job_key)
        log.info("maintenance windows %s due: %s", due,
                 f"queued {job.id}" if job else "an advance is already waiting")
    return due


def is_current(job, periodic):
    """Whether a scheduled job still matches the definition it was made from."""
    return (periodic is not None and job.func_name == periodic.func_name
            and job.meta.get("interval") == periodic.interval and job.origin == periodic.queue)


def reconcile(scheduler, periodic_jobs=PERIODIC_JOBS):
    """Make the scheduled periodic jobs match ``periodic_jobs``; running it again changes nothing.

    Cancels periodic jobs that are gone or whose definition changed, and schedules the
    missing ones to run now and then every ``interval`` seconds.

    Returns:
        (scheduled, cancelled): the ids of the jobs scheduled and cancelled.
    """
    wanted = {periodic.id: periodic for periodic in periodic_jobs}
    cancelled = []
    for job in list(scheduler.get_jobs()):
        if job.id.startswith(PERIODIC_PREFIX) and not is_current(job, wanted.get(job.id)):
            scheduler.cancel(job)
            job.delete()
            cancelled.append(job.id)
    scheduled = []
    for periodic in periodic_jobs:
        if periodic.id in scheduler:
            continue
        scheduler.schedule(
            scheduled_time=datetime.now(timezone.utc), func=periodic.func,
            interval=periodic.interval, id=periodic.id, queue_name=periodic.queue,
            description=f"{periodic.func_name} every {periodic.interval}s",
        )
        scheduled.append(periodic.id)
    return scheduled, cancelled


@contextmanager
def scheduler_lock(scheduler, wait=LOCK_WAIT):
    """Hold rq-scheduler's lock, so no other scheduler moves jobs while we reconcile."""
    deadline = time.monotonic() + wait
    while not scheduler.acquire_lock():
        if time.monotonic() > deadline:
            raise TimeoutError("another scheduler has held the lock for too long")
        time.sleep(0.1)
    try:
        yield
    finally:
        scheduler.remove_lock()


def reconcile_all(scheduler, periodic_jobs=PERIODIC_JOBS):
    """Reconcile everything the scheduler keeps in Redis: the periodic jobs, the probe
    schedule and the maintenance edges (with the scheduler's lock held).

    When every periodic job was missing, Redis lost its data (or this is the very first
    start): the mail batches it held are gone too, so recent events are fanned out again.
    """
    scheduled, cancelled = reconcile(scheduler, periodic_jobs)
    if periodic_jobs and len(scheduled) == len(periodic_jobs):
        Queue(QUEUE_NOTIFICATIONS, connection=scheduler.connection).enqueue(
            jobs.fan_out_again, job_id=FAN_OUT_AGAIN_JOB, result_ttl=0, failure_ttl=24 * 3600)
    try:
        added, removed = jobs.reconcile_probes()
        edges = lifecycle.reconcile_edges()
    finally:
        # The scheduler's app context lasts as long as it runs: hold no connection (an open
        # transaction would pin PostgreSQL's vacuum horizon for days) and start each reconcile
        # from a clean session, also after the database went away.
        db.session.remove()
    log.info("probe schedule: %d added, %d removed", added, removed)
    log.info("maintenance edges: %d windows with a move ahead", edges)
    log.info("periodic jobs: %d scheduled, %d cancelled, %d in place", len(scheduled),
             len(cancelled), len(periodic_jobs) - len(scheduled))


def run_scheduler(connection, interval=POLL_INTERVAL, burst=False):
    """Reconcile the periodic jobs, then move due jobs onto their queues every ``interval`` s.

    When Redis goes away the scheduler waits for it and starts again (reconciling: Redis may
    come back empty), rather than exit.

    Args:
        connection: the Redis connection the queues live on.
        burst: move what is due once, then return (tests, one-off runs).
    """
    configure_logs("scheduler")
    while True:
        try:
            return serve(connection, interval, burst)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            if burst:
                raise
            log.warning("Redis unavailable (%s); starting again in %d s", error, REDIS_RETRY)
            time.sleep(REDIS_RETRY)
        except Exception as error:
            # The start-up reconcile reads the database: wait for it too, rather than exit.
            if burst or not is_database_unavailable(error):
                raise
            log.warning("database unavailable (%s); starting again in %d s", describe(error),
                        REDIS_RETRY)
            time.sleep(REDIS_RETRY)


def serve(connection, interval, burst):
    """One life of the scheduler: reconcile, then tick until stopped or Redis fails."""
    scheduler = Scheduler(connection=connection, interval=interval,
                          probe_schedule=schedule.schedule_key(),
                          maintenance_edges=(lifecycle.edges_key(), lifecycle.advance_job_key()))
    scheduler.periodic_jobs = PERIODIC_JOBS
    with scheduler_lock(scheduler):
        reconcile_all(scheduler)
    try:
        scheduler.run(burst=burst)
    except redis.RedisError:
        if scheduler.stopping:  # asked to stop while Redis is down: run()'s clean-up failed
            raise SystemExit() from None
        raise
