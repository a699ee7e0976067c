"""The two process-kill faults of the fault script (bench/faults.py): a worker killed mid
fan-out and mid probe batch, and a scheduler killed while a second one runs.

- ``worker-killed``: 2,000 confirmed subscribers and an SMTP sink, a few hundred endpoint
  monitors probing a local target, two workers, the scheduler and web. An incident is opened
  (notifying) and one worker is killed with SIGKILL while it sends a batch of mail, with the
  checks it was handed still in its pool; a replacement worker starts. Holds when every
  subscriber got the message, no more were sent twice than the one message in flight, the
  ledger has one row per subscriber, every monitor was checked again within its interval
  (plus a few seconds) of the kill and the schedule still holds each monitor once.
- ``scheduler-failover``: two schedulers and a worker; every push of a job onto a queue is
  watched with Redis MONITOR. The scheduler holding rq-scheduler's lock is killed with
  SIGKILL in the middle of its tick. Holds when the other takes over within seconds, every
  periodic job kept its interval (no gap longer than interval + takeover, none closer than
  its interval: never queued twice), no job sat twice in a queue, and probes and a
  maintenance window due after the kill still happened on time.

The Procfile's processes run as they are, against a private redis-server and a private
PostgreSQL cluster (bench/harness.py).
"""

import stdlib_first  # noqa: F401,I001 (first: see its docstring)
import importlib.util
import re
import secrets
import signal
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from harness import (ROOT, PostgresServer, RedisServer, free_port, procfile_process,
                     process_env, release, request, wait_for_http, wait_until)
from probes import create_monitors, read_arrivals, start_target

API = "/api/v1/status"
PREFIX = "maintenant-fault:"
SUBSCRIBERS = 2000
MONITORS = 300
PROBE_INTERVAL = 6  # seconds
# A monitor counts as checked on schedule after the kill when its next check arrived within
# its interval plus this (the dispatcher's lookahead, the queue, one busy worker).
PROBE_SLACK = 4.0
# The kill lands while the victim's pool still holds checks: it took a probe batch queued
# less than this many seconds ago (the batch's checks are due 0.5 to 1.5 s after that).
IN_POOL = 0.9
MAIL_WAIT = 240  # seconds after the kill for every subscriber's message (a lease is 60 s)
# Periodic runs are whole seconds apart in rq-scheduler; a run closer to the previous one
# than its interval minus this was queued twice.
RUN_TOLERANCE = 1.2
FAILOVER_WARMUP = 20  # seconds both schedulers run before the kill
FAILOVER_AFTER = 45  # seconds the survivor runs after the kill
TAKEOVER_LIMIT = 5.0  # seconds: "the schedule keeps going within seconds"


