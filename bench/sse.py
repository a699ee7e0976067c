"""Live-update benchmark: C SSE readers on the Procfile's web process, and on flask-sse.

    .venv/bin/python bench/sse.py [--clients 5000] [--workers 2] [--rounds 3]
                                  [--only maintenant|flask-sse] [--keep]

For each app in turn: starts a private redis-server on a free port, starts gunicorn (for
maintenant the Procfile's `web` line as it is, on a temporary SQLite database migrated with
the `release` line; for flask-sse bench/flask_sse_app.py with the same worker class, workers
and worker_connections), connects C readers from a few client processes (asyncio, raw
sockets), measures the workers' memory and the Redis server's client connections, then
publishes --rounds events (maintenant: a component's status_override through the API;
flask-sse: its `sse.publish` through a route) and times when each reader got each one.
Prints one line per app and a side-by-side table (see bench/README.md). Needs the `bench`
extra: `.venv/bin/pip install -e '.[bench]'`.
"""

import stdlib_first  # noqa: F401,I001 (first: see its docstring)
import argparse
import asyncio
import contextlib
import http.client
import json
import math
import multiprocessing
import os
import re
import resource
import runpy
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

APPS = ("maintenant", "flask-sse")
EVENT_NAME = "status.component_changed"
# The override each round sets: consecutive ones always differ, so each PUT is a change.
OVERRIDES = ("major_outage", "degraded", "partial_outage")
FLASK_SSE_CHANNEL = "sse"  # flask-sse's default channel
CONNECTIONS_PER_CLIENT_PROCESS = 2500
CONNECT_BATCH = 100  # connections a client process opens at once (the listen backlog is finite)
CONNECT_ATTEMPTS = 10
STALL_SECONDS = 20.0  # give up waiting for readers (connecting, or an event) after no progress
TOKEN = "bench-sse-token"
TARGETS = {"clients": 10000, "p99": 1.0, "kb": 30.0}


# --- the clients: asyncio processes holding the readers ------------------------------------------

class Reader(asyncio.Protocol):
    """One SSE reader: sends the GET, notes its first bytes and each EVENT_NAME event."""

    def __init__(self, request, first_bytes):
        self.request = request
        self.first_bytes = first_bytes  # a future, done with the first bytes received
        self.transport = None
        self.partial = b""
        self.events = []  # receive time of each EVENT_NAME event, in order
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        now = time.time()
        if not self.first_bytes.done():
            self.first_bytes.set_result(now)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            # "event: NAME" (maintenant) or "event:NAME" (flask-sse); chunk-size lines and
            # data lines never start with "event:".
            if line.startswith(b"event:") and line[6:].strip() == EVENT_NAME.encode():
                self.events.append(now)

    def connection_lost(self, exc):
        self.closed = True
        if not self.first_bytes.done():
            self.first_bytes.set_result(None)


