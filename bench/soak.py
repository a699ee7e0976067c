"""Mixed soak: SSE readers, page load, status changes and probing monitors at once, for minutes.

    .venv/bin/python bench/soak.py [--minutes 10] [--clients 5000] [--page-rate 200]
                                   [--monitors 1000] [--changes-per-second 1] [--keep]

The defaults are the issue's figures. Starts a private redis-server and a private PostgreSQL
cluster (bench/harness.py), migrates with the Procfile's release line, runs the Procfile's
web line (2 gevent workers), 2 workers and the scheduler as they are, fills the page as
bench/page.py does (50 components, 5 open incidents, 3 maintenance windows) plus one
component to change, inserts the monitors (bench/probes.py, against its local target, every
60 s), and connects the SSE readers (bench/sse.py's client processes, with readers that keep
each event once, as the page's script does). Then, for one minute of warm-up and --minutes
measured minutes, all at once:

- GET /status/ at --page-rate per second, open loop (fired at fixed times whatever the
  answers, a new connection each, gzip accepted, as browsers do), in a process of its own;
- --changes-per-second PUTs of the changing component's status_override through the API, open
  loop too (each in a thread of its own), each one event that every reader must receive (its
  delay from just before the PUT to each reader's receipt is the delivery time);
- the monitors probing the target.

Every 10 s it samples the processes' memory (RSS), the Redis server's clients, PostgreSQL's
connections, the web processes' open files, the readers still connected and the checks the
workers recorded. It prints one line per minute and a summary against the targets (see
bench/README.md). Exit code 0 when every target held.
"""

import stdlib_first  # noqa: F401,I001 (first: see its docstring)
import argparse
import asyncio
import math
import multiprocessing
import os
import re
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness
import page
import probes
import sse

MINUTE = 60.0
WARMUP_MINUTES = 1  # the first minute: probes settle, caches fill; its line is printed, not judged
SAMPLE_SECONDS = 10.0
EVENT_WAIT = 5.0  # an event a reader has not got this long after its PUT counts as missed
LINE_LAG = 10.0  # a minute's line waits this long: its events and most of its requests are in
MONITOR_INTERVAL = 60
WEB_WORKERS = 2
RQ_WORKERS = 2
TOKEN = "bench-soak-token"
REDIS_PREFIX = "maintenant:"
PAGE_TIMEOUT = 30.0
PAGE_IN_FLIGHT_MAX = 2000  # beyond this many unanswered requests, the next ones are not sent
CHANGES_IN_FLIGHT_MAX = 50  # the same for the status changes
PUT_TIMEOUT = 30.0
# Memory is flat when each process's mean RSS over the last minute is within the larger of
# these of its mean over the first minute after the warm-up.
FLAT_PERCENT = 5.0
FLAT_MB = 10.0
TARGETS = {"minutes": 10, "clients": 5000, "page_rate": 200, "changes": 1, "monitors": 1000,
           "p99": 1.0}
SNAPSHOT = b"status.snapshot"
LOGGED_PROBLEM = re.compile(r"\bTraceback\b|\[ERROR\]|\bERROR\b|\bCRITICAL\b")


# --- the readers: bench/sse.py's, keeping each event once ---------------------------------------

class SoakReader(sse.Reader):
    """bench/sse.py's reader, keeping each event once as the page's script does (live.js skips
    an id at or below the last one it had: an event published twice, or replayed).

    The server may publish an event twice (two processes draining the outbox at once, see
    maintenant/services/outbox.py); counted twice, the k-th event would no longer be the k-th
    change.
    """

    def __init__(self, request, first_bytes):
        super().__init__(request, first_bytes)
        self.event_id = None  # the ``id:`` of the event being read
        self.last_id = 0
        self.duplicates = 0

    def data_received(self, data):
        now = time.time()
        if not self.first_bytes.done():
            self.first_bytes.set_result(now)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            if line.startswith(b"id:"):
                self.event_id = int(line[3:].strip() or 0)
            elif line.startswith(b"event:"):  # after its id: see events.sse_frame
                name, event_id, self.event_id = line[6:].strip(), self.event_id, None
                if name != SNAPSHOT and event_id is not None and event_id <= self.last_id:
                    self.duplicates += 1
                    continue
                self.last_id = event_id or self.last_id
                if name == sse.EVENT_NAME.encode():
                    self.events.append(now)


