"""The two Redis faults of the fault script (bench/faults.py): a restart under 1,000 live
readers, and a 30 s outage while the API keeps writing.

- ``redis-restart``: 1,000 SSE readers on /status/events (reconnecting like a browser's
  EventSource, with ``Last-Event-ID``, each keeping the components' statuses it was told),
  a writer changing status overrides twice a second and a poller reading /status/ and
  /status/api several times a second; Redis is killed and started again, empty, in the
  middle. Holds when every reader came back, every reader ends with the final /status/api
  state, and neither the page nor the API answered a 5xx.
- ``redis-outage``: confirmed subscribers and an SMTP sink; Redis stopped for 30 s while the
  API opens incidents, posts updates and changes overrides, then started again, empty. Holds
  when every write answered 2xx, the page answered 200 throughout, the events written in the
  outage are replayed in order to a reader resuming from before it, the readers that stayed
  connected end with the final state, and every subscriber got exactly one email per
  notifying event written in the outage.

The Procfile's web (gunicorn, gevent), worker and scheduler run as they are, against a private
redis-server and a private PostgreSQL cluster (bench/harness.py).
"""

import stdlib_first  # noqa: F401,I001 (first: see its docstring)
import asyncio
import importlib.util
import itertools
import json
import math
import multiprocessing
import secrets
import signal
import threading
import time
from collections import Counter
from contextlib import contextmanager

from harness import (ROOT, PostgresServer, RedisServer, free_port, procfile_process,
                     process_env, release, request, wait_for_http, wait_until)

API = "/api/v1/status"
READERS = 1000
READERS_PER_PROCESS = 500
CONNECT_BATCH = 100
# What the writer cycles through: consecutive values differ, so each PUT is a change.
OVERRIDES = ("degraded", "partial_outage", "major_outage", "operational")
WRITES_PER_SECOND = 2
POLLS_PER_SECOND = 6
OUTAGE_SECONDS = 30
SUBSCRIBERS = 5
MAIL_WAIT = 90  # seconds after Redis is back for every email to arrive
SETTLE_WAIT = 45  # seconds for the readers to agree with /status/api once writes stop


# --- a reader that behaves like the page's EventSource --------------------------------------