class ClientProcess:
    """The loop of one client process, driven by commands on a pipe (one reply each)."""

    def __init__(self, conn, port, path):
        self.conn = conn
        self.port = port
        self.request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n").encode()
        self.readers = []
        self.failed = 0
        self.done = None

    async def run(self):
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        loop.add_reader(self.conn.fileno(), self.on_command)
        await self.done

    def on_command(self):
        try:
            command, *params = self.conn.recv()
        except EOFError:  # the bench went away
            command, params = "close", []
        if command == "open":
            asyncio.ensure_future(self.open(*params))
        elif command == "stats":
            self.conn.send(self.stats())
        elif command == "times":
            (index,) = params
            self.conn.send([r.events[index] if len(r.events) > index else None
                            for r in self.readers])
        elif command == "close":
            for reader in self.readers:
                if reader.transport is not None:
                    reader.transport.abort()
            asyncio.get_running_loop().remove_reader(self.conn.fileno())
            if not self.done.done():
                self.done.set_result(None)

    def stats(self):
        most = max((len(r.events) for r in self.readers), default=0)
        return {
            "open": sum(1 for r in self.readers if not r.closed),
            "first_bytes": sum(1 for r in self.readers if r.first_bytes.done()
                               and r.first_bytes.result() is not None),
            "closed": sum(1 for r in self.readers if r.closed),
            "failed": self.failed,
            "events": [sum(1 for r in self.readers if len(r.events) > k) for k in range(most)],
        }

    async def open(self, count, wait_first):
        """Open ``count`` readers, CONNECT_BATCH at a time; with ``wait_first`` a batch is
        done when each of its readers got its first bytes (or gave up)."""
        started = time.time()
        for start in range(0, count, CONNECT_BATCH):
            size = min(CONNECT_BATCH, count - start)
            await asyncio.gather(*(self.open_one(wait_first) for _ in range(size)))
            if not wait_first:
                await asyncio.sleep(0.05)  # nothing to wait for: let the server catch up
        self.conn.send({"opened": count - self.failed, "seconds": time.time() - started})

    async def open_one(self, wait_first):
        loop = asyncio.get_running_loop()
        for attempt in range(CONNECT_ATTEMPTS):
            first_bytes = loop.create_future()
            try:
                _, reader = await asyncio.wait_for(loop.create_connection(
                    lambda: Reader(self.request, first_bytes), "127.0.0.1", self.port), 10)
            except (OSError, asyncio.TimeoutError):
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if wait_first:
                try:
                    await asyncio.wait_for(asyncio.shield(first_bytes), 15)
                except asyncio.TimeoutError:
                    pass  # counted as connected without first bytes; the stats tell
                if first_bytes.done() and first_bytes.result() is None:
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue  # closed before a byte came: try again
            self.readers.append(reader)
            return
        self.failed += 1


def client_main(conn, port, path):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bench cleans up on Ctrl-C
    asyncio.run(ClientProcess(conn, port, path).run())


class Clients:
    """The client processes of one run, and their readers' figures summed."""

    def __init__(self, count, port, path):
        self.count = count
        processes = max(1, math.ceil(count / CONNECTIONS_PER_CLIENT_PROCESS))
        self.shares = [count // processes + (1 if n < count % processes else 0)
                       for n in range(processes)]
        context = multiprocessing.get_context("fork")
        self.conns = []
        self.processes = []
        for _ in self.shares:
            parent, child = context.Pipe()
            process = context.Process(target=client_main, args=(child, port, path), daemon=True)
            process.start()
            child.close()
            self.conns.append(parent)
            self.processes.append(process)

    def ask(self, *command):
        for conn in self.conns:
            conn.send(command)
        return [conn.recv() for conn in self.conns]

    def open(self, wait_first):
        for conn, share in zip(self.conns, self.shares):
            conn.send(("open", share, wait_first))
        return [conn.recv() for conn in self.conns]

    def stats(self):
        total = {"open": 0, "first_bytes": 0, "closed": 0, "failed": 0, "events": []}
        for part in self.ask("stats"):
            for key in ("open", "first_bytes", "closed", "failed"):
                total[key] += part[key]
            for k, n in enumerate(part["events"]):
                if k == len(total["events"]):
                    total["events"].append(0)
                total["events"][k] += n
        return total

    def times(self, index):
        return [t for part in self.ask("times", index) for t in part]

    def close(self):
        for conn in self.conns:
            try:
                conn.send(("close",))
            except OSError:
                pass
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()


# --- the servers --------------------------------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A process in a session of its own, its output in a file."""

    def __init__(self, name, args, env, log_dir, cwd=ROOT, stop_signal=signal.SIGTERM):
        self.name = name
        self.stop_signal = stop_signal
        self.log_path = Path(log_dir) / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)

    def output(self):
        return self.log_path.read_text(errors="replace")

    def stop(self, grace=15):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, self.stop_signal)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        try:  # anything left in its session (gunicorn workers)
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def workers(self):
        """gunicorn's worker processes (the master's children)."""
        import psutil

        return psutil.Process(self.popen.pid).children()


