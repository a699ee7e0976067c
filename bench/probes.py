"""Probe benchmark: N endpoint monitors run by the Procfile's worker and scheduler.

    .venv/bin/python bench/probes.py [--monitors 2000] [--interval 30] [--duration 180]

Sets up a temporary SQLite database (or --database-url), migrates it with the Procfile's
release step, inserts N endpoint monitors in bulk against a local HTTP server, reconciles the
probe schedule, then runs the Procfile's `worker` and `scheduler` for --duration seconds and
prints what it measured (see bench/README.md). The HTTP server runs in a process of its own,
so its CPU is not counted; it writes down when each connection for /m/<id> arrived.

Redis: REDIS_URL, else redis://127.0.0.1:6379/14. The benchmark needs a Redis database of
its own: it empties that database before and after the run.
"""

import stdlib_first  # noqa: F401,I001 (first: see its docstring)
import argparse
import asyncio
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
ON_TIME = 2.0  # seconds: a check that starts later than this after its due time is late
WARMUP = 5.0  # seconds after the monitors are added before checks are counted
TAIL = 5.0  # seconds before the end: checks due then may still be on their way


# --- the target: a small asyncio HTTP server in its own process -------------------------------

class Target(asyncio.Protocol):
    """Answers every request 200 "ok" and closes; notes when each connection came in."""

    arrivals = []
    reply = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
             b"Connection: close\r\n\r\nok")

    def connection_made(self, transport):
        self.transport = transport
        self.arrived = time.time()
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        if b"\r\n\r\n" not in self.buffer:
            return
        request_line = self.buffer.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        path = parts[1] if len(parts) > 1 else "?"
        Target.arrivals.append((self.arrived, path))
        if path.startswith("/hang/"):
            return  # never answer: the probe's timeout cuts it off
        self.transport.write(self.reply)
        self.transport.close()


def serve(log_path):
    """Run the target until SIGTERM; then write "epoch path" per request to ``log_path``."""
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Target, "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())
    with open(log_path, "w") as log:
        log.writelines(f"{arrived:.6f} {path}\n" for arrived, path in Target.arrivals)


def start_target(log_path):
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(log_path)],
                               stdout=subprocess.PIPE, text=True)
    port = int(process.stdout.readline())
    return process, port


def read_arrivals(log_path):
    """{monitor_id: [arrival epoch, ...]} from the target's log."""
    arrivals = {}
    pattern = re.compile(r"^/(?:m|hang)/(\d+)$")
    for line in Path(log_path).read_text().splitlines():
        arrived, path = line.split(" ", 1)
        match = pattern.match(path)
        if match:
            arrivals.setdefault(int(match.group(1)), []).append(float(arrived))
    return arrivals


# --- setting up the database and the schedule ---------------------------------------------------

def procfile():
    from honcho.environ import parse_procfile

    return parse_procfile((ROOT / "Procfile").read_text()).processes


def process_env(database_url, redis_url, prefix):
    env = {name: value for name, value in os.environ.items()
           if not re.match(r"^(DATABASE_URL|REDIS_URL|MAINTENANT_\w+)$", name)}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, MAINTENANT_REDIS_PREFIX=prefix,
               PYTHONUNBUFFERED="1")
    return env


def command(line, env):
    """A Procfile line as an argument list, its program found on the processes' PATH."""
    args = shlex.split(line)
    args[0] = shutil.which(args[0], path=env["PATH"]) or args[0]
    return args


