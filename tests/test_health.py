"""/healthz: 200 when the database and Redis answer, 503 naming what does not."""

import pytest

from maintenant import create_app
from maintenant.extensions import db

from conftest import make_config


def test_healthy_when_database_and_redis_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok",
                                   "checks": {"database": "ok", "redis": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


def build_client(database_url, **config):
    app = create_app(make_config(database_url, **config))
    return app, app.test_client()


@pytest.fixture
def closed_redis_client(database_url):
    app, client = build_client(database_url, REDIS_URL="redis://127.0.0.1:1/0")
    yield client
    with app.app_context():
        db.engine.dispose()


def test_unavailable_naming_redis_when_redis_is_down(closed_redis_client):
    response = closed_redis_client.get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unavailable")


def test_unavailable_naming_redis_when_redis_url_is_unset(database_url):
    app, client = build_client(database_url, REDIS_URL=None)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert "REDIS_URL" in response.get_json()["checks"]["redis"]
    with app.app_context():
        db.engine.dispose()


def test_unavailable_naming_the_database_when_it_cannot_be_opened(tmp_path, redis_conn):
    app, client = build_client("sqlite:///" + str(tmp_path / "missing" / "folder" / "x.db"))

    response = client.get("/healthz")

    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"].startswith("unavailable")
    assert checks["redis"] == "ok"