def load_email_bench():
    """bench/email.py as a module (its name shadows the standard library's ``email``)."""
    spec = importlib.util.spec_from_file_location("bench_email", ROOT / "bench" / "email.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Stack:
    """The private servers and the Procfile's processes of one scenario, stopped however it
    ends."""

    def __init__(self, workdir, **settings):
        self.workdir = workdir
        self.processes = []
        self.cleanups = []
        self.redis = RedisServer(workdir)
        self.cleanups.append(self.redis.stop)
        self.postgres = PostgresServer()  # in /tmp: postgres cannot enter workdir (0700)
        self.cleanups.append(self.postgres.destroy)
        self.token = secrets.token_urlsafe(24)
        self.port = free_port()
        self.env = process_env(self.postgres.url, self.redis.url, PORT=self.port,
                               WEB_CONCURRENCY=1, MAINTENANT_API_TOKEN=self.token,
                               MAINTENANT_REDIS_PREFIX=PREFIX, **settings)
        release(self.env, workdir)

    def app(self, **config):
        from maintenant import create_app

        return create_app({"SQLALCHEMY_DATABASE_URI": self.postgres.url,
                           "REDIS_URL": self.redis.url, "REDIS_PREFIX": PREFIX,
                           "API_TOKEN": self.token, **config})

    def start(self, kind, name=None):
        process = procfile_process(kind, self.env, self.workdir, name=name)
        self.processes.append(process)
        return process

    def api(self, method, path, body=None):
        status, data, _ = request(self.port, method, API + path, body, token=self.token)
        if status >= 300:
            raise RuntimeError(f"{method} {path} answered {status}: {data!r}")
        return data

    def close(self):
        for process in reversed(self.processes):
            process.stop()
        for cleanup in reversed(self.cleanups):
            cleanup()


def started(process, text, timeout=90):
    wait_until(lambda: text in process.output(), f"{process.name} starting", timeout,
               poll=0.2, process=process)


def stop_target(target):
    target.send_signal(signal.SIGTERM)
    target.wait(30)


class ProbeBatches:
    """The probe batches (run_probes jobs) each worker took: their ids, from the line RQ logs
    as it takes a job off the probes queue, and when the scheduler queued each one (seen by
    ``pushes``). A batch holds checks due 0.5 to 1.5 s after it was queued (the dispatcher's
    lookahead); a worker that took it holds the later ones in its pool until they are due."""

    TAKEN = re.compile(r"probes(?:\x1b\[[0-9;]*m)?: maintenant\.jobs\.run_probes\(.*"
                       r"\(([0-9a-f-]{36})\)")

    def __init__(self, workers, pushes):
        self.workers = workers
        self.pushes = pushes
        # Only what they log from now on: a batch taken earlier has left their pools.
        self.read = {worker.name: worker.log_path.stat().st_size for worker in workers}
        self.last = {}

    def queued_at(self):
        """{worker name: when the last probe batch it took was queued}."""
        for worker in self.workers:
            with open(worker.log_path, "rb") as log:
                log.seek(self.read[worker.name])
                data = log.read()
            self.read[worker.name] += len(data)
            taken = self.TAKEN.findall(data.decode(errors="replace"))
            if taken:
                self.last[worker.name] = taken[-1]
        queued = {job_id: at for at, _, job_id in self.pushes.pushes[-500:]}
        return {name: queued[job_id] for name, job_id in self.last.items() if job_id in queued}


def rq_workers(connection):
    """{pid: current job id or None} of the RQ workers registered on ``connection``."""
    from rq import Worker

    return {worker.pid: worker.get_current_job_id() for worker in Worker.all(connection)}


def is_batch(job_id):
    """Whether an RQ job id is a subscriber batch (notify-<event>-<first>-<attempt>...)."""
    return bool(job_id) and job_id.startswith("notify-") and job_id.count("-") >= 3


def schedule_members(connection):
    from maintenant.monitors import schedule

    names = [name.decode() for name in
             connection.zrange(PREFIX + schedule.SCHEDULE, 0, -1)]
    return Counter(schedule.parse_member(name)[1] for name in names)


def probes_after(arrivals, monitor_ids, since, interval):
    """How each monitor's checks went after ``since``.

    Returns:
        (waits: seconds from ``since`` to each monitor's first check after it, None if none;
         lost: monitors whose check due around ``since`` never came (a gap longer than 1.5
         intervals across it); worst gap between two checks after the first one).
    """
    waits, lost, worst = {}, 0, 0.0
    for monitor_id in monitor_ids:
        times = sorted(arrivals.get(monitor_id, ()))
        before = [at for at in times if at <= since]
        after = [at for at in times if at > since]
        waits[monitor_id] = after[0] - since if after else None
        if before and after and after[0] - before[-1] > 1.5 * interval:
            lost += 1
        for previous, current in zip(after, after[1:]):
            worst = max(worst, current - previous)
    return waits, lost, worst


def ledger_rows(app):
    from maintenant.extensions import db
    from maintenant.models import NotificationDelivery

    with app.app_context():
        rows = db.session.scalar(db.select(db.func.count(NotificationDelivery.id)))
        db.session.remove()
        return rows


# --- worker-killed ------------------------------------------------------------------------

def run_worker_killed(workdir):
    email = load_email_bench()
    sink = email.Sink(workdir)
    target, target_port = start_target(workdir / "requests.log")
    stack = None
    try:
        stack = Stack(workdir, SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_TLS="none",
                      SMTP_FROM="status@example.com")
        stack.cleanups.insert(0, sink.stop)
        app = stack.app()
        email.add_subscribers(app, SUBSCRIBERS)
        create_monitors(app, MONITORS, PROBE_INTERVAL, target_port, timeout=5.0)
        redis = stack.redis.client()

        pushes = QueuePushes(stack.redis)
        web = stack.start("web")
        workers = [stack.start("worker", f"worker{n}") for n in (1, 2)]
        scheduler = stack.start("scheduler")
        wait_for_http(web, stack.port)
        for worker in workers:
            started(worker, "Listening on")
        started(scheduler, "periodic jobs:")
        time.sleep(2 * PROBE_INTERVAL)  # probes in their rhythm before anything breaks

        component = stack.api("POST", "/components", {"name": "API"})
        stack.api("POST", "/incidents", {
            "title": "Elevated error rates", "severity": "major", "notify": True,
            "components": [component["id"]], "message": "Some requests fail; we are on it."})
        posted = time.time()

        probe_batches = ProbeBatches(workers, pushes)

        def mid_batch():
            """A worker sending a batch of mail with the checks of a probe batch it took
            just before still waiting in its pool, while the fan-out is under way."""
            received = len({recipient for _, recipient in sink.read()[1]})
            if not 200 <= received < SUBSCRIBERS - 300:
                return None
            queued = probe_batches.queued_at()
            by_pid = {worker.popen.pid: worker for worker in workers}
            for pid, job_id in rq_workers(redis).items():
                worker = by_pid.get(pid)
                if (worker is not None and is_batch(job_id)
                        and time.time() - queued.get(worker.name, 0) < IN_POOL):
                    return worker, job_id, received
            return None

        victim, batch_id, received_before = wait_until(mid_batch, "a worker mid fan-out",
                                                       timeout=120, poll=0.02)
        victim.kill(signal.SIGKILL)
        killed_at = time.time()
        victim.popen.wait(10)
        replacement = stack.start("worker", "worker3")

        def everyone():
            return len({recipient for _, recipient in sink.read()[1]}) >= SUBSCRIBERS

        wait_until(everyone, "every subscriber's message", MAIL_WAIT, poll=0.5,
                   process=replacement)
        all_mailed = time.time()
        time.sleep(max(2.0, killed_at + 2 * PROBE_INTERVAL + PROBE_SLACK - time.time()))
        ended = time.time()
        members = schedule_members(redis)
        recovered = sum(worker.output().count("abandoned by a dead worker")
                        for worker in [*workers, replacement])
        ledger = ledger_rows(app)
    finally:
        if stack is not None:
            stack.close()
        else:
            sink.stop()
        stop_target(target)

    received = Counter(recipient for _, recipient in sink.read()[1])
    twice = {address: count - 1 for address, count in received.items() if count > 1}
    arrivals = read_arrivals(workdir / "requests.log")
    waits, lost, worst = probes_after(arrivals, range(1, MONITORS + 1), killed_at,
                                      PROBE_INTERVAL)
    unchecked = [monitor_id for monitor_id, wait in waits.items() if wait is None]
    slowest = max((wait for wait in waits.values() if wait is not None), default=float("nan"))
    lines = [
        f"{SUBSCRIBERS} subscribers, {MONITORS} endpoint monitors every {PROBE_INTERVAL} s, "
        f"2 workers + scheduler + web on PostgreSQL",
        f"killed {victim.name} (SIGKILL) {killed_at - posted:.1f} s after the incident, while "
        f"it ran batch {batch_id}, with {received_before} of {SUBSCRIBERS} recipients mailed",
        f"every subscriber mailed {all_mailed - killed_at:.1f} s after the kill "
        f"({recovered} abandoned batch(es) queued again); {len(received)} recipients, "
        f"{sum(twice.values())} duplicate(s) {sorted(twice)}; ledger {ledger} rows",
        f"probes: {lost} check(s) in flight in the killed worker's pool lost (the kill landed "
        f"mid probe batch: {'yes' if lost else 'no'}), every monitor "
        f"checked again within {slowest:.1f} s of the kill (interval {PROBE_INTERVAL} s); "
        f"{len(unchecked)} never checked again; worst gap between checks after that "
        f"{worst:.1f} s (over {ended - killed_at:.0f} s)",
        f"schedule: {len(members)} monitors, {sum(members.values())} entries "
        f"(each once: {'yes' if set(members.values()) == {1} else 'no'})",
    ]
    # lost > 0: the kill did land mid probe batch, else the scenario proved less than it says.
    ok = (lost > 0 and len(received) == SUBSCRIBERS and sum(twice.values()) <= 1
          and ledger == SUBSCRIBERS and not unchecked
          and slowest <= PROBE_INTERVAL + PROBE_SLACK and worst <= PROBE_INTERVAL + PROBE_SLACK
          and len(members) == MONITORS and set(members.values()) == {1})
    return ok, lines


# --- scheduler-failover -------------------------------------------------------------------

class QueuePushes:
    """Every push of a job id onto an RQ queue, seen through Redis MONITOR:
    [(epoch, queue name, job id)]."""

    def __init__(self, redis_server):
        import redis

        self.connection = redis.Redis(port=redis_server.port)
        self.pushes = []
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        import redis

        try:
            with self.connection.monitor() as monitor:
                for command in monitor.listen():
                    words = command["command"].split(" ")
                    if (len(words) == 3 and words[0] in ("RPUSH", "LPUSH")
                            and words[1].startswith("rq:queue:")):
                        self.pushes.append((command["time"], words[1][len("rq:queue:"):],
                                            words[2]))
        except (redis.RedisError, OSError, ValueError):
            return  # the server went away at the end

    def of(self, job_id):
        return [at for at, _, pushed in self.pushes if pushed == job_id]


def lock_holder_pid(connection):
    """The pid in rq-scheduler's lock (``host:pid:name``), or None when nobody holds it."""
    from maintenant.scheduler import Scheduler

    value = connection.get(Scheduler.scheduler_lock_key)
    if not value:
        return None
    parts = value.decode().split(":")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else -1


def run_scheduler_failover(workdir):
    from maintenant.scheduler import PERIODIC_JOBS

    target, target_port = start_target(workdir / "requests.log")
    stack = None
    try:
        stack = Stack(workdir)
        app = stack.app()
        monitors = 50
        create_monitors(app, monitors, PROBE_INTERVAL, target_port, timeout=5.0)
        redis = stack.redis.client()
        pushes = QueuePushes(stack.redis)
        web = stack.start("web")
        worker = stack.start("worker")
        schedulers = [stack.start("scheduler", f"scheduler{n}") for n in (1, 2)]
        wait_for_http(web, stack.port)
        started(worker, "Listening on")
        for scheduler in schedulers:
            started(scheduler, "periodic jobs:")
        component = stack.api("POST", "/components", {"name": "Database"})
        time.sleep(FAILOVER_WARMUP)

        # Kill the scheduler that holds the lock, in the middle of its tick: the worst case,
        # the other waits for the lock to lapse.
        by_pid = {scheduler.popen.pid: scheduler for scheduler in schedulers}
        holder = wait_until(lambda: by_pid.get(lock_holder_pid(redis)), "a scheduler's tick",
                            timeout=30, poll=0.001)
        holder.kill(signal.SIGKILL)
        killed_at = time.time()
        survivor = next(scheduler for scheduler in schedulers if scheduler is not holder)
        window_start = killed_at + 8
        stack.api("POST", "/maintenance", {
            "title": "Failover check", "components": [component["id"]],
            "starts_at": datetime.fromtimestamp(window_start, timezone.utc).isoformat(),
            "ends_at": (datetime.fromtimestamp(window_start, timezone.utc)
                        + timedelta(hours=1)).isoformat()})

        def in_maintenance():
            status, data, _ = request(stack.port, "GET", "/status/api")
            return status == 200 and any(item["status"] == "maintenance"
                                         for item in data.get("components", []))

        wait_until(in_maintenance, "the maintenance window starting", 30, poll=0.2)
        maintenance_late = time.time() - window_start
        time.sleep(max(0.0, killed_at + FAILOVER_AFTER - time.time()))
        ended = time.time()
        survivor_alive = survivor.alive
        queued_twice = {job_id: count for name in {p.queue for p in PERIODIC_JOBS}
                        for job_id, count in Counter(
                            raw.decode() for raw in redis.lrange(f"rq:queue:{name}", 0, -1)
                        ).items() if count > 1}
    finally:
        if stack is not None:
            stack.close()
        stop_target(target)

    after = [at for at, _, _ in pushes.pushes if at > killed_at]
    takeover = (after[0] - killed_at) if after else float("inf")
    lines = [f"2 schedulers + worker + web on PostgreSQL; {monitors} monitors every "
             f"{PROBE_INTERVAL} s; killed {holder.name} (SIGKILL) while it held the lock, "
             f"{FAILOVER_WARMUP} s in; watched {ended - killed_at:.0f} s more",
             f"takeover: the first job queued {takeover:.2f} s after the kill "
             f"(by {survivor.name}, alive at the end: {'yes' if survivor_alive else 'no'})"]
    ok = takeover <= TAKEOVER_LIMIT and survivor_alive and not queued_twice
    for periodic in PERIODIC_JOBS:
        times = pushes.of(periodic.id)
        gaps = [current - previous for previous, current in zip(times, times[1:])]
        closest = min(gaps, default=float("nan"))
        widest = max(gaps, default=float("nan"))
        first_after = next((at - killed_at for at in times if at > killed_at), None)
        # Runs expected after the kill: one per interval, the first within interval+takeover.
        last = max(times, default=0)
        held = (bool(times) and (not gaps or closest >= periodic.interval - RUN_TOLERANCE)
                and (not gaps or widest <= periodic.interval + takeover + RUN_TOLERANCE)
                and ended - last <= periodic.interval + takeover + RUN_TOLERANCE)
        ok = ok and held
        lines.append(
            f"{periodic.id} (every {periodic.interval} s): {len(times)} runs, gaps "
            f"{closest:.1f}..{widest:.1f} s, first after the kill "
            + (f"{first_after:.1f} s" if first_after is not None else "none")
            + ("" if held else "  <-- FAILED"))
    arrivals = read_arrivals(workdir / "requests.log")
    waits, lost, worst = probes_after(arrivals, range(1, monitors + 1), killed_at,
                                      PROBE_INTERVAL)
    slowest = max((wait for wait in waits.values() if wait is not None), default=float("inf"))
    unchecked = sum(1 for wait in waits.values() if wait is None)
    probes_ok = (not unchecked and slowest <= PROBE_INTERVAL + takeover + PROBE_SLACK
                 and worst <= PROBE_INTERVAL + PROBE_SLACK)
    lines.append(f"probes: every monitor checked within {slowest:.1f} s of the kill "
                 f"({unchecked} never; {lost} skipped a check across it); worst gap after "
                 f"{worst:.1f} s (interval {PROBE_INTERVAL} s)")
    lines.append(f"maintenance window due {window_start - killed_at:.0f} s after the kill: "
                 f"the page showed it {maintenance_late:.1f} s after its start")
    lines.append(f"periodic jobs found twice in a queue at the end: {queued_twice or 'none'}; "
                 f"{len(pushes.pushes)} pushes watched in all")
    ok = ok and probes_ok and maintenance_late <= TAKEOVER_LIMIT
    return ok, lines


SCENARIOS = {"worker-killed": run_worker_killed, "scheduler-failover": run_scheduler_failover}
