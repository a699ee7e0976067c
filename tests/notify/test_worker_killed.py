"""A worker killed with SIGKILL in the middle of a 2,000-subscriber fan-out loses nobody.

The Procfile's scheduler and worker run against the test Redis and database and mail a real
SMTP server (aiosmtpd, in this process), which counts what it accepts.
"""

import os
import signal
from collections import Counter

from maintenant.extensions import db
from maintenant.models import NotificationDelivery

from factories import make_incident
from test_processes import output, procfile, processes, wait_until, worker_env  # noqa: F401

from .conftest import subscribe_many
from .test_fanout import notify_about

SUBSCRIBERS = 2000


def ledger_rows():
    db.session.rollback()
    return db.session.scalar(db.select(db.func.count(NotificationDelivery.id)))


def test_a_worker_killed_mid_fan_out_is_made_good_by_the_next(app, processes, database_url,
                                                            redis_conn, smtp_server):
    subscribe_many(SUBSCRIBERS)
    settings = {name: str(value) for name, value in smtp_server.settings().items()
                if value is not None}
    env = {**worker_env(processes, database_url), **settings}
    scheduler = processes.start(procfile()["scheduler"], env, name="scheduler")
    worker = processes.start(procfile()["worker"], env, name="worker")

    notify_about(make_incident("Database down", "critical"))
    wait_until(lambda: len(smtp_server.messages) >= 300, worker,
               "the fan-out never got going", timeout=90)
    os.killpg(worker.pid, signal.SIGKILL)  # mid-batch: batches of 100 are on their way
    worker.wait()
    killed_at = len(smtp_server.messages)
    assert killed_at < SUBSCRIBERS, "the worker finished before it could be killed"

    restarted = processes.start(procfile()["worker"], env, name="worker-restarted")
    wait_until(lambda: len(set(smtp_server.recipients())) == SUBSCRIBERS, restarted,
               f"not everyone got the message; scheduler:\n{output(scheduler)}", timeout=240)

    received = Counter(smtp_server.recipients())
    assert len(received) == SUBSCRIBERS
    twice = [address for address, count in received.items() if count > 1]
    assert len(twice) <= 1, twice  # at most the message in flight when the worker died
    assert max(received.values()) <= 2
    assert ledger_rows() == SUBSCRIBERS
