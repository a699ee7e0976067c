"""The fault script's PostgreSQL scenario: the database stopped for 10 s under the Procfile's
processes (web, worker, scheduler) on a private PostgreSQL and Redis.

The promise (issue 8): while PostgreSQL is down the API answers 503 with the error envelope
and Retry-After, the page serves its last render (even one an event has dropped since), and
everything recovers by itself: the API answers again without any process being restarted, a
change made then reaches the page and the live stream, and the periodic jobs run again.
"""

import http.client
import threading
import time
from datetime import datetime, timezone

from harness import (PostgresServer, RedisServer, free_port, process_env, procfile_process,
                     release, request, wait_for_http, wait_until)

OUTAGE_SECONDS = 10.0
POLL_EVERY = 0.1
TOKEN = "fault-postgres-token"
API = "/api/v1/status"
# A periodic job on a short interval (maintenant/scheduler.py): it runs again after the
# outage only if the scheduler still moves jobs and a worker still takes them.
PERIODIC_JOB = "periodic-heartbeat-deadlines"
PERIODIC_INTERVAL = 5


def within(condition, timeout, poll=0.1):
    """Whether ``condition()`` became true within ``timeout`` seconds."""
    try:
        return bool(wait_until(condition, "", timeout, poll=poll))
    except TimeoutError:
        return False


def api(port, method, path, body=None):
    return request(port, method, API + path, body, TOKEN, timeout=10)


def checked(port, method, path, body=None, expected=(200, 201)):
    status, data, _ = api(port, method, path, body)
    if status not in expected:
        raise RuntimeError(f"{method} {path}: {status} {data!r}")
    return data


