"""PostgreSQL stopped under a running app: the API answers 503, the page its last render, and
everything comes back by itself once the server is started again.

The tests run a private PostgreSQL cluster (bench/harness.py's ``PostgresServer``) that they
stop and start; the machine's own cluster is never touched.
"""

import importlib.util
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import exc

from conftest import TEST_REDIS_URL, make_config, running_app
from maintenant import create_app
from maintenant import scheduler as scheduler_module
from maintenant.events import get_broker
from maintenant.extensions import db
from maintenant.models import utcnow
from maintenant.public.cache import page_cache
from maintenant.services.tokens import create_token

ROOT = Path(__file__).resolve().parent.parent.parent
# Redis database 14 is this file's; pub/sub still needs a prefix of its own.
REDIS_URL = TEST_REDIS_URL.rsplit("/", 1)[0] + "/14"
PAGE_KEY = "page:default"


def load_harness():
    """bench/harness.py, loaded by path (the bench folder is not a package, and its email.py
    must not shadow the standard library's)."""
    spec = importlib.util.spec_from_file_location("bench_harness", ROOT / "bench" / "harness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def postgres():
    """A private PostgreSQL cluster, migrated, that a test may stop (it is started again)."""
    try:
        # In the system's temporary folder: pytest's own is closed to the postgres user.
        server = load_harness().PostgresServer()
    except FileNotFoundError as error:
        pytest.skip(f"PostgreSQL is not installed: {error}")
    app = create_app(make_config(server.url, REDIS_URL=REDIS_URL))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield server
    server.destroy()


class Outage:
    """Stops the private server; ``end`` (or the fixture's teardown) starts it again."""

    def __init__(self, server):
        self.server = server
        self.down = False

    def begin(self):
        self.server.stop(mode="immediate")  # every connection dropped at once, like a crash
        self.down = True

    def end(self):
        if self.down:
            self.server.start()
            self.down = False


@pytest.fixture
def outage(postgres):
    outage = Outage(postgres)
    yield outage
    outage.end()


@pytest.fixture
def app(postgres):
    """An app on the private cluster, its broker live (so the page is cached)."""
    with running_app(make_config(postgres.url, REDIS_URL=REDIS_URL,
                                 REDIS_PREFIX=f"maintenant-pg-{uuid.uuid4().hex[:8]}:",
                                 SSE_KEEPALIVE_SECONDS=0.2)) as app:
        assert get_broker().wait_until_healthy(5)
        yield app


@pytest.fixture
def headers(app):
    return {"Authorization": f"Bearer {create_token('operator')[1]}"}


def assert_unavailable(response):
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json()["error"]["code"] == "unavailable"


def test_the_api_answers_503_then_recovers_without_a_restart(app, outage, headers):
    client = app.test_client()
    assert client.get("/api/v1/status/components", headers=headers).status_code == 200

    outage.begin()
    assert_unavailable(client.get("/api/v1/status/components", headers=headers))
    assert_unavailable(client.post("/api/v1/status/components", json={"name": "API"},
                                   headers=headers))
    outage.end()

    # The first request after the restart already works: the pool replaced its dead connections.
    created = client.post("/api/v1/status/components", json={"name": "API"}, headers=headers)
    assert created.status_code == 201
    names = [item["name"] for item in
             client.get("/api/v1/status/components", headers=headers).get_json()["items"]]
    assert names == ["API"]


def test_healthz_names_the_database_in_one_line(app, outage):
    client = app.test_client()
    outage.begin()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    reason = response.get_json()["checks"]["database"]
    assert reason.startswith("unavailable: OperationalError") and "\n" not in reason


def test_the_page_serves_its_last_render_even_after_an_event(app, outage, headers):
    client = app.test_client()
    client.post("/api/v1/status/components", json={"name": "Website"}, headers=headers)
    page = client.get("/status/")
    document = client.get("/status/api")
    # A change after the render: it drops the cached page, and PostgreSQL stops before
    # anything renders it again.
    client.post("/api/v1/status/components", json={"name": "Billing"}, headers=headers)
    assert page_cache().get(PAGE_KEY, utcnow()) is None

    outage.begin()
    stale_page = client.get("/status/")
    stale_document = client.get("/status/api")
    revalidated = client.get("/status/", headers={"If-None-Match": page.headers["ETag"]})
    outage.end()

    assert stale_page.status_code == 200
    assert stale_page.data == page.data and stale_page.headers["ETag"] == page.headers["ETag"]
    assert stale_document.status_code == 200 and stale_document.data == document.data
    assert revalidated.status_code == 304
    fresh = client.get("/status/api").get_json()
    assert [component["name"] for component in fresh["components"]] == ["Website", "Billing"]
    assert b"Billing" in client.get("/status/").data


def test_a_page_never_rendered_is_a_plain_503(app, outage):
    client = app.test_client()
    outage.begin()

    response = client.get("/status/")
    document = client.get("/status/api")

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert b"Traceback" not in response.data and b"Error" not in response.data
    assert_unavailable(document)


def read_stream(response, timeout=3):
    """What a stream sent until it ended; None if it was still open after ``timeout`` s."""
    chunks = iter(response.response)
    sent = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                sent += next(chunks)
            except StopIteration:
                return sent
        return None
    finally:
        response.close()


@pytest.mark.parametrize("stream_headers", [{}, {"Last-Event-ID": "1"}])
def test_a_new_stream_ends_after_its_prelude_so_the_reader_retries(app, outage, headers,
                                                                    stream_headers):
    client = app.test_client()
    client.post("/api/v1/status/components", json={"name": "Website"}, headers=headers)
    client.get("/status/api")  # a last render exists: a stream still does not send it
    client.post("/api/v1/status/components", json={"name": "Billing"}, headers=headers)
    outage.begin()

    response = client.get("/status/events", headers=stream_headers, buffered=False)

    assert response.status_code == 200
    sent = read_stream(response)
    assert sent is not None, "the stream should end so that the reader comes back"
    assert sent.startswith(b"retry: ") and b"event:" not in sent


def test_the_scheduler_waits_for_the_database_instead_of_exiting(monkeypatch):
    lives = []

    def serve(connection, interval, burst):
        lives.append(time.monotonic())
        if len(lives) < 3:  # the start-up reconcile reads the database
            raise exc.OperationalError("SELECT 1", {}, psycopg.OperationalError(
                "connection failed: Connection refused"))

    monkeypatch.setattr(scheduler_module, "serve", serve)
    monkeypatch.setattr(scheduler_module, "REDIS_RETRY", 0)

    scheduler_module.run_scheduler(None)

    assert len(lives) == 3


def test_the_scheduler_still_stops_on_a_real_bug(monkeypatch):
    def serve(connection, interval, burst):
        raise exc.ProgrammingError("SELECT nope", {}, psycopg.errors.UndefinedTable("nope"))

    monkeypatch.setattr(scheduler_module, "serve", serve)

    with pytest.raises(exc.ProgrammingError):
        scheduler_module.run_scheduler(None)
