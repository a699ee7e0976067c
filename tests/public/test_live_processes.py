"""Live updates end to end: the Procfile's web command, real Redis, SSE readers over HTTP.

Each test owns its Redis server (its own port, so it can stop and start it) and a temporary
SQLite file migrated by the Procfile's release step; writes go through the operator API with
a token made by ``flask --app app tokens create``. Every process is killed at the end, even
when the test fails (the ``processes`` fixture).
"""

import http.client
import json
import re
import time
import urllib.request

import pytest

from conftest import TEST_PREFIX
from test_events import RedisServer
from test_processes import (free_port, output, procfile, processes,  # noqa: F401 (fixtures)
                            sqlite_url, wait_for)

STREAM_TIMEOUT = 20


class SseClient:
    """A reader of GET /status/events over a real socket, as a browser's EventSource reads it."""

    def __init__(self, port, last_event_id=None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.connection.request("GET", "/status/events", headers=headers)
        self.socket = self.connection.sock
        self.response = self.connection.getresponse()
        self.last_id = last_event_id
        self.comments = []
        self.retry = None
        self.ended = False

    def next_event(self, timeout=STREAM_TIMEOUT):
        """The next event as {id, event, data}; None when the stream ends first."""
        event, data = {}, []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.socket.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                line = self.response.readline()
            except (OSError, http.client.HTTPException):
                line = b""
            if not line:
                self.ended = True
                return None
            line = line.decode("utf-8").rstrip("\n")
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
            elif line:
                field, _, value = line.partition(": ")
                if field == "data":
                    data.append(value)
                elif field == "retry":
                    self.retry = int(value)
                else:
                    event[field] = value
            elif "event" in event:
                event["id"] = int(event["id"])
                event["data"] = json.loads("\n".join(data))
                self.last_id = event["id"]
                return event
        pytest.fail(f"no event within {timeout} s")

    def next_events(self, count, timeout=STREAM_TIMEOUT):
        return [self.next_event(timeout) for _ in range(count)]

    def wait_for(self, kind, check=lambda data: True, timeout=STREAM_TIMEOUT):
        """Events up to and including the first ``kind`` that passes ``check``."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            event = self.next_event(max(0.1, deadline - time.monotonic()))
            if event is None:
                pytest.fail(f"the stream ended before {kind}; it sent {seen}")
            seen.append(event)
            if event["event"] == kind and check(event["data"]):
                return seen

    def close(self):
        self.connection.close()


class Site:
    """The processes of one test: its Redis, its database, its web processes, its token."""

    def __init__(self, processes, sqlite_url):
        self.processes = processes
        self.redis = RedisServer()
        self.redis.start(lambda command: processes.start(command, processes.env(), name="redis"))
        self.env = processes.env(DATABASE_URL=sqlite_url, REDIS_URL=self.redis.url,
                                 MAINTENANT_REDIS_PREFIX=TEST_PREFIX, WEB_CONCURRENCY="1",
                                 MAINTENANT_SSE_KEEPALIVE_SECONDS="1")
        returncode, text = processes.run(procfile()["release"], self.env)
        assert returncode == 0, text
        returncode, text = processes.run("flask --app app tokens create live-test", self.env)
        assert returncode == 0, text
        self.token = next(line for line in text.splitlines() if line.startswith("mt_"))
        self.webs = []
        self.clients = []

    def start_web(self):
        """Another web process from the Procfile's command; returns its port."""
        port = free_port()
        web = self.processes.start(procfile()["web"], {**self.env, "PORT": str(port)},
                                   name="web")
        wait_for(f"http://127.0.0.1:{port}/healthz", web)
        self.webs.append(web)
        return port

    def stream(self, port, last_event_id=None):
        client = SseClient(port, last_event_id)
        self.clients.append(client)
        assert client.response.status == 200
        return client

    def api(self, port, method, path, body=None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def set_status(self, port, component_id, status):
        return self.api(port, "PUT", f"/status/components/{component_id}",
                        {"status_override": status})

    def page_state(self, port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status/api", timeout=10) as response:
            assert response.status == 200
            return json.loads(response.read())

    def page(self, port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status/", timeout=10) as response:
            assert response.status == 200
            return response.read().decode()

    def redis_clients(self):
        import redis

        connection = redis.Redis.from_url(self.redis.url)
        try:
            return len(connection.client_list()) - 1  # not this one
        finally:
            connection.close()

    def close_clients(self):
        for client in self.clients:
            client.close()

    def logs(self):
        return "\n".join(output(web) for web in self.webs)


@pytest.fixture
def site(processes, sqlite_url):  # noqa: F811 (fixtures imported above)
    site = Site(processes, sqlite_url)
    yield site
    # Readers go first, so the web processes stop at once rather than after their grace time.
    site.close_clients()


def component_status(status):
    return lambda data: data.get("status") == status


def headline(page):
    return re.search(r'class="banner status-([a-z_]+)" id="overall"', page).group(1)


def status_in(state, component_id):
    components = state["components"] + [c for g in state["groups"] for c in g["components"]]
    return next(c["status"] for c in components if c["id"] == component_id)


def test_a_reader_gets_a_change_within_a_second_of_the_write(site):
    port = site.start_web()
    component = site.api(port, "POST", "/status/components", {"name": "API"})
    reader = site.stream(port)
    assert reader.next_event()["event"] == "status.snapshot"

    started = time.monotonic()
    site.set_status(port, component["id"], "major_outage")
    event = reader.wait_for("status.component_changed", component_status("major_outage"))[-1]
    elapsed = time.monotonic() - started

    assert elapsed < 1.0, f"{elapsed:.2f} s from the write to the reader"
    assert reader.retry == 3000 and "connected" in reader.comments
    assert event["data"]["id"] == component["id"]
    assert reader.response.getheader("Content-Type").startswith("text/event-stream")
    assert reader.response.getheader("X-Accel-Buffering") == "no"


def test_a_reader_that_reconnects_gets_exactly_what_it_missed(site):
    port = site.start_web()
    component = site.api(port, "POST", "/status/components", {"name": "API"})
    leaving, staying = site.stream(port), site.stream(port)
    leaving.next_event(), staying.next_event()  # snapshots
    site.set_status(port, component["id"], "degraded")
    leaving.wait_for("status.component_changed", component_status("degraded"))
    staying.wait_for("status.component_changed", component_status("degraded"))
    last_seen = leaving.last_id
    leaving.close()

    site.set_status(port, component["id"], "partial_outage")
    site.set_status(port, component["id"], "major_outage")
    missed = staying.wait_for("status.component_changed", component_status("major_outage"))
    missed += staying.wait_for("status.global_changed", component_status("major_outage"))
    back = site.stream(port, last_event_id=last_seen)
    replayed = back.next_events(len(missed))

    assert [event["event"] for event in replayed] == [event["event"] for event in missed]
    assert replayed == missed
    site.set_status(port, component["id"], "operational")
    assert back.next_event()["data"] == {"id": component["id"], "name": "API",
                                         "group_id": None, "status": "operational",
                                         "visible": True}, "nothing more was replayed"


def test_readers_come_back_after_a_redis_restart_and_the_page_answers_meanwhile(site):
    port = site.start_web()
    component = site.api(port, "POST", "/status/components", {"name": "API"})
    reader = site.stream(port)
    reader.next_event()
    site.page_state(port), site.page_state(port)  # cached
    last_seen = reader.last_id

    site.redis.stop()

    assert reader.next_event(timeout=15) is None, "the stream ends when Redis goes away"
    site.set_status(port, component["id"], "major_outage")  # kept in the outbox
    assert status_in(site.page_state(port), component["id"]) == "major_outage"
    assert headline(site.page(port)) == "major_outage"

    site.redis.start(lambda command: site.processes.start(command, site.processes.env(),
                                                          name="redis"))
    site.set_status(port, component["id"], "degraded")  # publishes what the outage held back

    # As an EventSource does: reconnect with the last id until the events come.
    received = []
    deadline = time.monotonic() + 30
    while not any(event["event"] == "status.component_changed"
                  and event["data"]["status"] == "degraded" for event in received):
        assert time.monotonic() < deadline, f"nothing after the restart; got {received}\n" \
                                            f"{site.logs()}"
        reader = site.stream(port, last_event_id=last_seen)
        while (event := reader.next_event(timeout=5)) is not None:
            received.append(event)
            last_seen = event["id"]
            if event["data"].get("status") == "degraded":
                break
        reader.close()
        time.sleep(0.5)

    changes = [event["data"]["status"] for event in received
               if event["event"] == "status.component_changed"]
    assert changes == ["major_outage", "degraded"], "delayed by the outage, none lost"
    assert status_in(site.page_state(port), component["id"]) == "degraded"


def test_a_write_through_one_web_process_reaches_the_readers_of_another(site):
    first, second = site.start_web(), site.start_web()
    component = site.api(first, "POST", "/status/components", {"name": "API"})
    readers = {port: site.stream(port) for port in (first, second)}
    for port, reader in readers.items():
        assert reader.next_event()["event"] == "status.snapshot"
        for _ in range(2):  # both pages cached now
            site.page_state(port), site.page(port)

    started = time.monotonic()
    site.set_status(first, component["id"], "partial_outage")

    for port, reader in readers.items():
        reader.wait_for("status.component_changed", component_status("partial_outage"))
        # The broker drops the cached page before readers hear of the change.
        assert status_in(site.page_state(port), component["id"]) == "partial_outage"
        assert headline(site.page(port)) == "partial_outage"
    assert time.monotonic() - started < 2.0


def test_redis_connections_do_not_grow_with_readers(site):
    port = site.start_web()
    site.stream(port).next_event()
    with_one = site.redis_clients()

    for _ in range(30):
        site.stream(port).next_event()

    assert site.redis_clients() == with_one
