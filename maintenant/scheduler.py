"""The scheduler process: periodic jobs with fixed ids, reconciled at start-up, then rq-scheduler.

Every periodic job has a fixed id, so scheduling is idempotent: a restart, or a second
scheduler, finds the job already there and leaves it alone. rq-scheduler's own lock makes
sure only one scheduler at a time moves due jobs onto the queues, and the reconcile takes
that same lock.
"""

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

import rq_scheduler
from rq import Queue
from rq.job import JobStatus

from . import jobs
from .extensions import QUEUE_DEFAULT, QUEUE_NOTIFICATIONS, QUEUE_PROBES
from .monitors import schedule
from .services import lifecycle
from .services.containers import DISCOVERY_INTERVAL

log = logging.getLogger(__name__)

# Ids of the jobs this module owns start with this; other scheduled jobs are left alone.
PERIODIC_PREFIX = "periodic-"
POLL_INTERVAL = 1
LOCK_WAIT = 30


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

    When the workers are behind or down, a periodic job may still be waiting in its queue
    when it is due again; one waiting run is enough, so it is not pushed a second time.
    """

    def enqueue_job(self, job):
        interval = job.meta.get("interval")
        if interval and self.still_waiting(job):
            self.log.info("%s is still waiting in its queue; not queued again", job.id)
            self.connection.zadd(self.scheduled_jobs_key, {job.id: int(time.time()) + interval})
            return
        super().enqueue_job(job)

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
        jobs_moved = super().enqueue_jobs()
        if self.probe_schedule:
            dispatch_due_probes(self.connection, self.probe_schedule)
        if self.maintenance_edges:
            dispatch_due_edges(self.connection, *self.maintenance_edges)
        return jobs_moved

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


def run_scheduler(connection, interval=POLL_INTERVAL, burst=False):
    """Reconcile the periodic jobs, then move due jobs onto their queues every ``interval`` s.

    Args:
        connection: the Redis connection the queues live on.
        burst: move what is due once, then return (tests, one-off runs).
    """
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    scheduler = Scheduler(connection=connection, interval=interval,
                          probe_schedule=schedule.schedule_key(),
                          maintenance_edges=(lifecycle.edges_key(), lifecycle.advance_job_key()))
    with scheduler_lock(scheduler):
        scheduled, cancelled = reconcile(scheduler)
        added, removed = jobs.reconcile_probes()
        edges = lifecycle.reconcile_edges()
    log.info("probe schedule: %d added, %d removed", added, removed)
    log.info("maintenance edges: %d windows with a move ahead", edges)
    log.info("periodic jobs: %d scheduled, %d cancelled, %d in place", len(scheduled),
             len(cancelled), len(PERIODIC_JOBS) - len(scheduled))
    scheduler.run(burst=burst)