def create_monitors(app, count, interval, port, hanging=0, timeout=10.0, host="127.0.0.1"):
    """Insert ``count`` endpoint monitors in bulk and put them on the probe schedule.

    The first ``hanging`` of them point at a path the target never answers. ``host`` is the
    name or address in their targets (a name is looked up by every check).

    Returns:
        {monitor_id: first due epoch}, read back from the schedule.
    """
    from maintenant.extensions import db, redis_client
    from maintenant.models import Endpoint, utcnow
    from maintenant.monitors import schedule
    from maintenant.services.monitors import reconcile_probe_schedule

    now = utcnow()
    rows = [dict(id=n, name=f"bench {n}",
                 target=f"http://{host}:{port}/{'hang' if n <= hanging else 'm'}/{n}",
                 status="unknown", paused=False, pending_count=0, failure_threshold=2,
                 interval_seconds=interval, method="GET", headers={}, follow_redirects=True,
                 verify_tls=True, expected_statuses="200-399", timeout_seconds=timeout,
                 created_at=now, updated_at=now)
            for n in range(1, count + 1)]
    with app.app_context():
        db.session.execute(db.insert(Endpoint), rows)
        db.session.commit()
        reconcile_probe_schedule()
        scores = redis_client.client.zrange(schedule.schedule_key(), 0, -1, withscores=True)
        return {schedule.parse_member(name.decode())[1]: score for name, score in scores}


def recorded_checks(app):
    """Checks the worker recorded (MonitorHour.checks, all hours)."""
    from maintenant.extensions import db
    from maintenant.models import MonitorHour

    with app.app_context():
        total = db.session.scalar(db.select(db.func.sum(MonitorHour.checks)))
        db.session.remove()
        return total or 0


# --- the processes under test -----------------------------------------------------------------

class Process:
    """A Procfile process with its output in a file."""

    def __init__(self, name, args, env, log_dir):
        self.name = name
        self.log_path = Path(log_dir) / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)

    def output(self):
        return self.log_path.read_text(errors="replace")

    def cpu_seconds(self):
        """User + system CPU of the process and its children (live and reaped)."""
        import harness

        return harness.cpu_seconds(self.popen.pid)

    def stop(self, grace=15):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


def wait_for_output(process, text, timeout=60):
    deadline = time.monotonic() + timeout
    while text not in process.output():
        if process.popen.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{process.name} did not start:\n{process.output()[-3000:]}")
        time.sleep(0.1)


# --- figures ----------------------------------------------------------------------------------

