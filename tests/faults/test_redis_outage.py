"""Redis going away: writes are kept, and the scheduler and the worker come back by themselves.

The tests that stop Redis run a private redis-server (bench/harness.py's ``RedisServer``) on a
port of their own, never the suite's. The slow, whole-system version (the Procfile's
processes, 1,000 readers, a 30 s outage, subscribers' emails) is bench/fault_redis.py.
"""

import importlib.util
import os
import signal
import sys
import time
from pathlib import Path

import pytest
import redis

from conftest import make_config, running_app
from maintenant import scheduler as scheduler_module
from maintenant.events import get_broker
from maintenant.extensions import EVENTS_BACKLOG, db, redis_client
from maintenant.models import OutboxEvent
from maintenant.scheduler import PERIODIC_JOBS, Scheduler, reconcile_all
from maintenant.services.outbox import drain_outbox
from maintenant.services.tokens import create_token

from test_processes import output, procfile, processes, wait_until  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]


def load_harness():
    """bench/harness.py, loaded by path (the bench folder is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_harness", ROOT / "bench" / "harness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def private_redis(tmp_path):
    server = load_harness().RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def outage_app(database_url, private_redis):
    """An app on the test database and the private Redis."""
    with running_app(make_config(database_url, REDIS_URL=private_redis.url)) as app:
        yield app


def unpublished():
    db.session.rollback()
    return db.session.scalars(db.select(OutboxEvent.id).where(
        OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id)).all()


def test_writes_answer_while_redis_is_down_and_their_events_follow_once_it_is_back(
        outage_app, private_redis):
    headers = {"Authorization": f"Bearer {create_token('writer')[1]}"}
    client = outage_app.test_client()
    component = client.post("/api/v1/status/components", json={"name": "API"},
                            headers=headers).get_json()
    private_redis.stop()

    started = time.monotonic()
    answers = [
        client.put(f"/api/v1/status/components/{component['id']}",
                   json={"status_override": "major_outage"}, headers=headers),
        client.post("/api/v1/status/incidents", headers=headers, json={
            "title": "Errors", "severity": "major", "components": [component["id"]],
            "message": "Looking into it."}),
    ]
    answers.append(client.post(f"/api/v1/status/incidents/{answers[1].get_json()['id']}"
                               "/updates", headers=headers,
                               json={"status": "identified", "message": "Found it."}))
    took = time.monotonic() - started

    assert [answer.status_code for answer in answers] == [200, 201, 201]
    assert took < 3  # a write does not sit in Redis retries while Redis is down
    assert client.get("/status/api").status_code == 200
    kept = unpublished()
    assert len(kept) >= 3

    private_redis.start()
    assert drain_outbox() == len(kept)
    backlog = redis_client.client.zrange(redis_client.key(EVENTS_BACKLOG), 0, -1,
                                         withscores=True)
    assert [int(score) for _, score in backlog] == kept
    assert unpublished() == []


def test_the_broker_subscribes_again_within_moments_of_redis_coming_back(
        outage_app, private_redis):
    broker = get_broker(outage_app)
    assert broker.wait_until_healthy(5)
    private_redis.stop()
    time.sleep(4)  # long enough for the reconnect delays to grow to their cap
    assert not broker.healthy

    private_redis.start()
    back = time.monotonic()
    assert broker.wait_until_healthy(5)
    # Delays of 0.5, 1, 2, 2 s: the next try is at most 2 s away (a 10 s cap would make it
    # 3.5 s here, and up to 10 s after a long outage).
    assert time.monotonic() - back < 2.5


def scheduled(connection):
    return {name.decode() for name in
            connection.zrange(Scheduler.scheduled_jobs_key, 0, -1)}


def test_a_tick_reschedules_the_periodic_jobs_redis_lost(app, redis_conn):
    scheduler = Scheduler(connection=redis_conn)
    scheduler.periodic_jobs = PERIODIC_JOBS
    reconcile_all(scheduler)
    redis_conn.flushdb()  # what a restart of a Redis without persistence leaves

    scheduler.enqueue_jobs()

    assert scheduled(redis_conn) == {periodic.id for periodic in PERIODIC_JOBS}


def test_the_scheduler_waits_for_redis_instead_of_exiting(monkeypatch):
    lives = []

    def serve(connection, interval, burst):
        lives.append(time.monotonic())
        if len(lives) < 3:
            raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(scheduler_module, "serve", serve)
    monkeypatch.setattr(scheduler_module, "REDIS_RETRY", 0)

    scheduler_module.run_scheduler(None)

    assert len(lives) == 3


def load_worker_module():
    sys.path.insert(0, str(ROOT))
    try:
        import worker
    finally:
        sys.path.remove(str(ROOT))
    return worker


@pytest.mark.parametrize("stopping, done", [(False, False), (True, True)])
def test_a_worker_that_rq_gave_up_on_is_replaced_unless_asked_to_stop(
        app, redis_conn, monkeypatch, stopping, done):
    worker = load_worker_module()

    def work(self, burst=False):
        self.stopping = stopping
        raise redis.ConnectionError("Connection refused")  # rq's clean-up, Redis gone

    monkeypatch.setattr(worker.AppWorker, "work", work)

    assert worker.work(redis_conn, burst=False) is done


def test_the_scheduler_process_survives_a_redis_restart_and_schedules_again(
        processes, database_url, private_redis):  # noqa: F811 (fixture)
    env = processes.env(DATABASE_URL=database_url, REDIS_URL=private_redis.url,
                        MAINTENANT_REDIS_PREFIX="fault-test:")
    scheduler = processes.start(procfile()["scheduler"], env, name="scheduler")
    connection = private_redis.client()
    wanted = {periodic.id for periodic in PERIODIC_JOBS}
    wait_until(lambda: scheduled(connection) == wanted, scheduler,
               f"no periodic jobs:\n{output(scheduler)}", timeout=20)

    private_redis.stop()
    time.sleep(1.5)  # long enough for a tick to fail
    private_redis.start()

    wait_until(lambda: scheduled(connection) == wanted, scheduler,
               f"periodic jobs not scheduled again:\n{output(scheduler)}", timeout=10)
    assert scheduler.poll() is None, output(scheduler)

    # Told to stop while Redis is down: it stops, rather than wait for Redis to come back.
    private_redis.stop()
    time.sleep(1.5)
    os.killpg(scheduler.pid, signal.SIGTERM)
    assert scheduler.wait(5) is not None, output(scheduler)
