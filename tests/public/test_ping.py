"""/ping/<token>: heartbeat pings through the real route, as a cron job sends them."""

import pytest

from factories import make_component
from maintenant.extensions import db
from maintenant.models import Heartbeat, MonitorTransition
from maintenant.services.monitor_config import create_heartbeat


@pytest.fixture
def heartbeat(app):
    return create_heartbeat({"name": "Nightly backup", "interval_seconds": 3600,
                             "grace_seconds": 600})


def current(heartbeat):
    db.session.expire_all()
    return db.session.get(Heartbeat, heartbeat.id)


def assert_plain(response, status, text):
    assert response.status_code == status
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data(as_text=True) == text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_ping_marks_the_heartbeat_up(client, heartbeat, method):
    response = client.open(f"/ping/{heartbeat.token}", method=method)

    assert_plain(response, 200, "OK\n")
    heartbeat = current(heartbeat)
    assert heartbeat.status == "up"
    assert heartbeat.last_ping_at is not None
    assert (heartbeat.deadline_at - heartbeat.last_ping_at).total_seconds() == 4200


def test_head_pings_with_no_body(client, heartbeat):
    response = client.head(f"/ping/{heartbeat.token}")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data() == b""
    assert current(heartbeat).status == "up"


def test_a_post_body_is_ignored(client, heartbeat):
    response = client.post(f"/ping/{heartbeat.token}", data=b"backup done: 12 GB\n" * 1000,
                           content_type="text/plain")

    assert_plain(response, 200, "OK\n")
    assert current(heartbeat).status == "up"


def test_a_body_over_the_limit_is_refused_and_counts_for_nothing(client, heartbeat):
    response = client.post(f"/ping/{heartbeat.token}", data=b"x" * (1024 * 1024 + 1))

    assert_plain(response, 413, "request body too large\n")
    assert current(heartbeat).status == "new"


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
def test_a_fail_ping_marks_it_down_at_once(client, heartbeat, method):
    client.get(f"/ping/{heartbeat.token}")

    response = client.open(f"/ping/{heartbeat.token}/fail", method=method)

    assert response.status_code == 200
    heartbeat = current(heartbeat)
    assert (heartbeat.status, heartbeat.last_error) == ("down", "the job reported a failure")


def test_a_start_ping_only_records_the_start(client, heartbeat):
    response = client.post(f"/ping/{heartbeat.token}/start")

    assert_plain(response, 200, "OK\n")
    heartbeat = current(heartbeat)
    assert heartbeat.last_start_at is not None
    assert (heartbeat.status, heartbeat.last_ping_at) == ("new", None)


def test_the_state_follows_the_pings_and_a_component_follows_the_state(client, heartbeat):
    make_component("Backups", monitor_type="heartbeat", monitor_id=heartbeat.id)

    def component_status():
        return client.get("/status/api").get_json()["components"][0]["status"]

    client.get(f"/ping/{heartbeat.token}/start")
    client.get(f"/ping/{heartbeat.token}")
    assert (current(heartbeat).status, component_status()) == ("up", "operational")
    client.get(f"/ping/{heartbeat.token}/fail")
    assert (current(heartbeat).status, component_status()) == ("down", "major_outage")
    client.get(f"/ping/{heartbeat.token}")
    assert (current(heartbeat).status, component_status()) == ("up", "operational")

    moves = db.session.execute(
        db.select(MonitorTransition.from_status, MonitorTransition.to_status)
        .where(MonitorTransition.monitor_id == heartbeat.id).order_by(MonitorTransition.id)).all()
    assert [tuple(move) for move in moves] == [("new", "up"), ("up", "down"), ("down", "up")]


def test_no_auth_is_needed_and_a_bad_one_is_not_checked(client, heartbeat):
    response = client.get(f"/ping/{heartbeat.token}",
                          headers={"Authorization": "Bearer not-a-token"})

    assert_plain(response, 200, "OK\n")


@pytest.mark.parametrize("suffix", ["", "/fail", "/start"])
def test_an_unknown_token_is_a_plain_404(client, heartbeat, suffix):
    response = client.get(f"/ping/{'A' * 43}{suffix}")

    assert_plain(response, 404, "not found\n")
    assert current(heartbeat).status == "new"


@pytest.mark.parametrize("path", [
    "/ping/" + "a" * 65,                  # longer than any token
    "/ping/to%20ken",                     # not url-safe base64
    "/ping/tok.en",
    "/ping/%C3%A9t%C3%A9",
    "/ping/tok'%20OR%20'1'='1",
    "/ping/",
    "/ping/{token}/",                     # a trailing slash is not the ping URL
    "/ping/{token}/succeed",              # only /fail and /start exist
    "/ping/{token}/0",
    "/ping/{token}/fail/again",
])
def test_anything_else_under_ping_is_a_plain_404(client, heartbeat, path):
    response = client.get(path.format(token=heartbeat.token))

    assert_plain(response, 404, "not found\n")
    assert current(heartbeat).status == "new"


def test_bad_tokens_never_reach_the_database(client, heartbeat, app):
    queries = []

    def count(conn, cursor, statement, *args):
        queries.append(statement)

    engine = db.engine
    db.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/ping/" + "a" * 65).status_code == 404
        assert client.get("/ping/tok.en/fail").status_code == 404
    finally:
        db.event.remove(engine, "before_cursor_execute", count)

    assert queries == []


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_are_refused_in_plain_text(client, heartbeat, method):
    response = client.open(f"/ping/{heartbeat.token}", method=method)

    assert_plain(response, 405, "method not allowed\n")
    assert response.headers["Allow"] == "GET, POST, HEAD"
    assert current(heartbeat).status == "new"