def punctuality(first_due, arrivals, interval, window):
    """Match each due check in ``window`` with the request it caused.

    A monitor's due times are its first due time plus whole intervals (the schedule is
    anchored); a request belongs to the due time nearest to it.

    Returns:
        (due checks, lateness of each matched check in seconds, unmatched due checks).
    """
    start, end = window
    lateness = []
    due_count = 0
    for monitor_id, first in first_due.items():
        k_first = max(0, -int(-(start - first) // interval))  # ceil
        dues = []
        k = k_first
        while first + k * interval < end:
            dues.append(first + k * interval)
            k += 1
        due_count += len(dues)
        by_slot = {}
        for arrived in arrivals.get(monitor_id, ()):
            slot = round((arrived - first) / interval)
            by_slot.setdefault(slot, arrived)
        for index, due in enumerate(dues):
            arrived = by_slot.get(k_first + index)
            if arrived is not None:
                lateness.append(arrived - due)
    return due_count, lateness, due_count - len(lateness)


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=2000)
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--duration", type=float, default=180,
                        help="seconds the worker and scheduler run (default 180)")
    parser.add_argument("--hanging", type=int, default=0,
                        help="how many of the monitors point at a target that never answers "
                        "(cut off by their --timeout; default 0)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="each monitor's timeout in seconds (default 10)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the name or address in the monitors' targets; a name (e.g. "
                        "localhost, which must resolve to 127.0.0.1) puts a name lookup in "
                        "every check (default 127.0.0.1)")
    parser.add_argument("--database-url", help="a database to use instead of a temporary "
                        "SQLite file (it must be empty: the release step migrates it)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (database, logs) and print its path")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # internal: run the target
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve)

    import redis

    from maintenant import create_app

    workdir = Path(tempfile.mkdtemp(prefix="maintenant-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    prefix = f"maintenant-bench-{uuid.uuid4().hex[:8]}:"
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    env = process_env(database_url, redis_url, prefix)
    lines = procfile()

    release = subprocess.run(command(lines["release"], env), cwd=ROOT, env=env,
                             capture_output=True, text=True)
    if release.returncode:
        raise SystemExit(f"release failed:\n{release.stdout}{release.stderr}")

    target, port = start_target(workdir / "requests.log")
    processes = []
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
                          "REDIS_PREFIX": prefix})
        worker = Process("worker", command(lines["worker"], env), env, workdir)
        scheduler = Process("scheduler", command(lines["scheduler"], env), env, workdir)
        processes = [worker, scheduler]
        wait_for_output(worker, "Listening on")
        wait_for_output(scheduler, "probe schedule:")
        # The monitors arrive while the system runs, as if an operator had added them all at
        # once: their first checks are spread over one interval from now.
        first_due = create_monitors(app, args.monitors, args.interval, port, args.hanging,
                                    args.timeout, args.host)
        added = time.time()
        print(f"{args.monitors} endpoint monitors every {args.interval} s against "
              f"{args.host}:{port} ({args.hanging} never answered, timeout {args.timeout:g} s); "
              f"database {database_url.split(':', 1)[0]}; running {args.duration:g} s",
              flush=True)
        time.sleep(WARMUP)
        window_start = time.time()
        cpu_start = {process.name: process.cpu_seconds() for process in processes}
        redis_cpu_start = redis_cpu(connection)
        time.sleep(max(0.0, added + args.duration - TAIL - time.time()))
        window_end = time.time()
        cpu_end = {process.name: process.cpu_seconds() for process in processes}
        redis_cpu_end = redis_cpu(connection)
        time.sleep(TAIL)
        for process in processes:
            if process.popen.poll() is not None:
                print(f"{process.name} exited early:\n{process.output()[-3000:]}")
    finally:
        for process in processes:
            process.stop()
        target.send_signal(signal.SIGTERM)
        target.wait(30)

    arrivals = read_arrivals(workdir / "requests.log")
    recorded = recorded_checks(app)
    connection.flushdb()
    connection.close()

    seconds = window_end - window_start
    in_window = sum(1 for times in arrivals.values() for t in times
                    if window_start <= t < window_end)
    due_count, lateness, missed = punctuality(first_due, arrivals, args.interval,
                                              (window_start, window_end))
    on_time = sum(1 for late in lateness if -ON_TIME <= late <= ON_TIME)
    total_arrivals = sum(len(times) for times in arrivals.values())
    cpu = {name: cpu_end[name] - cpu_start[name] for name in cpu_end}
    per_1000 = {name: 1000 * used / max(in_window, 1) for name, used in cpu.items()}

    warm_due, warm_lateness, _ = punctuality(first_due, arrivals, args.interval,
                                             (added, window_start))
    warm_on_time = sum(1 for late in warm_lateness if -ON_TIME <= late <= ON_TIME)
    print(f"warm-up ({WARMUP:g} s after the monitors were added): {warm_on_time} of {warm_due} "
          f"checks within {ON_TIME:g} s of due")
    print(f"measured over {seconds:.0f} s")
    print(f"checks/s achieved {in_window / seconds:.1f} vs due {due_count / seconds:.1f}")
    print(f"within {ON_TIME:g} s of due: {100 * on_time / max(due_count, 1):.2f}% "
          f"({on_time} of {due_count}; {missed} never started)")
    print(f"lateness p50 {1000 * percentile(lateness, 0.5):.0f} ms, "
          f"p99 {1000 * percentile(lateness, 0.99):.0f} ms, "
          f"max {1000 * max(lateness, default=float('nan')):.0f} ms")
    print(f"cpu s per 1000 checks: worker {per_1000['worker']:.2f}, "
          f"scheduler {per_1000['scheduler']:.2f}")
    print(f"cpu share of one core: {sum(cpu.values()) / seconds:.3f} "
          f"(worker {cpu['worker'] / seconds:.3f}, scheduler {cpu['scheduler'] / seconds:.3f}; "
          f"redis {(redis_cpu_end - redis_cpu_start) / seconds:.3f}, not counted)")
    print(f"results recorded: {recorded} of {total_arrivals} requests served "
          f"(MonitorHour.checks, whole run)")
    if args.keep:
        print(f"kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def redis_cpu(connection):
    """The Redis server's own CPU seconds (shared by whatever else uses it)."""
    info = connection.info("cpu")
    return info["used_cpu_sys"] + info["used_cpu_user"]


if __name__ == "__main__":
    sys.exit(main())