def warm_page(port, rounds=10, parallel=8):
    """GET /status/ from several connections at once, so every web worker renders the page."""
    def get():
        request(port, "GET", "/status/")

    for _ in range(rounds):
        threads = [threading.Thread(target=get) for _ in range(parallel)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return request(port, "GET", "/status/")


class Tally:
    """Answers seen during the outage, by what they were."""

    def __init__(self):
        self.counts = {}
        self.odd = []

    def add(self, what, good, detail):
        total, held = self.counts.get(what, (0, 0))
        self.counts[what] = (total + 1, held + (1 if good else 0))
        if not good and len(self.odd) < 5:
            self.odd.append(f"{what}: {detail}")

    def held(self, what):
        total, held = self.counts.get(what, (0, 0))
        return total > 0 and total == held

    def describe(self, what):
        return self.counts.get(what, (0, 0))


def is_unavailable_envelope(status, data, headers):
    return (status == 503 and isinstance(data, dict)
            and data.get("error", {}).get("code") == "unavailable"
            and (headers.get("Retry-After") or "").isdigit())


def stream_ends_after_prelude(port, headers):
    """(good, detail): a stream opened now answers 200 and ends without an event, so its
    reader comes back after ``retry:`` (a stale snapshot would skip events)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/status/events", headers=headers)
        response = connection.getresponse()
        sent = response.read()  # returns once the stream ends; times out if it does not
    except OSError as error:
        return False, repr(error)
    finally:
        connection.close()
    good = response.status == 200 and sent.startswith(b"retry: ") and b"event:" not in sent
    return good, f"{response.status} {sent[:120]!r}"


def plain_503(port, path):
    """(good, detail): a page never rendered before the outage answers a plain 503."""
    status, data, headers = request(port, "GET", path, timeout=10)
    good = (status == 503 and (headers.get("Retry-After") or "").isdigit()
            and b"Traceback" not in data)
    return good, f"{path} {status} {data[:80]!r}"


def poll_during_outage(port, seconds, warm_etag, tally):
    """API reads and writes and the page, every POLL_EVERY seconds, for ``seconds``; once a
    second also a new live stream (with and without Last-Event-ID) and a page never rendered."""
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        rounds += 1
        if rounds % int(1 / POLL_EVERY) == 1:
            for headers in ({}, {"Last-Event-ID": "1"}):
                tally.add("stream", *stream_ends_after_prelude(port, headers))
            tally.add("unrendered", *plain_503(port, "/status/history"))
        for what, method, path, body in (
                ("api", "GET", "/components", None),
                ("api", "POST", "/components", {"name": "Written while down"})):
            try:
                status, data, headers = api(port, method, path, body)
                tally.add(what, is_unavailable_envelope(status, data, headers),
                          f"{method} {path} {status} {str(data)[:120]}")
            except OSError as error:
                tally.add(what, False, f"{method} {path} {error!r}")
        try:
            status, data, headers = request(port, "GET", "/status/", timeout=10)
            tally.add("page", status == 200 and headers.get("ETag") == warm_etag,
                      f"{status} ETag {headers.get('ETag')} {data[:80]!r}")
        except OSError as error:
            tally.add("page", False, repr(error))
        time.sleep(max(0.0, POLL_EVERY - (time.monotonic() - started)))


def first_success_after(port, timeout=30):
    """Seconds until GET and POST on the API both answer 2xx again."""
    started = time.monotonic()

    def answers():
        try:
            if api(port, "GET", "/components")[0] != 200:
                return False
            return api(port, "POST", "/groups", {"name": "After the outage"})[0] == 201
        except OSError:
            return False

    wait_until(answers, "the API answering again", timeout, poll=0.05)
    return time.monotonic() - started


class StreamReader:
    """One /status/events reader on a raw connection; collects the event names and data."""

    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        self.connection.request("GET", "/status/events")
        self.response = self.connection.getresponse()
        self.lines = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for raw in self.response:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
        except (OSError, ValueError, AttributeError):  # closed under the reading thread
            pass

    def saw(self, text):
        return any(text in line for line in list(self.lines))

    def close(self):
        self.connection.close()


def periodic_run_after(redis_server, moment, timeout):
    """Wait until PERIODIC_JOB has finished a run that ended after ``moment`` (a datetime)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    connection = redis_server.client()

    def ran():
        try:
            job = Job.fetch(PERIODIC_JOB, connection=connection)
        except NoSuchJobError:
            return False
        ended = job.ended_at
        if ended is not None and ended.tzinfo is None:
            ended = ended.replace(tzinfo=timezone.utc)
        return ended is not None and ended > moment and job.get_status() == JobStatus.FINISHED

    return within(ran, timeout, poll=0.2)


def run(workdir):
    redis_server = RedisServer(workdir)
    postgres = PostgresServer()
    processes = {}
    try:
        port = free_port()
        env = process_env(postgres.url, redis_server.url, PORT=port, SECRET_KEY="fault",
                          MAINTENANT_API_TOKEN=TOKEN)
        release(env, workdir)
        for kind in ("web", "worker", "scheduler"):
            processes[kind] = procfile_process(kind, env, workdir)
        wait_for_http(processes["web"], port)
        return scenario(port, redis_server, postgres, processes, workdir)
    finally:
        for process in processes.values():
            process.stop()
        postgres.destroy()
        redis_server.stop()


def scenario(port, redis_server, postgres, processes, workdir):
    components = [checked(port, "POST", "/components", {"name": name})
                  for name in ("Website", "API", "Billing")]
    checked(port, "POST", "/incidents", {
        "title": "Slow sign-ins", "severity": "minor", "message": "Looking into it.",
        "components": [components[0]["id"]]})
    time.sleep(1)  # the incident's events reach every web worker
    status, page, headers = warm_page(port)
    if status != 200:
        raise RuntimeError(f"the page did not answer: {status}")
    warm_etag = headers.get("ETag")
    # A change after the page was rendered: it drops the cached page, and PostgreSQL stops
    # before anything renders it again. The page must still answer its last render.
    checked(port, "PUT", f"/components/{components[1]['id']}",
            {"status_override": "major_outage"})

    tally = Tally()
    postgres.stop(mode="immediate")
    stopped = time.monotonic()
    poll_during_outage(port, OUTAGE_SECONDS, warm_etag, tally)
    alive_during = [name for name, process in processes.items() if process.alive]
    starting = time.monotonic()
    postgres.start()  # returns once the server accepts connections
    start_took = time.monotonic() - starting
    down_for = time.monotonic() - stopped
    restarted_at = datetime.now(timezone.utc)
    recovered = first_success_after(port)

    # Everything working again, without a restart: a change reaches the page and the stream,
    # the schedule and the workers go on.
    reader = StreamReader(port)
    wait_until(lambda: reader.saw("event: status.snapshot"), "the stream's snapshot", 10)
    incident = checked(port, "POST", "/incidents", {
        "title": "Database maintenance done", "severity": "minor",
        "message": "All good again.", "components": [components[2]["id"]]})
    title = incident["title"]
    on_page = within(lambda: title in str(request(port, "GET", "/status/api")[1]), 10)
    in_stream = within(lambda: reader.saw(title), 10)
    reader.close()
    fresh_page = request(port, "GET", "/status/")
    page_fresh = fresh_page[0] == 200 and fresh_page[2].get("ETag") != warm_etag
    periodic = periodic_run_after(redis_server, restarted_at,
                                  timeout=3 * PERIODIC_INTERVAL + 5)
    alive_after = [name for name, process in processes.items() if process.alive]
    # The web and the scheduler log one line per refused request, never a traceback; the
    # worker's jobs that ran during the outage failed (rq logs each) and ran again since.
    tracebacks = {name: processes[name].output().count("Traceback")
                  for name in ("web", "scheduler")}
    failed_jobs = processes["worker"].output().count("exception raised while executing")

    api_total, _ = tally.describe("api")
    page_total, _ = tally.describe("page")
    streams, _ = tally.describe("stream")
    unrendered, _ = tally.describe("unrendered")
    api_held, page_held = tally.held("api"), tally.held("page")
    others_held = tally.held("stream") and tally.held("unrendered")
    everyone = list(processes)
    lines = [
        f"PostgreSQL stopped {down_for:.1f} s: API {api_total} answers, "
        + ("all 503 with the envelope" if api_held else "NOT all 503 with the envelope")
        + f"; page {page_total} answers, "
        + ("all 200 (last render)" if page_held else "NOT all 200 with the last render")
        + f"; recovered {recovered:.2f} s after restart (PostgreSQL took {start_took:.2f} s "
        + "to start); processes alive: "
        + (", ".join(alive_after) or "none"),
        f"during the outage: {streams} new live streams "
        + ("all ended after their prelude" if tally.held("stream") else "NOT all ended cleanly")
        + f", a page never rendered (/status/history) {unrendered} times "
        + ("a plain 503" if tally.held("unrendered") else "NOT a plain 503"),
        f"after the restart: a new incident on /status/api {'yes' if on_page else 'NO'}, "
        f"its event on /status/events {'yes' if in_stream else 'NO'}, the page re-rendered "
        f"{'yes' if page_fresh else 'NO'}, {PERIODIC_JOB} ran again "
        f"{'yes' if periodic else 'NO'}; jobs failed during the outage: {failed_jobs}; "
        f"tracebacks in the web log: {tracebacks['web']}, scheduler log: "
        f"{tracebacks['scheduler']}",
        *tally.odd,
    ]
    ok = (api_held and page_held and others_held and on_page and in_stream and page_fresh
          and periodic and alive_during == everyone and alive_after == everyone
          and not any(tracebacks.values()))
    return ok, lines


SCENARIOS = {"postgres-outage": run}
