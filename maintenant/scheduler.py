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
from rq.job import JobStatus

from . import jobs
from .extensions import QUEUE_DEFAULT

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
)


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

    def still_waiting(self, job):
        queue = self.get_queue_for_job(job)
        return (job.get_status() == JobStatus.QUEUED
                and self.connection.lpos(queue.key, job.id) is not None)


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
    scheduler = Scheduler(connection=connection, interval=interval)
    with scheduler_lock(scheduler):
        scheduled, cancelled = reconcile(scheduler)
    log.info("periodic jobs: %d scheduled, %d cancelled, %d in place", len(scheduled),
             len(cancelled), len(PERIODIC_JOBS) - len(scheduled))
    scheduler.run(burst=burst)
