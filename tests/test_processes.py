"""The Procfile's processes and the local launcher, run as real processes.

They get only what the tests choose: the test Redis (TEST_REDIS_URL and the run's channel
prefix), a temporary SQLite file or the test database, never the operator's settings. Every
process started here carries a marker in its environment, so whatever outlives a failed test
is found and killed.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from honcho.environ import parse_procfile
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from maintenant.extensions import EVENTS_BACKLOG, QUEUE_DEFAULT, db, redis_client
from maintenant.models import MaintenanceWindow, OutboxEvent, StatusLogEntry, utcnow
from maintenant.scheduler import PERIODIC_JOBS, PeriodicJob, Scheduler, reconcile
from maintenant.services.outbox import record_event

from conftest import TEST_PREFIX, TEST_REDIS_URL
from factories import make_component

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MARKER = "MAINTENANT_TEST_PROCESS"
# Settings a developer's shell may hold that must not leak into the processes under test.
OPERATOR_SETTINGS = re.compile(
    r"^(DATABASE_URL|REDIS_URL|SECRET_KEY|PORT|WEB_CONCURRENCY|GUNICORN_CMD_ARGS|SMTP_\w+"
    r"|MAINTENANT_\w+)$")
START_TIMEOUT = 60


def procfile():
    return parse_procfile((ROOT / "Procfile").read_text()).processes


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_env(marker, **settings):
    env = {name: value for name, value in os.environ.items()
           if not OPERATOR_SETTINGS.match(name)}
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env[MARKER] = marker
    env.update({name: value for name, value in settings.items() if value is not None})
    return env


def marked_pids(marker):
    """Processes whose environment carries this test's marker."""
    needle = f"{MARKER}={marker}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                if needle in environ.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