class Observer(threading.Thread):
    """One more reader, in the soak's own process, that counts the events it gets twice."""

    def __init__(self, port):
        super().__init__(name="soak-observer", daemon=True)
        self.port = port
        self.reader = None
        self.connected = threading.Event()
        self.stopping = threading.Event()

    def run(self):
        asyncio.run(self.read())

    async def read(self):
        loop = asyncio.get_running_loop()
        request = (f"GET /status/events HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                   "Accept: text/event-stream\r\n\r\n").encode()
        first_bytes = loop.create_future()
        _, self.reader = await loop.create_connection(
            lambda: SoakReader(request, first_bytes), "127.0.0.1", self.port)
        await first_bytes
        self.connected.set()
        while not self.stopping.is_set():
            await asyncio.sleep(0.5)
        self.reader.transport.abort()

    def stop(self):
        self.stopping.set()
        self.join(10)


# --- the page load: open loop, in a process of its own ----------------------------------------

async def get_page(port, request):
    """One GET on a new connection (Connection: close); its status, checked for a whole body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        data = await reader.read()  # to EOF: the server closes after the response
    finally:
        writer.close()
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        raise ValueError("incomplete response")
    match = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
    if match and int(match.group(1)) != len(body):
        raise ValueError("short body")
    return int(head.split(b" ", 2)[1])


async def page_loop(conn, port, rate, start, until):
    """Fire GET /status/ at ``start + i / rate`` until ``until``; answer "take" with the records
    since the last one; on "stop", let the requests in flight finish and send the last records."""
    loop = asyncio.get_running_loop()
    request = (f"GET /status/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\n"
               "Accept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n").encode()
    records = []  # (scheduled epoch, seconds from then to the answer, status or error name)
    in_flight = set()
    stop = loop.create_future()

    def on_command():
        try:
            (command,) = conn.recv()
        except EOFError:
            command = "stop"
        if command == "take":
            conn.send(records[:])
            records.clear()
        elif not stop.done():
            stop.set_result(None)

    async def fetch(scheduled):
        try:
            status = await asyncio.wait_for(get_page(port, request), PAGE_TIMEOUT)
        except asyncio.TimeoutError:
            status = "timeout"
        except (OSError, ValueError, IndexError) as error:
            status = type(error).__name__
        records.append((scheduled, time.time() - scheduled, status))

    loop.add_reader(conn.fileno(), on_command)
    index = 0
    while True:
        scheduled = start + index / rate
        if scheduled >= until:
            await stop
        delay = scheduled - time.time()
        if delay > 0:
            await asyncio.wait([stop], timeout=delay)
        if stop.done():
            break
        if len(in_flight) >= PAGE_IN_FLIGHT_MAX:
            records.append((scheduled, 0.0, "not sent"))
        else:
            task = loop.create_task(fetch(scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        index += 1
    loop.remove_reader(conn.fileno())
    if in_flight:
        await asyncio.wait(in_flight, timeout=PAGE_TIMEOUT + 5)
    conn.send(records)


def page_main(conn, port, rate, start, until):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the soak cleans up on Ctrl-C
    asyncio.run(page_loop(conn, port, rate, start, until))


class PageLoad:
    """The page-load process, seen from the soak."""

    def __init__(self, port, rate, start, until):
        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=page_main, args=(child, port, rate, start, until),
                                       daemon=True)
        self.process.start()
        child.close()
        self.stopped = False

    def take(self):
        if self.stopped:
            return []
        self.conn.send(("take",))
        return self.conn.recv()

    def finish(self):
        """Stop sending; the records of the requests still answered."""
        if self.stopped:
            return []
        self.stopped = True
        try:
            self.conn.send(("stop",))
            if self.conn.poll(PAGE_TIMEOUT + 15):
                return self.conn.recv()
        except (OSError, EOFError):
            pass
        return []

    def close(self):
        self.finish()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


# --- the status changes: a thread of the soak ------------------------------------------------

class Changes(threading.Thread):
    """PUTs the changing component's status_override at fixed times, open loop (each in a
    thread of its own, whatever the earlier ones take), each value unlike the one before, so
    each one is a change and one status.component_changed event."""

    def __init__(self, port, component_id, rate, start, until):
        super().__init__(name="soak-changes", daemon=True)
        self.port = port
        self.path = f"/api/v1/status/components/{component_id}"
        self.rate = rate
        self.start_at = start
        self.until = until
        self.stopping = threading.Event()
        self.results = {}  # index -> (sent epoch, status or error name, seconds to answer)
        self.threads = []

    def run(self):
        index = 0
        while self.start_at + index / self.rate < self.until and not self.stopping.wait(
                max(0.0, self.start_at + index / self.rate - time.time())):
            self.threads = [thread for thread in self.threads if thread.is_alive()]
            if len(self.threads) >= CHANGES_IN_FLIGHT_MAX:
                self.results[index] = (time.time(), "not sent", 0.0)
            else:
                thread = threading.Thread(target=self.put, args=(index,), daemon=True)
                thread.start()
                self.threads.append(thread)
            index += 1
        for thread in self.threads:
            thread.join(PUT_TIMEOUT + 5)

    def put(self, index):
        sent = time.time()
        try:
            status, _, _ = harness.request(
                self.port, "PUT", self.path,
                {"status_override": sse.OVERRIDES[index % len(sse.OVERRIDES)]}, TOKEN,
                timeout=PUT_TIMEOUT)
        except OSError as error:
            status = type(error).__name__
        self.results[index] = (sent, status, time.time() - sent)

    @property
    def puts(self):
        """(sent, status, seconds) of every PUT answered so far, in order."""
        results = dict(self.results)  # a copy: the PUTs' threads add to it
        return [results[index] for index in sorted(results)]

    def published(self):
        """When each event's PUT was sent, in order: the PUTs answered 200, up to the first
        one still in flight (the k-th event is the k-th of these)."""
        results = dict(self.results)
        sent = []
        index = 0
        while index in results:
            if results[index][1] == 200:
                sent.append(results[index][0])
            index += 1
        return sent

    def stop(self):
        self.stopping.set()
        self.join(60)


# --- the system under test -------------------------------------------------------------------

def open_files(pid):
    """Open file descriptors of a process and its children (gunicorn's master and workers)."""
    import psutil

    total = 0
    try:
        process = psutil.Process(pid)
        for member in [process, *process.children(recursive=True)]:
            try:
                total += member.num_fds()
            except psutil.NoSuchProcess:
                pass
    except psutil.NoSuchProcess:
        pass
    return total


def established(pids, port):
    """TCP connections of the given processes to ``port`` that are still established."""
    import psutil

    total = 0
    for pid in pids:
        try:
            total += sum(1 for c in psutil.Process(pid).net_connections("tcp")
                         if c.status == psutil.CONN_ESTABLISHED and c.raddr
                         and c.raddr.port == port)
        except psutil.NoSuchProcess:
            pass
    return total


def postmaster_pid(postgres):
    try:
        return int((postgres.data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


class System:
    """Everything the soak starts, and what it reads from it while it runs."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.redis = self.postgres = self.target = self.clients = self.page_load = None
        self.changes = self.observer = None
        self.processes = []  # the Procfile's: web, worker-1.., scheduler

    def start(self, args):
        from maintenant import create_app

        self.redis = harness.RedisServer(self.workdir)
        self.redis_client = self.redis.client()
        # Not in workdir: mkdtemp makes it 0700, and the cluster runs as the postgres user.
        self.postgres = harness.PostgresServer()
        self.port = harness.free_port()
        env = harness.process_env(self.postgres.url, self.redis.url, PORT=self.port,
                                  WEB_CONCURRENCY=WEB_WORKERS, MAINTENANT_API_TOKEN=TOKEN,
                                  MAINTENANT_REDIS_PREFIX=REDIS_PREFIX, SECRET_KEY="bench-soak")
        harness.release(env, self.workdir)
        self.target, self.target_port = probes.start_target(self.workdir / "requests.log")
        self.web = harness.procfile_process("web", env, self.workdir)
        self.workers = [harness.procfile_process("worker", env, self.workdir, f"worker-{n}")
                        for n in range(1, RQ_WORKERS + 1)]
        self.scheduler = harness.procfile_process("scheduler", env, self.workdir)
        self.processes = [self.web, *self.workers, self.scheduler]
        harness.wait_for_http(self.web, self.port)
        for worker in self.workers:
            harness.wait_until(lambda w=worker: "Listening on" in w.output(),
                               "worker listening", process=worker)
        harness.wait_until(lambda: "probe schedule:" in self.scheduler.output(),
                           "scheduler's probe schedule", process=self.scheduler)
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": self.postgres.url,
                               "REDIS_URL": self.redis.url, "REDIS_PREFIX": REDIS_PREFIX,
                               "API_TOKEN": TOKEN})

        page.fill(page.Api(f"http://127.0.0.1:{self.port}", TOKEN))
        self.component_id = self.add_changing_component()
        self.first_due = probes.create_monitors(self.app, args.monitors, MONITOR_INTERVAL,
                                                self.target_port)
        for _ in range(20):  # both web workers, past their first requests
            harness.request(self.port, "GET", "/status/api")
            harness.request(self.port, "GET", "/status/", headers={"Accept-Encoding": "gzip"})
            sse.peek_stream(self.port, "/status/events")
        status, body, headers = harness.request(self.port, "GET", "/status/")
        _, gzipped, _ = harness.request(self.port, "GET", "/status/",
                                        headers={"Accept-Encoding": "gzip"})
        if status != 200:
            raise SystemExit(f"/status/ answered {status}")
        self.page_bytes, self.page_gzip_bytes = len(body), len(gzipped)

    def add_changing_component(self):
        """A component to change, and one down for good that holds the page's headline at
        "Major System Outage", so each change is one event (see bench/sse.py)."""
        api = "/api/v1/status"
        _, group, _ = harness.request(self.port, "POST", f"{api}/groups", {"name": "Soak"},
                                      TOKEN)
        _, changing, _ = harness.request(self.port, "POST", f"{api}/components",
                                         {"name": "Soak changes", "group_id": group["id"]},
                                         TOKEN)
        _, anchor, _ = harness.request(self.port, "POST", f"{api}/components",
                                       {"name": "Soak anchor", "group_id": group["id"]}, TOKEN)
        status, body, _ = harness.request(self.port, "PUT", f"{api}/components/{anchor['id']}",
                                          {"status_override": "major_outage"}, TOKEN)
        if status != 200:
            raise SystemExit(f"could not set up the components: {status} {body}")
        return changing["id"]

    def connect_readers(self, count):
        """Connect ``count`` SSE readers; (connected, seconds)."""
        started = time.time()
        # sse.ClientProcess makes its readers from sse.Reader: the client processes, forked
        # below, make the soak's instead.
        sse.Reader = SoakReader
        self.clients = sse.Clients(count, self.port, "/status/events")
        opened = sum(part["opened"] for part in self.clients.open(True))
        connected = sse.wait_for_progress(lambda: self.clients.stats()["first_bytes"], opened)
        return connected, time.time() - started

    def event_offset(self):
        """Events of the counted kind every reader got before the first change (normally 0),
        and whether they all got the same number (else the k-th event is not the k-th PUT)."""
        stats = self.clients.stats()
        offset = len(stats["events"])
        return offset, offset == 0 or stats["events"][-1] == stats["open"]

    def pids(self):
        pids = {"web": self.web.popen.pid, "scheduler": self.scheduler.popen.pid,
                "redis": self.redis.process.popen.pid, "postgres": postmaster_pid(self.postgres),
                "target": self.target.pid}
        for worker in self.workers:
            pids[worker.name] = worker.popen.pid
        for n, process in enumerate(self.clients.processes if self.clients else (), 1):
            pids[f"sse clients {n}"] = process.pid
        if self.page_load is not None:
            pids["page load"] = self.page_load.process.pid
        return pids

    def sample(self):
        """The figures of this moment."""
        import psutil
        import redis

        taken = {"t": time.time()}
        taken["rss"] = {"web": self.web.rss(),
                        "workers": sum(worker.rss() for worker in self.workers),
                        "scheduler": self.scheduler.rss(), "redis": self.redis.process.rss()}
        taken["web_fds"] = open_files(self.web.popen.pid)
        try:
            taken["redis_clients"] = len(self.redis_client.client_list()) - 1
        except redis.RedisError:
            taken["redis_clients"] = None
        taken["pg_conns"] = self.postgres_connections()
        taken["readers"] = established([p.pid for p in self.clients.processes], self.port)
        taken["checks"] = probes.recorded_checks(self.app)
        taken["exited"] = [p.name for p in self.processes if not p.alive]
        taken["cpu"] = {name: harness.cpu_seconds(pid) for name, pid in self.pids().items() if pid}
        taken["cpu"]["soak itself"] = sum(psutil.Process().cpu_times()[:2])
        return taken

    def postgres_connections(self):
        """Connections to the database, the soak's own not counted."""
        from maintenant.extensions import db

        with self.app.app_context():
            count = db.session.scalar(db.text(
                "select count(*) from pg_stat_activity where datname = current_database()"))
            db.session.remove()
        return count - 1

    def failed_jobs(self):
        """{queue: jobs in RQ's failed registry}."""
        from rq.registry import FailedJobRegistry

        from maintenant.extensions import QUEUES

        return {name: FailedJobRegistry(name, connection=self.redis_client).count
                for name in QUEUES}

    def postgres_log_errors(self):
        try:
            lines = self.postgres.log.read_text(errors="replace").splitlines()
        except OSError:
            return []
        return [line for line in lines if re.search(r"\b(ERROR|FATAL|PANIC):", line)]

    def logged_problems(self):
        """{process: lines with a traceback or an ERROR/CRITICAL level}."""
        return {p.name: [line for line in p.output().splitlines() if LOGGED_PROBLEM.search(line)]
                for p in [*self.processes]}

    def web_worker_boots(self):
        return self.web.output().count("Booting worker")

    def stop(self, keep):
        with sse.signals_held():
            if self.changes is not None:
                self.changes.stopping.set()
            if self.observer is not None:
                self.observer.stop()
            if self.page_load is not None:
                self.page_load.close()
            if self.clients is not None:
                self.clients.close()
            for process in self.processes:
                process.stop()
            if self.target is not None and self.target.poll() is None:
                self.target.send_signal(signal.SIGTERM)
                self.target.wait(60)
            if self.redis is not None:
                self.redis.stop()
            if self.postgres is not None:
                if keep:
                    try:
                        self.postgres.stop()
                    except RuntimeError:
                        pass
                else:
                    self.postgres.destroy()


# --- figures ------------------------------------------------------------------------------------

def percentile(values, fraction):
    return probes.percentile(values, fraction)


def seconds(value):
    if value is None or math.isnan(value):
        return "n/a"
    return "never" if math.isinf(value) else f"{value:.2f} s"


def ms(value):
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value * 1000:,.0f} ms"


def mb(value):
    return f"{value / 1e6:.1f}"


class Minute:
    """What one minute of the run saw; minute 0 is the warm-up."""

    def __init__(self, index):
        self.index = index
        self.latencies = []  # each reader's delivery time of each event published this minute
        self.missed = 0  # (event, reader) pairs that never met within EVENT_WAIT
        self.events = 0
        self.first = []  # per event: until its first reader had it (the write and publish)
        self.spread = []  # per event: from its first reader to its last (the fan-out)

    def label(self):
        if self.index < WARMUP_MINUTES:
            return "warm-up"
        return f"min {self.index - WARMUP_MINUTES + 1:>3}"

    def delivery(self):
        """(p50, p99, max) over every reader and event; a missed one counts as never."""
        pooled = self.latencies + [math.inf] * self.missed
        if not pooled:
            return None, None, None
        return (percentile(pooled, 0.50), percentile(pooled, 0.99),
                max(self.latencies, default=math.inf))


class Run:
    """The figures of the whole run, gathered while it goes."""

    def __init__(self, system, args, start, minutes):
        self.system = system
        self.args = args
        self.start = start
        self.minutes = [Minute(m) for m in range(minutes)]
        self.end = start + minutes * MINUTE
        self.samples = []
        self.page_records = []
        self.collected = 0  # events whose receipts are in
        self.readers = 0
        self.offset = 0

    def minute_of(self, moment):
        return int((moment - self.start) // MINUTE)

    def collect_events(self, now):
        published = self.system.changes.published()
        while self.collected < len(published) and published[self.collected] + EVENT_WAIT < now:
            sent = published[self.collected]
            times = self.system.clients.times(self.offset + self.collected)
            minute = self.minutes[min(self.minute_of(sent), len(self.minutes) - 1)]
            minute.events += 1
            received = [t - sent for t in times if t is not None]
            minute.latencies.extend(received)
            minute.missed += self.readers - len(received)
            if received:
                minute.first.append(min(received))
                minute.spread.append(max(received) - min(received))
            self.collected += 1

    def take_page_records(self, records):
        self.page_records.extend(records)

    def page_figures(self, records):
        """(requests answered 200 per second, p50, p99, non-200 answers, errors) of records
        scheduled within one minute."""
        ok = sum(1 for r in records if r[2] == 200)
        non_200 = sum(1 for r in records if isinstance(r[2], int) and r[2] != 200)
        errors = sum(1 for r in records if not isinstance(r[2], int))
        latencies = [r[1] for r in records if r[2] != "not sent"]
        return ok / MINUTE, percentile(latencies, 0.5), percentile(latencies, 0.99), non_200, errors

    def records_of(self, index):
        return [r for r in self.page_records if self.minute_of(r[0]) == index]

    def samples_of(self, index):
        return [s for s in self.samples
                if self.minute_of(s["t"]) == index and s["t"] < self.end]

    def checks_of(self, index):
        """Checks recorded from the sample that opened the minute to the one that closed it."""
        begin = [s for s in self.samples if self.minute_of(s["t"]) >= index]
        end = [s for s in self.samples if self.minute_of(s["t"]) >= index + 1
               or s["t"] >= self.end]
        if not begin or not end:
            return None
        return end[0]["checks"] - begin[0]["checks"]

    def mean_rss(self, index):
        samples = self.samples_of(index)
        if not samples:
            return {}
        return {name: statistics.fmean(s["rss"][name] for s in samples)
                for name in samples[0]["rss"]}

    def line(self, index):
        minute = self.minutes[index]
        rate, _, page_p99, non_200, errors = self.page_figures(self.records_of(index))
        p50, p99, worst = minute.delivery()
        samples = self.samples_of(index)
        rss = self.mean_rss(index)
        readers = min((s["readers"] for s in samples), default=0)
        checks = self.checks_of(index)
        last = samples[-1] if samples else {}
        puts = [p for p in self.system.changes.puts if self.minute_of(p[0]) == index]
        api_errors = sum(1 for p in puts if p[1] != 200)
        return (f"{minute.label()}  page {rate:5.1f}/s p99 {ms(page_p99)} "
                f"{non_200 + errors} err | {minute.events} events p50 {seconds(p50)} "
                f"p99 {seconds(p99)} max {seconds(worst)} missed {minute.missed}, "
                f"{len(puts)} PUTs {api_errors} err | readers {readers} | RSS MB web "
                f"{mb(rss.get('web', 0))} workers {mb(rss.get('workers', 0))} scheduler "
                f"{mb(rss.get('scheduler', 0))} redis {mb(rss.get('redis', 0))} | checks "
                f"{checks if checks is not None else 'n/a'} | redis clients "
                f"{last.get('redis_clients')}, pg conns {last.get('pg_conns')}, web fds "
                f"{last.get('web_fds')}")


def soak(system, args):
    """Run the load; the Run with its figures."""
    measured = args.minutes
    start = time.time() + 2.0  # the observer below connects first
    run = Run(system, args, start, WARMUP_MINUTES + measured)
    run.offset, aligned = system.event_offset()
    if not aligned:
        raise SystemExit("the readers got different numbers of events before the first change")
    run.readers = system.clients.stats()["open"]
    system.page_load = PageLoad(system.port, args.page_rate, start, run.end)
    system.changes = Changes(system.port, system.component_id, args.changes_per_second, start,
                             run.end)
    system.observer = Observer(system.port)
    system.observer.start()
    if not system.observer.connected.wait(30):
        raise SystemExit("the observing reader could not connect")
    system.changes.start()
    sample_index, line_index = 0, 0
    last_sample = int(round((run.end - start) / SAMPLE_SECONDS))
    while line_index < len(run.minutes):
        now = time.time()
        if sample_index <= last_sample and now >= start + sample_index * SAMPLE_SECONDS:
            run.samples.append(system.sample())
            run.take_page_records(system.page_load.take())
            sample_index += 1
        if now >= run.end:
            system.changes.stop()
        run.collect_events(time.time())
        if time.time() >= start + (line_index + 1) * MINUTE + LINE_LAG:
            run.take_page_records(system.page_load.take())
            print(run.line(line_index), flush=True)
            line_index += 1
        next_times = [start + (line_index + 1) * MINUTE + LINE_LAG, time.time() + 1.0]
        if sample_index <= last_sample:
            next_times.append(start + sample_index * SAMPLE_SECONDS)
        time.sleep(max(0.0, min(next_times) - time.time()))
    run.take_page_records(system.page_load.finish())
    return run


def summary(run, system, args, setup):
    """The summary lines and whether every target held."""
    lines = []
    judged = range(WARMUP_MINUTES, len(run.minutes))
    first, last = WARMUP_MINUTES, len(run.minutes) - 1
    checks = []

    def target(name, ok, detail):
        checks.append((name, ok))
        lines.append(f"{name}: {detail} -> {'yes' if ok else 'NO'}")

    def against(value, key, unit=""):
        issue = TARGETS[key]
        return "" if value >= issue else f" (the issue's figure is {issue:g}{unit})"

    # readers
    final = system.clients.stats()
    dropped = final["closed"]
    extra_events = len(final["events"]) - run.offset - len(system.changes.published())
    target(f"{args.clients} SSE clients", setup["connected"] >= args.clients and dropped == 0,
           f"{setup['connected']} of {args.clients} connected in {setup['connect_seconds']:.0f} s"
           f", {dropped} dropped by the end (no reconnects: a drop is an error)"
           f"{against(args.clients, 'clients')}")

    # page
    records = [r for r in run.page_records if first <= run.minute_of(r[0]) <= last]
    per_minute = [run.page_figures(run.records_of(m)) for m in judged]
    rate, p50, p99, non_200, errors = run.page_figures(records)
    rate = rate / len(judged)
    slowest = min((f[0] for f in per_minute), default=0.0)
    target(f"{args.page_rate:g} page req/s",
           slowest >= 0.99 * args.page_rate and non_200 == 0 and errors == 0,
           f"{rate:.1f} req/s answered 200 (slowest minute {slowest:.1f}), p50 {ms(p50)}, "
           f"p99 {ms(p99)}, worst minute p99 {ms(max((f[2] for f in per_minute), default=None))}"
           f"; {non_200} non-200, {errors} errors{against(args.page_rate, 'page_rate', '/s')}")

    # changes
    puts = [p for p in system.changes.puts if first <= run.minute_of(p[0]) <= last]
    answered = [p for p in puts if p[1] == 200]
    expected = args.changes_per_second * MINUTE * len(judged)
    target(f"{args.changes_per_second:g} change/s",
           len(answered) >= expected - 1 and len(answered) == len(puts),
           f"{len(answered)} of {len(puts)} PUTs answered 200 ({expected:.0f} due), answered "
           f"in p50 {ms(percentile([p[2] for p in puts], 0.5))}, p99 "
           f"{ms(percentile([p[2] for p in puts], 0.99))}, max "
           f"{ms(max((p[2] for p in puts), default=None))}"
           f"{against(args.changes_per_second, 'changes', '/s')}")

    # monitors
    arrivals = probes.read_arrivals(system.workdir / "requests.log")
    window = (run.start + WARMUP_MINUTES * MINUTE, run.end)
    due, lateness, missed_checks = probes.punctuality(system.first_due, arrivals,
                                                      MONITOR_INTERVAL, window)
    on_time = sum(1 for late in lateness if -probes.ON_TIME <= late <= probes.ON_TIME)
    target(f"{args.monitors} monitors", missed_checks == 0 and due > 0,
           f"{due} checks due every {MONITOR_INTERVAL} s in the measured minutes, "
           f"{due - missed_checks} reached the target, {missed_checks} missing; "
           f"{100 * on_time / max(due, 1):.1f}% within {probes.ON_TIME:g} s of due, lateness "
           f"p99 {ms(percentile(lateness, 0.99))}{against(args.monitors, 'monitors')}")

    # memory
    before, after = run.mean_rss(first), run.mean_rss(last)
    flat = True
    memory = []
    for name in before:
        growth = after.get(name, 0.0) - before[name]
        allowed = max(FLAT_PERCENT / 100 * before[name], FLAT_MB * 1e6)
        flat = flat and growth <= allowed
        memory.append(f"{name} {mb(before[name])} -> {mb(after.get(name, 0.0))} MB "
                      f"({growth / 1e6:+.1f} MB, {100 * growth / max(before[name], 1):+.1f}%)")
    target("memory flat", flat and bool(before),
           f"mean RSS, minute 1 -> minute {last - WARMUP_MINUTES + 1}: {'; '.join(memory)} "
           f"(rule: growth within {FLAT_PERCENT:g}% or {FLAT_MB:g} MB, whichever is larger)")

    # errors
    exited = sorted({name for s in run.samples for name in s["exited"]})
    problems = system.logged_problems()
    tracebacks = {name: sum(1 for line in found if "Traceback" in line)
                  for name, found in problems.items()}
    logged = {name: len(found) for name, found in problems.items()}
    restarts = system.web_worker_boots() - WEB_WORKERS
    failed = system.failed_jobs()
    missed_events = sum(run.minutes[m].missed for m in judged)
    api_errors = len(puts) - len(answered)
    counts = {"page non-200/errors": non_200 + errors, "API": api_errors,
              "readers dropped": dropped, "events missed": missed_events,
              "probe checks missing": missed_checks, "web worker restarts": restarts,
              "process exits": len(exited), "tracebacks": sum(tracebacks.values()),
              "ERROR log lines": sum(logged.values()) - sum(tracebacks.values()),
              "failed jobs": sum(failed.values())}
    target("no errors", not any(counts.values()) and extra_events == 0,
           ", ".join(f"{name} {value}" for name, value in counts.items())
           + (f"; {extra_events} unexpected events of the counted kind" if extra_events else "")
           + (f"; exited: {', '.join(exited)}" if exited else ""))

    # delivery
    worst = None
    for m in judged:
        p99_minute = run.minutes[m].delivery()[1]
        if p99_minute is not None and (worst is None or p99_minute > worst[0]):
            worst = (p99_minute, m)
    everything = [lat for m in judged for lat in run.minutes[m].latencies]
    target(f"event delivery p99 < {TARGETS['p99']:g} s every minute",
           worst is not None and worst[0] < TARGETS["p99"],
           f"worst minute p99 {seconds(worst[0]) if worst else 'n/a'}"
           f"{f' (min {worst[1] - WARMUP_MINUTES + 1})' if worst else ''}; whole run p50 "
           f"{seconds(percentile(everything, 0.5))}, p99 {seconds(percentile(everything, 0.99))}"
           f", max {seconds(max(everything, default=None))} over "
           f"{sum(run.minutes[m].events for m in judged)} events x {run.readers} readers")

    firsts = [t for m in judged for t in run.minutes[m].first]
    spreads = [t for m in judged for t in run.minutes[m].spread]
    lines.append(f"delivery split: PUT sent to the first reader p50 "
                 f"{seconds(percentile(firsts, 0.5))}, p99 {seconds(percentile(firsts, 0.99))}; "
                 f"first reader to the last p50 {seconds(percentile(spreads, 0.5))}, p99 "
                 f"{seconds(percentile(spreads, 0.99))}")

    observed = system.observer.reader
    lines.append(f"events received twice: {observed.duplicates} (one reader's count, the "
                 f"{len(observed.events)} events of the whole run; the web processes drop "
                 "repeats, and the page's script and the soak's readers skip them by id)")

    # context: CPU, Redis, PostgreSQL
    begin = [s for s in run.samples if run.minute_of(s["t"]) >= first][0]
    end = run.samples[-1]
    span = end["t"] - begin["t"]
    cpu = {name: (end["cpu"].get(name, 0.0) - begin["cpu"].get(name, 0.0)) / span
           for name in begin["cpu"]}
    lines.append("cpu, share of one core over the measured minutes: "
                 + ", ".join(f"{name} {share:.2f}" for name, share in cpu.items())
                 + f" (total {sum(cpu.values()):.2f} of 2)")
    lines.append(f"redis clients {begin['redis_clients']} -> {end['redis_clients']}, "
                 f"postgres connections {begin['pg_conns']} -> {end['pg_conns']}, web fds "
                 f"{begin['web_fds']} -> {end['web_fds']}; failed jobs {failed}")
    pg_errors = system.postgres_log_errors()
    lines.append(f"postgres log: {len(pg_errors)} ERROR/FATAL lines"
                 + "".join(f"\n    {line[:200]}" for line in pg_errors[:5]))
    for name, found in problems.items():
        if found:
            lines.append(f"{name} log: {len(found)} lines with a traceback or an error level; "
                         "first ones:" + "".join(f"\n    {line[:200]}" for line in found[:5]))
    held = all(ok for _, ok in checks)
    lines.append("targets: " + ", ".join(f"{name} {'yes' if ok else 'NO'}"
                                         for name, ok in checks))
    return lines, held


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=TARGETS["minutes"],
                        help="measured minutes, after one of warm-up (default 10)")
    parser.add_argument("--clients", type=int, default=TARGETS["clients"],
                        help="SSE readers held open for the whole run (default 5000)")
    parser.add_argument("--page-rate", type=float, default=TARGETS["page_rate"],
                        help="GET /status/ per second, open loop (default 200)")
    parser.add_argument("--monitors", type=int, default=TARGETS["monitors"],
                        help=f"endpoint monitors probed every {MONITOR_INTERVAL} s "
                        "(default 1000)")
    parser.add_argument("--changes-per-second", type=float, default=TARGETS["changes"],
                        help="status changes (events) per second (default 1)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folders (logs, database) and print them")
    args = parser.parse_args(argv)
    args.minutes = max(1, int(args.minutes))

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers and clients inherit it
    if hard < args.clients + 1000:
        print(f"warning: the open files limit ({hard}) may be too low for "
              f"{args.clients} clients", file=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    workdir = Path(tempfile.mkdtemp(prefix="maintenant-soak-"))
    system = System(workdir)
    held = False
    try:
        print(f"soak: {args.clients} SSE readers, {args.page_rate:g} GET /status/ per s (open "
              f"loop, a new connection each, gzip), {args.changes_per_second:g} status "
              f"change(s) per s, {args.monitors} endpoint monitors every {MONITOR_INTERVAL} s; "
              f"{WEB_WORKERS} gevent web workers, {RQ_WORKERS} RQ workers, 1 scheduler, private "
              f"Redis and PostgreSQL; {WARMUP_MINUTES} min warm-up + {args.minutes} min "
              f"measured; load {os.getloadavg()[0]:.2f}", flush=True)
        started = time.time()
        system.start(args)
        connected, connect_seconds = system.connect_readers(args.clients)
        setup = {"connected": connected, "connect_seconds": connect_seconds}
        print(f"set up in {time.time() - started:.0f} s: page {system.page_bytes:,} bytes "
              f"({system.page_gzip_bytes:,} gzipped), {args.monitors} monitors, {connected} "
              f"readers connected in {connect_seconds:.0f} s", flush=True)
        run = soak(system, args)
        time.sleep(2)  # the probe target's last arrivals
        system.target.send_signal(signal.SIGTERM)
        system.target.wait(60)
        lines, held = summary(run, system, args, setup)
        for line in lines:
            print(line)
        print(f"soak: {'every target held' if held else 'NOT every target held'}; load "
              f"{os.getloadavg()[0]:.2f}", flush=True)
    finally:
        system.stop(args.keep)
        if args.keep:
            print(f"kept: {workdir} (logs) and {system.postgres.workdir if system.postgres else ''}"
                  " (PostgreSQL)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
