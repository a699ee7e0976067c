"""The process-kill faults, fast: two schedulers at once, one killed; a worker killed mid-batch.

The slow, whole-system version (the Procfile's processes, SIGKILL) is bench/fault_processes.py.
"""

import os
import time
from datetime import datetime, timedelta, timezone

from rq import Queue
from rq.job import Job, JobStatus
from rq.executions import Execution
from rq.registry import StartedJobRegistry

from maintenant.extensions import QUEUE_NOTIFICATIONS, db, get_queue, redis_client
from maintenant.models import Subscriber
from maintenant.notify import fanout
from maintenant.scheduler import LOCK_TTL, PERIODIC_JOBS, Scheduler, reconcile

from factories import make_incident
from mail import smtp_server  # noqa: F401
from notify.conftest import mail_app, subscribe_many  # noqa: F401
from notify.test_fanout import notify_about


def queued(redis_conn):
    """{job id: times it sits in its queue} for the periodic jobs."""
    counts = {}
    for name in {periodic.queue for periodic in PERIODIC_JOBS}:
        for job_id in Queue(name, connection=redis_conn).get_job_ids():
            counts[job_id] = counts.get(job_id, 0) + 1
    return counts


def test_two_schedulers_ticking_at_once_queue_each_periodic_job_once(redis_conn):
    # The first holder's lock lapsed mid-tick: both saw the same jobs due before either
    # queued one, and a worker ran the first's runs before the second got to them.
    first, second = Scheduler(connection=redis_conn), Scheduler(connection=redis_conn)
    reconcile(first)
    seen_by_first = list(first.get_jobs_to_queue())
    seen_by_second = list(second.get_jobs_to_queue())

    for job in seen_by_first:
        first.enqueue_job(job)
    assert queued(redis_conn) == {periodic.id: 1 for periodic in PERIODIC_JOBS}
    run_all(redis_conn)
    for job in seen_by_second:
        second.enqueue_job(job)

    assert queued(redis_conn) == {}


def run_all(redis_conn):
    """What a worker does to the queued periodic jobs: take them off and finish them."""
    for periodic in PERIODIC_JOBS:
        Queue(periodic.queue, connection=redis_conn).remove(periodic.id)
        Job.fetch(periodic.id, connection=redis_conn).set_status(JobStatus.FINISHED)


def test_a_queued_periodic_job_moves_to_its_next_run(redis_conn):
    scheduler = Scheduler(connection=redis_conn)
    reconcile(scheduler)
    before = int(time.time())

    scheduler.enqueue_jobs()

    runs = {name.decode(): score for name, score in
            redis_conn.zrange(scheduler.scheduled_jobs_key, 0, -1, withscores=True)}
    for periodic in PERIODIC_JOBS:
        assert before + periodic.interval <= runs[periodic.id] <= time.time() + periodic.interval


def test_the_lock_names_its_holder_and_lapses_within_seconds(redis_conn):
    holder, other = Scheduler(connection=redis_conn), Scheduler(connection=redis_conn)

    assert holder.acquire_lock()
    assert not other.acquire_lock()

    value = redis_conn.get(Scheduler.scheduler_lock_key).decode()
    assert value.split(":")[1:] == [str(os.getpid()), holder.name]
    # Killed now, it would keep the other from ticking at most LOCK_TTL seconds.
    assert 0 < redis_conn.pttl(Scheduler.scheduler_lock_key) <= LOCK_TTL * 1000
    assert LOCK_TTL <= 5


def test_a_scheduler_leaves_a_lock_taken_over_by_another_alone(redis_conn):
    slow, other = Scheduler(connection=redis_conn), Scheduler(connection=redis_conn)
    assert slow.acquire_lock()
    redis_conn.delete(Scheduler.scheduler_lock_key)  # its lock lapsed mid-tick
    assert other.acquire_lock()

    slow.remove_lock()

    assert redis_conn.get(Scheduler.scheduler_lock_key).decode().endswith(other.name)
    other.remove_lock()
    assert redis_conn.get(Scheduler.scheduler_lock_key) is None


# A worker killed mid-batch


def killed_mid_batch(event, ids, seconds_ago):
    """What a worker SIGKILLed in a batch leaves behind: the job started ``seconds_ago``, still
    in the started registry, and its lease (renewed at its last message) not lapsed yet."""
    queue = get_queue(QUEUE_NOTIFICATIONS)
    job = queue.enqueue("maintenant.jobs.send_batch", event.id, ids,
                        job_id=fanout.batch_job_id(event.id, ids[0]))
    queue.remove(job.id)
    job.started_at = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    job.set_status(JobStatus.STARTED)
    job.save()
    with redis_client.client.pipeline() as pipeline:
        execution = Execution.create(job, ttl=3600, pipeline=pipeline)
        StartedJobRegistry(queue=queue).add_execution(execution, pipeline=pipeline, ttl=3600)
        pipeline.execute()
    lease = fanout.Lease(fanout.lease_key(event.id, ids))
    assert lease.acquire()
    return job, lease


def test_a_dead_batch_is_queued_again_only_once_its_lease_lapsed(mail_app, redis_conn):
    subscribe_many(3)
    event = notify_about(make_incident())
    ids = db.session.scalars(db.select(Subscriber.id)).all()
    # It started long ago but sent its last message just now: its lease still runs.
    job, lease = killed_mid_batch(event, ids, seconds_ago=fanout.LEASE_SECONDS + 5)
    queue = get_queue(QUEUE_NOTIFICATIONS)

    assert fanout.recover_abandoned_batches(queue, fanout.utcnow()) == 0

    redis_conn.delete(lease.key)  # LEASE_SECONDS after its last message
    assert fanout.recover_abandoned_batches(queue, fanout.utcnow()) == 1
    [again] = queue.get_jobs()
    assert again.args[:2] == (event.id, ids)


def test_a_batch_finding_its_dead_run_s_lease_looks_again_once_it_lapsed(mail_app, smtp_server,
                                                                        redis_conn):
    from rq_scheduler import Scheduler as RqScheduler

    subscribe_many(3)
    event = notify_about(make_incident())
    ids = db.session.scalars(db.select(Subscriber.id)).all()
    killed_mid_batch(event, ids, seconds_ago=1)  # RQ itself retried it at once

    assert fanout.send_batch(event.id, ids) == 0

    [later] = RqScheduler(connection=redis_conn).get_jobs(with_times=True)
    job, at = later
    assert job.func_name == "maintenant.jobs.send_batch" and job.args == (event.id, ids, 0)
    assert at >= datetime.now() + timedelta(seconds=fanout.LEASE_SECONDS - 5)
    redis_conn.delete(fanout.Lease(fanout.lease_key(event.id, ids)).key)  # it lapsed
    assert fanout.send_batch(*job.args) == 3  # as the scheduler will run it
    assert len(smtp_server.messages) == 3


def test_a_scheduler_finding_redis_empty_has_recent_mail_fanned_out_again(app, redis_conn):
    from maintenant.scheduler import FAN_OUT_AGAIN_JOB, reconcile_all

    scheduler = Scheduler(connection=redis_conn)
    mail = Queue(QUEUE_NOTIFICATIONS, connection=redis_conn)

    reconcile_all(scheduler)  # every periodic job missing: Redis lost its data (or first start)
    assert FAN_OUT_AGAIN_JOB in mail.get_job_ids()

    mail.empty()
    reconcile_all(scheduler)  # everything in place: nothing was lost
    assert FAN_OUT_AGAIN_JOB not in mail.get_job_ids()