def start_redis(workdir, name):
    """A private redis-server on a free port: no persistence, room for many clients."""
    import redis

    port = free_port()
    server = Server(name, ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--maxclients", "20000",
                           "--dir", str(workdir)], os.environ.copy(), workdir)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                return server, client, f"redis://127.0.0.1:{port}/0"
            except redis.ConnectionError:
                if server.popen.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"redis-server did not start:\n{server.output()[-2000:]}")
                time.sleep(0.05)
    except BaseException:
        server.stop()
        raise


def redis_clients(client):
    """Connections the Redis server holds, the bench's own not counted."""
    return len(client.client_list()) - 1


def base_env():
    env = {name: value for name, value in os.environ.items()
           if not re.match(r"^(DATABASE_URL|REDIS_URL|PORT|WEB_CONCURRENCY|GUNICORN_CMD_ARGS|"
                           r"MAINTENANT_\w+)$", name)}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def procfile():
    from honcho.environ import parse_procfile

    return parse_procfile((ROOT / "Procfile").read_text()).processes


def command(line, env):
    """A Procfile line as an argument list, its program found on the processes' PATH."""
    args = shlex.split(line)
    args[0] = shutil.which(args[0], path=env["PATH"]) or args[0]
    return args


def request(port, method, path, body=None, token=None, timeout=30):
    """One HTTP request; (status, parsed JSON or raw bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, None if body is None else json.dumps(body), headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    if response.headers.get_content_type() == "application/json" and data:
        data = json.loads(data)
    return response.status, data


def wait_for_http(server, port, path, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, _ = request(port, "GET", path, timeout=5)
            if status == 200:
                return
        except OSError:
            pass
        if server.popen.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{server.name} did not start:\n{server.output()[-3000:]}")
        time.sleep(0.2)


def peek_stream(port, path):
    """Open a stream, read its first bytes, close it (warms up a worker's stream path)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        sock.recv(65536)


class WebApp:
    """A web server under test; ``start`` sets ``server`` as soon as it runs."""

    server = None

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None


class MaintenantApp(WebApp):
    """The Procfile's web line on a temporary SQLite database, one component to change."""

    name = "maintenant"
    stream_path = "/status/events"
    wait_first = True  # its streams start at once (retry, a comment, the snapshot)

    def start(self, workdir, workers, redis_url):
        env = base_env()
        self.port = free_port()
        env.update(DATABASE_URL=f"sqlite:///{workdir / 'maintenant.db'}", REDIS_URL=redis_url,
                   PORT=str(self.port), WEB_CONCURRENCY=str(workers),
                   MAINTENANT_API_TOKEN=TOKEN, SECRET_KEY="bench")
        lines = procfile()
        release = subprocess.run(command(lines["release"], env), cwd=ROOT, env=env,
                                 capture_output=True, text=True)
        if release.returncode:
            raise SystemExit(f"release failed:\n{release.stdout}{release.stderr}")
        self.server = Server("maintenant-web", command(lines["web"], env), env, workdir)
        wait_for_http(self.server, self.port, "/status/api")
        api = "/api/v1/status"
        _, group = request(self.port, "POST", f"{api}/groups", {"name": "Bench"}, TOKEN)
        status, component = request(self.port, "POST", f"{api}/components",
                                    {"name": "Bench API", "group_id": group["id"]}, TOKEN)
        if status != 201:
            raise SystemExit(f"could not create the component: {status} {component}")
        self.component_id = component["id"]
        # A second component, down for good, holds the page's headline at "Major System
        # Outage": each write then publishes one event, as flask-sse's publish does (else a
        # status.global_changed event follows each status.component_changed).
        status, anchor = request(self.port, "POST", f"{api}/components",
                                 {"name": "Bench anchor", "group_id": group["id"]}, TOKEN)
        status, anchor = request(self.port, "PUT", f"{api}/components/{anchor['id']}",
                                 {"status_override": "major_outage"}, TOKEN)
        if status != 200:
            raise SystemExit(f"could not set up the components: {status} {anchor}")
        for _ in range(20):  # both workers, past their first requests
            request(self.port, "GET", "/status/api")
            request(self.port, "GET", "/status/")
            peek_stream(self.port, self.stream_path)
        return self.server

    def publish(self, round_index):
        status, body = request(self.port, "PUT",
                               f"/api/v1/status/components/{self.component_id}",
                               {"status_override": OVERRIDES[round_index % len(OVERRIDES)]},
                               TOKEN)
        if status != 200:
            raise SystemExit(f"PUT failed: {status} {body}")

    def subscribed(self, redis_client, stats):
        return stats["first_bytes"]


class FlaskSseApp(WebApp):
    """bench/flask_sse_app.py under gunicorn with the Procfile web line's settings."""

    name = "flask-sse"
    stream_path = "/stream"
    wait_first = False  # flask-sse sends nothing before the first event

    def start(self, workdir, workers, redis_url):
        conf = runpy.run_path(str(ROOT / "maintenant" / "gunicorn_conf.py"))
        env = base_env()
        env["REDIS_URL"] = redis_url
        self.port = free_port()
        args = [shutil.which("gunicorn", path=env["PATH"]),
                "--worker-class", conf["worker_class"], "--workers", str(workers),
                "--worker-connections", str(conf["worker_connections"]),
                "--graceful-timeout", str(conf["graceful_timeout"]),
                "--bind", f"127.0.0.1:{self.port}", "--access-logfile", "-",
                "--error-logfile", "-", "--no-control-socket",
                "--chdir", str(BENCH), "flask_sse_app:app"]
        # Its streams only notice a gone reader when an event comes: a graceful stop would wait
        # graceful_timeout for them, so quit at once (SIGQUIT).
        self.server = Server("flask-sse-web", args, env, workdir, stop_signal=signal.SIGQUIT)
        wait_for_http(self.server, self.port, "/")
        for _ in range(40):
            request(self.port, "GET", "/")
        return self.server

    def publish(self, round_index):
        status, body = request(self.port, "POST", f"/publish?type={EVENT_NAME}",
                               {"id": 1, "status": OVERRIDES[round_index % len(OVERRIDES)]})
        if status != 204:
            raise SystemExit(f"publish failed: {status} {body}")

    def subscribed(self, redis_client, stats):
        return dict(redis_client.pubsub_numsub(FLASK_SSE_CHANNEL)).get(
            FLASK_SSE_CHANNEL.encode(), 0)


# --- one run ------------------------------------------------------------------------------------

def rss(processes):
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except Exception:
            pass
    return total


def wait_for_progress(measure, goal, stall=STALL_SECONDS, poll=0.1):
    """Poll ``measure()`` until it reaches ``goal`` or stops growing for ``stall`` seconds."""
    best, best_at = measure(), time.monotonic()
    while best < goal:
        time.sleep(poll)
        value = measure()
        if value > best:
            best, best_at = value, time.monotonic()
        elif time.monotonic() - best_at > stall:
            break
    return best


def time_to_fraction(latencies, total, fraction):
    """Seconds until ``fraction`` of ``total`` readers had the event; None if never."""
    needed = max(1, math.ceil(fraction * total))
    if total == 0 or len(latencies) < needed:
        return None
    return sorted(latencies)[needed - 1]


def run_app(app, args, workdir):
    """Start the app, connect the readers, publish the rounds; the figures as a dict."""
    import psutil

    result = {"name": app.name, "requested": args.clients}
    redis_server = clients = None
    try:
        redis_server, redis_client, redis_url = start_redis(workdir, f"{app.name}-redis")
        server = app.start(workdir, args.workers, redis_url)
        time.sleep(1)
        workers = server.workers()
        result["workers"] = len(workers)
        rss_before = rss(workers)
        redis_rss_before = rss([psutil.Process(redis_server.popen.pid)])
        result["redis_before"] = redis_clients(redis_client)

        clients = Clients(args.clients, app.port, app.stream_path)
        started = time.time()
        opened = clients.open(app.wait_first)
        result["opened"] = sum(part["opened"] for part in opened)
        connected = wait_for_progress(
            lambda: app.subscribed(redis_client, clients.stats()), result["opened"])
        result["connect_seconds"] = time.time() - started
        result["connected"] = connected
        time.sleep(2)  # let the workers settle before reading their memory
        stats = clients.stats()
        result["open"] = stats["open"]
        result["failed"] = stats["failed"]
        result["rss_delta"] = rss(workers) - rss_before
        result["redis_rss_delta"] = rss([psutil.Process(redis_server.popen.pid)]) - redis_rss_before
        result["redis_after"] = redis_clients(redis_client)

        rounds = []
        for index in range(args.rounds):
            published = time.time()
            app.publish(index)
            answered = time.time() - published
            received = wait_for_progress(
                lambda: (clients.stats()["events"] + [0] * (index + 1))[index], connected,
                stall=10)
            times = [t for t in clients.times(index) if t is not None]
            latencies = [t - published for t in times]
            rounds.append({
                "received": received,
                "answered": answered,
                **{f"p{int(f * 100)}": time_to_fraction(latencies, connected, f)
                   for f in (0.5, 0.99, 1.0)},
            })
            time.sleep(1)
        result["rounds"] = rounds
        result["closed_after"] = clients.stats()["closed"]
        for process in workers:
            if not process.is_running():
                result["worker_died"] = True
    finally:
        with signals_held():
            if clients is not None:
                clients.close()
            app.stop()
            if redis_server is not None:
                redis_server.stop()
    return result


@contextlib.contextmanager
def signals_held():
    """Hold Ctrl-C and SIGTERM while cleaning up, so that a second one cannot cut it short."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# --- figures ------------------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def seconds(value):
    return "never" if value is None else f"{value:.2f} s"


def summary(result):
    """The figures of a run, rounds by their median."""
    rounds = result.get("rounds", [])
    connected = result.get("connected", 0)
    figures = {
        "connected": connected,
        "p50": median([r["p50"] for r in rounds]),
        "p99": median([r["p99"] for r in rounds]),
        "p100": median([r["p100"] for r in rounds]),
        "received": min((r["received"] for r in rounds), default=0),
        "kb": result["rss_delta"] / connected / 1000 if connected else None,
    }
    return figures


def describe(result):
    figures = summary(result)
    rounds = len(result["rounds"])
    connected = result["connected"]
    short = "" if connected == result["requested"] else (
        f" of {result['requested']} ({result['opened']} opened a connection, "
        f"{result['failed']} could not)")
    received = ("" if figures["received"] == connected
                else f" ({figures['received']} of {connected} received it)")
    kb = "n/a" if figures["kb"] is None else f"{figures['kb']:.1f} KB"
    return (f"{result['name']}: {connected} clients connected{short} in "
            f"{result['connect_seconds']:.1f} s; event received by 50% in "
            f"{seconds(figures['p50'])}, 99% in {seconds(figures['p99'])}, 100% in "
            f"{seconds(figures['p100'])}{received}"
            f"{' (median of %d rounds)' % rounds if rounds > 1 else ''}; "
            f"{kb} per connection (RSS {result['rss_delta'] / 1e6:+.0f} MB over "
            f"{result['workers']} workers); Redis clients {result['redis_after']}")


def table(results):
    rows = [
        ("clients connected", lambda r, f: f"{f['connected']} of {r['requested']}"),
        ("connect time", lambda r, f: f"{r['connect_seconds']:.1f} s"),
        ("event to 50%", lambda r, f: seconds(f["p50"])),
        ("event to 99%", lambda r, f: seconds(f["p99"])),
        ("event to 100%", lambda r, f: seconds(f["p100"])),
        ("received (worst round)", lambda r, f: f"{f['received']}"),
        ("KB per connection", lambda r, f: "n/a" if f["kb"] is None else f"{f['kb']:.1f}"),
        ("workers' RSS increase", lambda r, f: f"{r['rss_delta'] / 1e6:+.0f} MB"),
        ("Redis clients before/after", lambda r, f: f"{r['redis_before']} / {r['redis_after']}"),
        ("redis-server RSS increase", lambda r, f: f"{r['redis_rss_delta'] / 1e6:+.0f} MB"),
        ("readers dropped after", lambda r, f: f"{r['closed_after']}"),
    ]
    summaries = [summary(result) for result in results]
    width = max(len(label) for label, _ in rows)
    lines = [f"{'':{width}}  " + "  ".join(f"{r['name']:>14}" for r in results)]
    for label, cell in rows:
        lines.append(f"{label:{width}}  " + "  ".join(
            f"{cell(r, f):>14}" for r, f in zip(results, summaries)))
    return "\n".join(lines)


def verdict(result):
    """maintenant against the issue's targets."""
    figures = summary(result)
    clients = (f"{TARGETS['clients']} clients" if result["requested"] >= TARGETS["clients"]
               else f"all {result['requested']} clients (the target is {TARGETS['clients']})")
    checks = [
        (clients, figures["connected"] >= min(result["requested"], TARGETS["clients"])),
        (f"99% within {TARGETS['p99']:g} s",
         figures["p99"] is not None and figures["p99"] <= TARGETS["p99"]),
        (f"<= {TARGETS['kb']:g} KB per connection",
         figures["kb"] is not None and figures["kb"] <= TARGETS["kb"]),
        ("Redis clients independent of C", result["redis_after"] == result["redis_before"]),
    ]
    return "targets: " + ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in checks)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=5000,
                        help="SSE readers held open at once (default 5000)")
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn worker processes, WEB_CONCURRENCY (default 2)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="events published one after the other; figures are the median "
                        "(default 3)")
    parser.add_argument("--only", choices=APPS, help="run one app only")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (database, server logs) and print its path")
    args = parser.parse_args(argv)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers and clients inherit it
    per_process = args.clients / math.ceil(args.clients / CONNECTIONS_PER_CLIENT_PROCESS)
    if hard < args.clients / args.workers * 2 + 100 or hard < per_process + 100:
        print(f"warning: the open files limit ({hard}) may be too low for "
              f"{args.clients} clients", file=sys.stderr)
    # Ctrl-C and SIGTERM alike unwind through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    apps = [app for app in (MaintenantApp(), FlaskSseApp())
            if args.only in (None, app.name)]
    workdir = Path(tempfile.mkdtemp(prefix="maintenant-bench-sse-"))
    results = []
    try:
        print(f"{args.clients} SSE clients, {args.workers} gevent workers, "
              f"{args.rounds} event(s) each; load {os.getloadavg()[0]:.2f}", flush=True)
        for app in apps:
            result = run_app(app, args, workdir)
            results.append(result)
            for index, r in enumerate(result["rounds"], 1):
                print(f"  {app.name} round {index}: received by {r['received']} of "
                      f"{result['connected']}; 50% {seconds(r['p50'])}, "
                      f"99% {seconds(r['p99'])}, 100% {seconds(r['p100'])} (the write "
                      f"answered in {seconds(r['answered'])})", flush=True)
            print(describe(result), flush=True)
            if result.get("worker_died"):
                print(f"  {app.name}: a worker process died during the run", flush=True)
        if results and results[0]["name"] == "maintenant":
            print(verdict(results[0]))
        if len(results) > 1:
            print()
            print(table(results))
    finally:
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