class Processes:
    """Starts commands in the project folder, and makes sure none outlives the test."""

    def __init__(self, tmp_path):
        self.marker = uuid.uuid4().hex
        self.tmp_path = tmp_path
        self.started = []

    def env(self, **settings):
        return process_env(self.marker, **settings)

    def start(self, command, env, name="process"):
        """Start a shell command (a Procfile line) with its output in a file."""
        log_path = self.tmp_path / f"{name}-{len(self.started)}.log"
        log = open(log_path, "wb")
        process = subprocess.Popen(command, shell=isinstance(command, str), cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        process.log_path = log_path
        self.started.append(process)
        return process

    def run(self, command, env, timeout=START_TIMEOUT):
        """Run a command to its end; returns (exit code, output)."""
        process = self.start(command, env)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{command!r} still running after {timeout}s:\n{output(process)}")
        return process.returncode, output(process)

    def stop_all(self, grace=20):
        """SIGTERM every process group started, then SIGKILL whatever is left after ``grace``."""
        for process in self.started:
            signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while marked_pids(self.marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in marked_pids(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for process in self.started:
            process.wait()
        deadline = time.monotonic() + 5
        while marked_pids(self.marker) and time.monotonic() < deadline:
            time.sleep(0.1)


def signal_group(process, signum):
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def output(process):
    return process.log_path.read_text(errors="replace")


@pytest.fixture
def processes(tmp_path):
    tracker = Processes(tmp_path)
    yield tracker
    tracker.stop_all()
    assert marked_pids(tracker.marker) == [], "processes outlived the test"


@pytest.fixture
def sqlite_url(tmp_path):
    return "sqlite:///" + str(tmp_path / "maintenant.db")


def get(url, timeout=2):
    """(status, body) of a GET, or (None, reason) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (OSError, ValueError) as error:
        return None, str(error)


def wait_until(condition, process, what, timeout=START_TIMEOUT):
    """Poll ``condition`` while ``process`` runs; fail with its output if it never holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            break
        time.sleep(0.25)
    pytest.fail(f"{what}; process output:\n{output(process)}")


def wait_for(url, process, timeout=START_TIMEOUT):
    """The body of ``url`` once it answers 200."""
    answers = []
    wait_until(lambda: answers.append(get(url)) or answers[-1][0] == 200, process,
               f"{url} never answered 200", timeout)
    return answers[-1][1]


def wait_for_output(process, text):
    wait_until(lambda: text in output(process), process, f"no {text!r} in the output")


# The Procfile


def test_procfile_declares_the_four_processes():
    processes = procfile()

    assert list(processes) == ["release", "web", "worker", "scheduler"]
    assert processes["release"] == "flask --app app db upgrade"
    assert processes["worker"] == "python worker.py"
    assert "gunicorn" in processes["web"] and processes["web"].endswith("app:app")


def test_web_serves_healthz_after_the_release_step(processes, sqlite_url):
    env = processes.env(DATABASE_URL=sqlite_url, REDIS_URL=TEST_REDIS_URL,
                        MAINTENANT_REDIS_PREFIX=TEST_PREFIX, PORT=str(free_port()),
                        WEB_CONCURRENCY="1")
    returncode, release_output = processes.run(procfile()["release"], env)
    assert returncode == 0, release_output

    web = processes.start(procfile()["web"], env, name="web")
    body = wait_for(f"http://127.0.0.1:{env['PORT']}/healthz", web)

    assert '"database":"ok"' in body and '"redis":"ok"' in body
    assert "gevent" in output(web)
    wait_for_output(web, "GET /healthz")  # the access log goes to the output


@pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres"),
                    reason="needs TEST_DATABASE_URL on PostgreSQL")
def test_web_accepts_the_postgres_url_form_platforms_hand_out(processes, database_url):
    platform_url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgres://", database_url)
    env = processes.env(DATABASE_URL=platform_url, REDIS_URL=TEST_REDIS_URL,
                        MAINTENANT_REDIS_PREFIX=TEST_PREFIX, PORT=str(free_port()),
                        WEB_CONCURRENCY="1")
    assert processes.run(procfile()["release"], env)[0] == 0

    web = processes.start(procfile()["web"], env, name="web")

    assert '"database":"ok"' in wait_for(f"http://127.0.0.1:{env['PORT']}/healthz", web)


@pytest.mark.parametrize("name", ["web", "worker", "scheduler"])
def test_processes_refuse_to_start_without_redis_url(processes, sqlite_url, name):
    env = processes.env(DATABASE_URL=sqlite_url, PORT=str(free_port()))

    returncode, text = processes.run(procfile()[name], env)

    assert returncode != 0
    assert "REDIS_URL is not set" in text
    assert "Traceback" not in text


# Worker and scheduler


def worker_env(processes, database_url):
    return processes.env(DATABASE_URL=database_url, REDIS_URL=TEST_REDIS_URL,
                         MAINTENANT_REDIS_PREFIX=TEST_PREFIX)


def run_worker_burst(processes, env):
    returncode, text = processes.run("python worker.py --burst", env)
    assert returncode == 0, text
    return text


def test_a_worker_can_be_dedicated_to_the_queues_it_is_given(app, processes, database_url,
                                                             redis_conn):
    from maintenant.extensions import QUEUE_NOTIFICATIONS

    mail = Queue(QUEUE_NOTIFICATIONS, connection=redis_conn).enqueue(
        "maintenant.jobs.drain_outbox")
    other = Queue(QUEUE_DEFAULT, connection=redis_conn).enqueue("maintenant.jobs.drain_outbox")

    returncode, text = processes.run("python worker.py --burst notifications",
                                     worker_env(processes, database_url))

    assert returncode == 0, text
    assert mail.get_status(refresh=True) == JobStatus.FINISHED, text
    assert other.get_status(refresh=True) == JobStatus.QUEUED  # left to the other workers


def test_a_worker_refuses_a_queue_that_does_not_exist(processes, database_url):
    returncode, text = processes.run("python worker.py --burst mail",
                                     worker_env(processes, database_url))

    assert returncode == 2 and "no such queue: mail" in text


def backlog_ids(connection):
    return [int(score) for _, score in
            connection.zrange(redis_client.key(EVENTS_BACKLOG), 0, -1, withscores=True)]


def test_worker_runs_a_queued_drain(app, processes, database_url, redis_conn):
    event = record_event("test_event", {"hello": "world"})
    db.session.commit()
    job = Queue(QUEUE_DEFAULT, connection=redis_conn).enqueue("maintenant.jobs.drain_outbox")

    text = run_worker_burst(processes, worker_env(processes, database_url))

    assert job.get_status(refresh=True) == JobStatus.FINISHED, text
    db.session.expire_all()
    assert db.session.get(OutboxEvent, event.id).published_at is not None
    assert event.id in backlog_ids(redis_conn)


def test_scheduler_and_worker_start_maintenance_on_time(app, processes, database_url,
                                                         redis_conn):
    component = make_component("Database")
    # A window already in progress that nothing has acted on yet: only the clock moved.
    window = MaintenanceWindow(title="Upgrade", starts_at=utcnow() - timedelta(minutes=1),
                               ends_at=utcnow() + timedelta(hours=1), components=[component])
    db.session.add(window)
    db.session.commit()
    env = worker_env(processes, database_url)

    returncode, text = processes.run("flask --app app scheduler --burst", env)
    assert returncode == 0, text
    queued = [job_id for periodic in PERIODIC_JOBS
              for job_id in Queue(periodic.queue, connection=redis_conn).job_ids]
    # The periodic jobs, and one advance for the window the clock moved (its edge is due).
    assert sorted(set(job_id for job_id in queued if job_id.startswith("periodic-"))) == sorted(
        periodic.id for periodic in PERIODIC_JOBS)
    assert [job_id for job_id in queued if job_id.startswith("advance-maintenance-")] != []
    run_worker_burst(processes, env)

    db.session.expire_all()
    last = db.session.scalars(db.select(StatusLogEntry).filter_by(component_id=component.id)
                              .order_by(StatusLogEntry.id.desc())).first()
    assert (last.to_status, last.cause) == ("maintenance", "maintenance")
    changed = db.session.scalars(db.select(OutboxEvent).filter_by(type="component_changed")
                                 .order_by(OutboxEvent.id.desc())).first()
    assert changed.payload["status"] == "maintenance"
    assert changed.published_at is not None
    assert changed.id in backlog_ids(redis_conn)


def test_reconcile_schedules_each_periodic_job_once(redis_conn):
    first, second = Scheduler(connection=redis_conn), Scheduler(connection=redis_conn)

    assert reconcile(first) == ([periodic.id for periodic in PERIODIC_JOBS], [])
    assert reconcile(first) == ([], [])
    assert reconcile(second) == ([], [])

    scheduled = {job.id: job for job in first.get_jobs()}
    assert set(scheduled) == {periodic.id for periodic in PERIODIC_JOBS}
    for periodic in PERIODIC_JOBS:
        assert scheduled[periodic.id].meta["interval"] == periodic.interval
        assert re.fullmatch(r"[A-Za-z0-9_-]+", periodic.id)


def test_reconcile_replaces_changed_and_drops_removed_periodic_jobs(redis_conn):
    scheduler = Scheduler(connection=redis_conn)
    drain, housekeeping = PERIODIC_JOBS[:2]
    reconcile(scheduler, [drain, PeriodicJob(housekeeping.id, housekeeping.func, interval=99),
                          PeriodicJob("periodic-retired", drain.func, interval=60)])
    scheduler.enqueue_in(timedelta(hours=1), "maintenant.jobs.drain_outbox", job_id="one-off")

    scheduled, cancelled = reconcile(scheduler)

    assert scheduled == [housekeeping.id] + [periodic.id for periodic in PERIODIC_JOBS[2:]]
    assert sorted(cancelled) == sorted([housekeeping.id, "periodic-retired"])
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {periodic.id for periodic in PERIODIC_JOBS} | {"one-off"}
    assert jobs[housekeeping.id].meta["interval"] == housekeeping.interval


def queued_periodic(redis_conn):
    """Ids of the periodic jobs waiting in their queues."""
    return sorted(set(job_id for periodic in PERIODIC_JOBS
                      for job_id in Queue(periodic.queue, connection=redis_conn).job_ids))


def all_periodic_ids():
    return sorted(periodic.id for periodic in PERIODIC_JOBS)


def make_due(scheduler):
    """Move every scheduled job's next run into the past."""
    for job in scheduler.get_jobs():
        scheduler.connection.zadd(scheduler.scheduled_jobs_key, {job.id: int(time.time()) - 1})


def test_a_second_scheduler_never_queues_a_job_twice(redis_conn):
    first, second = Scheduler(connection=redis_conn), Scheduler(connection=redis_conn)
    reconcile(first)
    reconcile(second)
    queue = Queue(QUEUE_DEFAULT, connection=redis_conn)

    first.enqueue_jobs()
    second.enqueue_jobs()

    assert queued_periodic(redis_conn) == all_periodic_ids()


def test_a_periodic_job_still_waiting_is_not_queued_again(redis_conn):
    scheduler = Scheduler(connection=redis_conn)
    reconcile(scheduler)
    scheduler.enqueue_jobs()

    make_due(scheduler)  # the workers are down and the jobs are due again
    scheduler.enqueue_jobs()

    assert queued_periodic(redis_conn) == all_periodic_ids()
    assert all(score > time.time() for _, score in redis_conn.zrange(
        scheduler.scheduled_jobs_key, 0, -1, withscores=True)), "rescheduled all the same"


def test_a_finished_periodic_job_is_queued_again_when_due(redis_conn):
    scheduler = Scheduler(connection=redis_conn)
    reconcile(scheduler)
    scheduler.enqueue_jobs()
    for periodic in PERIODIC_JOBS:  # as if a worker had run them
        Queue(periodic.queue, connection=redis_conn).remove(periodic.id)
        Job.fetch(periodic.id, connection=redis_conn).set_status(JobStatus.FINISHED)

    make_due(scheduler)
    scheduler.enqueue_jobs()

    assert queued_periodic(redis_conn) == all_periodic_ids()


# The launcher


def launcher_command(*args):
    script = BIN / "maintenant"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "maintenant.launcher", *args]


def job_status(connection, job_id):
    try:
        return Job.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return None


def test_launcher_starts_everything_with_an_embedded_redis(processes, sqlite_url):
    port = free_port()
    launcher = processes.start(launcher_command("up", "--port", str(port)),
                               processes.env(DATABASE_URL=sqlite_url), name="launcher")

    page = wait_for(f"http://127.0.0.1:{port}/status/", launcher, timeout=90)
    assert "<html" in page.lower()
    health = wait_for(f"http://127.0.0.1:{port}/healthz", launcher)
    assert '"redis":"ok"' in health
    text = output(launcher)
    redis_url = re.search(r"embedded Redis at (redis://\S+)", text).group(1)
    assert redis_url != TEST_REDIS_URL
    assert f"http://127.0.0.1:{port}/status/" in text
    assert "tokens create" in text
    assert "demo" in text, "an empty database gets the demo hint"
    # The scheduler queues the periodic jobs on the embedded Redis, and the worker runs them.
    embedded = redis.Redis.from_url(redis_url)
    wait_until(lambda: job_status(embedded, "periodic-housekeeping") == JobStatus.FINISHED,
               launcher, "housekeeping never ran")
    embedded.close()

    signal_group(launcher, signal.SIGINT)  # Ctrl-C
    launcher.wait(30)

    assert launcher.returncode == 130, output(launcher)
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    assert get(f"http://127.0.0.1:{port}/healthz")[0] is None
    assert marked_pids(processes.marker) == [], "everything stops with the launcher"


def test_launcher_refuses_a_port_in_use(processes, sqlite_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        returncode, text = processes.run(launcher_command("--port", str(port)),
                                         processes.env(DATABASE_URL=sqlite_url))

    assert returncode == 1
    assert f"port {port} is in use" in text


def test_launcher_uses_the_redis_at_redis_url_when_set(processes, sqlite_url, redis_conn):
    port = free_port()
    launcher = processes.start(
        launcher_command("up", "--port", str(port)),
        processes.env(DATABASE_URL=sqlite_url, REDIS_URL=TEST_REDIS_URL,
                      MAINTENANT_REDIS_PREFIX=TEST_PREFIX),
        name="launcher")

    assert '"redis":"ok"' in wait_for(f"http://127.0.0.1:{port}/healthz", launcher, timeout=90)
    wait_until(lambda: job_status(redis_conn, "periodic-housekeeping") == JobStatus.FINISHED,
               launcher, "housekeeping never ran on the test Redis")
    assert "embedded Redis" not in output(launcher)

    signal_group(launcher, signal.SIGINT)
    launcher.wait(30)
    assert launcher.returncode == 130, output(launcher)