class StateReader(asyncio.Protocol):
    """One SSE reader on HTTP/1.0 (no chunking): applies the snapshot and component events
    to the statuses it knows, and reconnects with Last-Event-ID when its stream ends."""

    def __init__(self, owner):
        self.owner = owner
        self.transport = None
        self.buffer = b""
        self.headers_done = False
        self.retry = 3.0
        self.last_id = None
        self.statuses = {}  # component id -> status, as the events told
        self.connections = []  # epoch of each stream that answered 200
        self.codes = Counter()
        self.snapshots = 0
        self.ids = []  # ids of the non-snapshot events applied, in order

    def connect(self):
        loop = asyncio.get_running_loop()
        asyncio.ensure_future(self._connect(loop))

    async def _connect(self, loop):
        while True:
            try:
                await asyncio.wait_for(loop.create_connection(lambda: self, "127.0.0.1",
                                                              self.owner.port), 10)
                return
            except (OSError, asyncio.TimeoutError):
                self.codes["refused"] += 1
                await asyncio.sleep(self.retry)

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""
        self.headers_done = False
        resume = f"Last-Event-ID: {self.last_id}\r\n" if self.last_id is not None else ""
        transport.write((f"GET /status/events HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                         f"Accept: text/event-stream\r\n{resume}\r\n").encode())

    def data_received(self, data):
        self.buffer += data
        if not self.headers_done:
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if not found:
                return
            self.headers_done = True
            code = head.split(b" ", 2)[1].decode()
            self.codes[code] += 1
            if code == "200":
                self.connections.append(time.time())
            self.buffer = rest
        while b"\n\n" in self.buffer:
            frame, self.buffer = self.buffer.split(b"\n\n", 1)
            self.frame(frame.decode("utf-8"))

    def frame(self, text):
        fields = {"data": []}
        for line in text.split("\n"):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                fields["data"].append(value)
            elif name in ("id", "event", "retry"):
                fields[name] = value
        if "retry" in fields and fields["retry"].isdigit():
            self.retry = int(fields["retry"]) / 1000
        if "event" not in fields:
            return
        event_id = int(fields["id"]) if fields.get("id", "").isdigit() else None
        kind = fields["event"].removeprefix("status.")
        if kind != "snapshot" and event_id and self.last_id and event_id <= self.last_id:
            return  # published twice, or replayed: what the page's script skips too
        if event_id:
            self.last_id = event_id
        data = json.loads("\n".join(fields["data"]))
        if kind == "snapshot":
            self.snapshots += 1
            self.statuses = page_statuses(data)
        elif kind == "component_changed":
            self.ids.append(event_id)
            if data.get("deleted") or data.get("visible") is False:
                self.statuses.pop(data["id"], None)
            else:
                self.statuses[data["id"]] = data["status"]
        else:
            self.ids.append(event_id)

    def connection_lost(self, exc):
        self.transport = None
        if not self.owner.closing:
            asyncio.get_running_loop().call_later(self.retry, self.connect)

    def summary(self, since):
        return {"connections": len(self.connections),
                "back_at": next((t for t in self.connections if t >= since), None),
                "open": self.transport is not None, "statuses": self.statuses,
                "last_id": self.last_id, "codes": dict(self.codes),
                "snapshots": self.snapshots, "ids": self.ids}


def page_statuses(document):
    """{component id: status} of a /status/api document (ungrouped and grouped components)."""
    components = list(document["components"])
    for group in document["groups"]:
        components.extend(group["components"])
    return {component["id"]: component["status"] for component in components}


class ReaderProcess:
    """The asyncio loop of one client process, driven by (command, ...) messages on a pipe."""

    def __init__(self, conn, port):
        self.conn = conn
        self.port = port
        self.readers = []
        self.closing = False

    async def run(self):
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        loop.add_reader(self.conn.fileno(), self.on_command)
        await self.done

    def on_command(self):
        try:
            command, *params = self.conn.recv()
        except EOFError:
            command, params = "close", []
        if command == "open":
            asyncio.ensure_future(self.open(*params))
        elif command == "summary":
            self.conn.send([reader.summary(*params) for reader in self.readers])
        elif command == "close":
            self.closing = True
            for reader in self.readers:
                if reader.transport is not None:
                    reader.transport.abort()
            asyncio.get_running_loop().remove_reader(self.conn.fileno())
            if not self.done.done():
                self.done.set_result(None)

    async def open(self, count):
        for start in range(0, count, CONNECT_BATCH):
            for _ in range(min(CONNECT_BATCH, count - start)):
                reader = StateReader(self)
                self.readers.append(reader)
                reader.connect()
            await asyncio.sleep(0.2)
        self.conn.send(len(self.readers))


def reader_main(conn, port):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(ReaderProcess(conn, port).run())


class Readers:
    """``count`` StateReaders spread over a few processes."""

    def __init__(self, count, port):
        processes = max(1, math.ceil(count / READERS_PER_PROCESS))
        self.shares = [count // processes + (1 if n < count % processes else 0)
                       for n in range(processes)]
        context = multiprocessing.get_context("fork")
        self.conns, self.processes = [], []
        for share in self.shares:
            parent, child = context.Pipe()
            process = context.Process(target=reader_main, args=(child, port), daemon=True)
            process.start()
            child.close()
            self.conns.append(parent)
            self.processes.append(process)
        for conn, share in zip(self.conns, self.shares):
            conn.send(("open", share))
        for conn in self.conns:
            conn.recv()

    def summary(self, since=0.0):
        for conn in self.conns:
            conn.send(("summary", since))
        return [reader for conn in self.conns for reader in conn.recv()]

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


# --- load: a writer and a poller in threads, counting what they were answered ---------------

class Loop(threading.Thread):
    """Calls ``step()`` ``rate`` times a second until stopped; counts the answers' codes."""

    def __init__(self, name, rate, step):
        super().__init__(name=name, daemon=True)
        self.rate = rate
        self.step = step
        self.codes = Counter()
        self.failures = []  # (epoch, what) of each 5xx or connection error
        self.stopping = threading.Event()

    def run(self):
        for count in itertools.count():
            if self.stopping.is_set():
                return
            started = time.time()
            try:
                for what, status in self.step(count):
                    self.codes[status] += 1
                    if status >= 500:
                        self.failures.append((started, f"{what} {status}"))
            except OSError as error:
                self.codes["error"] += 1
                self.failures.append((started, f"{type(error).__name__}: {error}"))
            self.stopping.wait(max(0.0, 1 / self.rate - (time.time() - started)))

    def stop(self):
        self.stopping.set()
        self.join(30)


def poll_page(port):
    def step(count):
        path = "/status/" if count % 2 else "/status/api"
        return [(f"GET {path}", request(port, "GET", path, timeout=10)[0])]
    return step


# --- the stack --------------------------------------------------------------------------------

class Stack:
    """Private Redis and PostgreSQL, the release step, then web, worker and scheduler."""

    def __init__(self, workdir, **settings):
        self.workdir = workdir
        self.token = secrets.token_urlsafe(24)
        self.port = free_port()
        self.processes = []
        # Not in workdir: mkdtemp makes it 0700, and the cluster runs as the postgres user.
        self.postgres = PostgresServer()
        self.redis = RedisServer(workdir)
        self.env = process_env(self.postgres.url, self.redis.url, PORT=self.port,
                               WEB_CONCURRENCY=2, MAINTENANT_API_TOKEN=self.token,
                               SECRET_KEY="faults", **settings)
        release(self.env, workdir)

    def start(self):
        self.web = procfile_process("web", self.env, self.workdir)
        self.processes.append(self.web)
        wait_for_http(self.web, self.port)
        for kind in ("worker", "scheduler"):
            self.processes.append(procfile_process(kind, self.env, self.workdir))
        for process in self.processes[1:]:
            wait_until(lambda p=process: "periodic jobs:" in p.output()
                       or "Listening on" in p.output() or "istening" in p.output(),
                       f"{process.name} started", 60, poll=0.2, process=process)
        return self

    def api(self, method, path, body=None):
        return request(self.port, method, API + path, body, self.token, timeout=30)

    def must(self, method, path, body=None):
        status, data, _ = self.api(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path} answered {status}: {data}")
        return data

    def page_state(self):
        status, document, _ = request(self.port, "GET", "/status/api")
        if status != 200:
            raise RuntimeError(f"/status/api answered {status}")
        return document

    def died(self):
        """The processes that exited by themselves."""
        return [process.name for process in self.processes if not process.alive]

    def close(self):
        for process in reversed(self.processes):
            process.stop()
        self.redis.stop()
        self.postgres.destroy()


@contextmanager
def stack(workdir, **settings):
    built = Stack(workdir, **settings)
    try:
        yield built.start()
    finally:
        built.close()


def create_components(stack, count):
    group = stack.must("POST", "/groups", {"name": "Fault"})
    return [stack.must("POST", "/components", {"name": f"Component {n}",
                                               "group_id": group["id"]})["id"]
            for n in range(1, count + 1)]


def periodic_jobs_scheduled(stack):
    """The scheduler's periodic jobs that Redis holds (a restart empties it: they must be
    scheduled again)."""
    from maintenant.scheduler import PERIODIC_JOBS, Scheduler

    names = stack.redis.client().zrange(Scheduler.scheduled_jobs_key, 0, -1)
    wanted = {periodic.id for periodic in PERIODIC_JOBS}
    return len(wanted & {name.decode() for name in names}), len(wanted)


def seconds(value):
    return "-" if value is None else f"{value:.1f} s"


def codes_text(codes):
    return ", ".join(f"{code}: {count}" for code, count in sorted(codes.items(), key=str)) or "none"


# --- redis-restart ------------------------------------------------------------------------------

def run_restart(workdir):
    lines = []
    with stack(workdir) as running:
        components = create_components(running, 5)
        t0 = time.time()
        readers = Readers(READERS, running.port)
        try:
            wait_until(lambda: sum(1 for r in readers.summary() if r["open"]) == READERS,
                       "every reader connected", 120, poll=0.5)
            connected_in = time.time() - t0
            overrides = {}

            def write(count):
                component = components[count % len(components)]
                value = OVERRIDES[(overrides.get(component, -1) + 1) % len(OVERRIDES)]
                status = running.api("PUT", f"/components/{component}",
                                     {"status_override": value})[0]
                if status < 300:
                    overrides[component] = OVERRIDES.index(value)
                return [(f"PUT override {component}", status)]

            writer = Loop("writer", WRITES_PER_SECOND, write)
            poller = Loop("poller", POLLS_PER_SECOND, poll_page(running.port))
            writer.start()
            poller.start()
            time.sleep(5)
            restarted_at = time.time()
            running.redis.restart()
            up_after = time.time() - restarted_at
            time.sleep(10)
            writer.stop()
            writes_stopped = time.time()

            def all_back():
                summary = readers.summary(restarted_at)
                return all(r["back_at"] and r["open"] for r in summary) and summary
            try:
                wait_until(all_back, "every reader back", 60, poll=0.5)
            except TimeoutError:
                pass
            final = page_statuses(running.page_state())

            def agree():
                summary = readers.summary(restarted_at)
                return all(r["statuses"] == final for r in summary) and summary
            try:
                wait_until(agree, "every reader at the final state", SETTLE_WAIT, poll=0.5)
            except TimeoutError:
                pass
            settled = time.time() - writes_stopped
            poller.stop()
            summary = readers.summary(restarted_at)
            periodic = periodic_jobs_scheduled(running)
        finally:
            readers.close()
        died = running.died()
    back = [r["back_at"] - restarted_at for r in summary if r["back_at"]]
    right = sum(1 for r in summary if r["statuses"] == final)
    stream_codes = Counter()
    for r in summary:
        stream_codes.update(r["codes"])
    page_5xx = sum(n for code, n in poller.codes.items() if code != "error" and code >= 500)
    write_5xx = sum(n for code, n in writer.codes.items() if code != "error" and code >= 500)
    lines += [
        f"{READERS} readers connected in {connected_in:.1f} s; Redis restarted (SIGKILL + start, empty) in {up_after:.2f} s",
        f"writer: {sum(writer.codes.values())} override changes, codes {codes_text(writer.codes)}",
        f"poller: {sum(poller.codes.values())} page/API reads, codes {codes_text(poller.codes)}",
        f"readers back after the restart: {len(back)} of {READERS}; all back within "
        f"{seconds(max(back) if back else None)} (median {seconds(sorted(back)[len(back) // 2] if back else None)})",
        f"stream answers: {codes_text(stream_codes)}; snapshots received "
        f"{sum(r['snapshots'] for r in summary)}",
        f"readers at the final /status/api state: {right} of {READERS} "
        f"({settled:.1f} s after the last write)",
    ]
    lines.append("periodic jobs scheduled in the restarted Redis: {} of {}".format(*periodic))
    if poller.failures or writer.failures:
        lines.append(f"failures: {(poller.failures + writer.failures)[:5]}")
    if died:
        lines.append(f"processes that died: {', '.join(died)}")
    ok = (len(back) == READERS and right == READERS and page_5xx == 0 and write_5xx == 0
          and periodic[0] == periodic[1]
          and not poller.codes.get("error") and not writer.codes.get("error") and not died)
    return ok, lines


# --- redis-outage -------------------------------------------------------------------------------

def load_email_bench():
    """bench/email.py, under another name: ``email`` is the standard library's package."""
    spec = importlib.util.spec_from_file_location("bench_email", ROOT / "bench" / "email.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outbox(app, after):
    """[(id, type, notify, published)] of the events after id ``after``, in id order."""
    from maintenant.extensions import db
    from maintenant.models import OutboxEvent

    with app.app_context():
        rows = db.session.execute(
            db.select(OutboxEvent.id, OutboxEvent.type, OutboxEvent.notify,
                      OutboxEvent.published_at.is_not(None))
            .where(OutboxEvent.id > after).order_by(OutboxEvent.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def ledger_duplicates(app):
    """Ledger rows beyond one per (event, subscriber): 0 unless the ledger's promise broke."""
    from maintenant.extensions import db
    from maintenant.models import NotificationDelivery as D

    with app.app_context():
        pairs = db.session.execute(
            db.select(D.event_id, D.subscriber_id, db.func.count()).group_by(
                D.event_id, D.subscriber_id).having(db.func.count() > 1)).all()
        db.session.remove()
    return len(pairs)


def resume(port, last_id, want, timeout=30):
    """Read /status/events from ``Last-Event-ID: last_id`` like an EventSource (reconnecting
    with the last id it got, after the server's retry) until ``want`` events came, or for
    ``timeout`` s; ([(id, kind)] in the order received, streams opened)."""
    received, streams = [], 0
    deadline = time.monotonic() + timeout
    while len(received) < want and time.monotonic() < deadline:
        streams += 1
        try:
            received += read_stream(port, last_id, want - len(received), deadline)
        except OSError:
            pass
        if received:
            last_id = received[-1][0]
        if len(received) < want:
            time.sleep(min(3.0, max(0.0, deadline - time.monotonic())))  # the retry
    return received, streams


def read_stream(port, last_id, want, deadline):
    """One stream: [(id, kind)] until it ends, ``want`` events came, or ``deadline``."""
    import socket

    received, buffer = [], b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET /status/events HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                     f"Last-Event-ID: {last_id}\r\n\r\n".encode())
        while len(received) < want and time.monotonic() < deadline:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            buffer += chunk
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                fields = dict(line.split(": ", 1) for line in frame.decode().split("\n")
                              if line.startswith(("id: ", "event: ")))
                if "event" in fields:
                    received.append((int(fields["id"]), fields["event"].removeprefix("status.")))
    return received


def run_outage(workdir):
    from maintenant import create_app

    email = load_email_bench()
    sink = email.Sink(workdir)
    smtp = dict(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_TLS="none",
                SMTP_FROM="status@example.com")
    try:
        with stack(workdir, **smtp) as running:
            app = create_app({"SQLALCHEMY_DATABASE_URI": running.postgres.url,
                              "REDIS_URL": running.redis.url, "API_TOKEN": running.token,
                              **smtp})
            email.add_subscribers(app, SUBSCRIBERS)
            components = create_components(running, 3)
            readers = Readers(20, running.port)
            try:
                figures = outage(running, app, components, readers)
            finally:
                readers.close()
            figures["mail_in"] = wait_for_mail(
                sink, SUBSCRIBERS * len(figures["notifying"]), figures["back_at"])
            figures["ledger_extra"] = ledger_duplicates(app)
            died = running.died()
    finally:
        sink.stop()
    _, messages = sink.read()
    return report_outage(figures, messages, died)


def wait_for_mail(sink, count, since, settle=5.0):
    """Seconds from ``since`` until the sink holds ``count`` messages (None: not within
    MAIL_WAIT s); then ``settle`` s more, for any duplicate to show."""
    try:
        wait_until(lambda: len(sink.read()[1]) >= count, "the outage's emails",
                   max(1.0, since + MAIL_WAIT - time.time()), poll=0.25)
    except TimeoutError:
        return None
    took = time.time() - since
    time.sleep(settle)
    return took


def outage(running, app, components, readers):
    """Stop Redis for OUTAGE_SECONDS while the API writes; start it; watch what follows."""
    wait_until(lambda: all(r["open"] for r in readers.summary()), "readers connected", 60)
    wait_until(lambda: all(published for *_, published in outbox(app, 0)),
               "the set-up's events published", 60)
    before = max((row[0] for row in outbox(app, 0)), default=0)
    incidents = []

    def write(count):
        if count % 3 == 0 or not incidents:
            status, body, _ = running.api("POST", "/incidents", {
                "title": f"Outage write {count}", "severity": "minor",
                "components": [components[count % len(components)]],
                "message": "Investigating reports of errors."})
            if status < 300:
                incidents.append(body["id"])
            return [("POST /incidents", status)]
        if count % 3 == 1:
            status = running.api("POST", f"/incidents/{incidents[-1]}/updates", {
                "status": "identified", "message": f"Found the cause ({count})."})[0]
            return [("POST /incidents/:id/updates", status)]
        component = components[count % len(components)]
        value = OVERRIDES[count % len(OVERRIDES)]
        status = running.api("PUT", f"/components/{component}", {"status_override": value})[0]
        return [("PUT /components/:id", status)]

    poller = Loop("poller", POLLS_PER_SECOND, poll_page(running.port))
    poller.start()
    running.redis.stop()
    stopped_at = time.time()
    writer = Loop("writer", 1, write)
    writer.start()
    time.sleep(OUTAGE_SECONDS)
    writer.stop()
    poller.stop()
    page_codes, page_failures = Counter(poller.codes), list(poller.failures)
    running.redis.start()
    back_at = time.time()
    written = outbox(app, before)

    def published():
        return all(row[3] for row in outbox(app, before))
    try:
        wait_until(published, "the outage's events published", 90, poll=0.2)
        published_in = time.time() - back_at
    except TimeoutError:
        published_in = None
    replayed, streams = resume(running.port, before, len(written)) if written else ([], 0)
    notifying = [row[0] for row in written if row[2]]
    return dict(stopped=back_at - stopped_at, before=before, writes=writer.codes, write_failures=writer.failures,
                page=page_codes, page_failures=page_failures, written=written,
                published_in=published_in, replayed=replayed, streams=streams,
                resumed_in=time.time() - back_at, notifying=notifying,
                back_at=back_at, final_check=final_states(running, readers))


def final_states(running, readers):
    """(readers agreeing with /status/api, readers) once they had SETTLE_WAIT s to agree."""
    final = page_statuses(running.page_state())
    try:
        wait_until(lambda: all(r["statuses"] == final for r in readers.summary()),
                   "readers at the final state", SETTLE_WAIT, poll=0.5)
    except TimeoutError:
        pass
    summary = readers.summary()
    return sum(1 for r in summary if r["statuses"] == final), len(summary)


def report_outage(figures, messages, died):
    ledger_extra = figures["ledger_extra"]
    written, replayed, notifying = figures["written"], figures["replayed"], figures["notifying"]
    writes = figures["writes"]
    per_recipient = Counter(recipient for _, recipient in messages)
    expected = SUBSCRIBERS * len(notifying)
    duplicates = sum(max(0, n - len(notifying)) for n in per_recipient.values())
    missing = sum(max(0, len(notifying) - per_recipient.get(f"reader{n}@example.com", 0))
                  for n in range(1, SUBSCRIBERS + 1))
    in_order = [event_id for event_id, _ in replayed] == [row[0] for row in written]
    snapshot = any(kind == "snapshot" for _, kind in replayed)
    agreeing, readers = figures["final_check"]
    write_ok = sum(n for code, n in writes.items() if code != "error" and 200 <= code < 300)
    page_ok = figures["page"].get(200, 0)
    lines = [
        f"Redis down {figures['stopped']:.1f} s; writes in the outage: {sum(writes.values())} "
        f"(codes {codes_text(writes)}); events recorded: {len(written)} "
        f"({len(notifying)} notifying)",
        f"page/API reads in the outage: {sum(figures['page'].values())}, codes "
        f"{codes_text(figures['page'])}",
        f"events published {seconds(figures['published_in'])} after Redis was back",
        f"reader resuming from before the outage (Last-Event-ID {figures['before']}): "
        f"{len(replayed)} of {len(written)} events in {figures['streams']} stream(s), all by "
        f"{figures['resumed_in']:.1f} s after Redis was back, "
        + ("a snapshot instead of the replay" if snapshot else
           "in order, none missing" if in_order else "NOT the events written, in order"),
        f"readers connected throughout at the final state: {agreeing} of {readers}",
        f"emails: {len(messages)} received of {expected} expected ({SUBSCRIBERS} subscribers x "
        f"{len(notifying)} events), {missing} missing, {duplicates} duplicates, ledger "
        f"duplicates {ledger_extra}; all in {seconds(figures['mail_in'])} after Redis was back",
    ]
    failures = figures["write_failures"] + figures["page_failures"]
    if failures:
        lines.append(f"failures: {failures[:5]}")
    if died:
        lines.append(f"processes that died: {', '.join(died)}")
    ok = (write_ok == sum(writes.values()) and page_ok == sum(figures["page"].values())
          and figures["published_in"] is not None and in_order and not snapshot
          and agreeing == readers and missing == 0 and duplicates == 0 and ledger_extra == 0
          and not died)
    return ok, lines


SCENARIOS = {"redis-restart": run_restart, "redis-outage": run_outage}
