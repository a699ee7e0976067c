"""/api/v1/status/subscribers"""

from datetime import timedelta

import pytest

from maintenant.extensions import db
from maintenant.models import Subscriber, utcnow

from mail import smtp_server  # noqa: F401

from .helpers import assert_error, ids, ok


@pytest.fixture
def subscribers(app):
    """Three subscribers, oldest first (sign-up comes in a later issue: rows made directly)."""
    now = utcnow()
    rows = [
        Subscriber(email="jane@example.com", confirmed=True, created_at=now - timedelta(days=2)),
        Subscriber(email="bob.smith@mail.example.org", confirmed=False,
                   created_at=now - timedelta(days=1)),
        Subscriber(email="x@example.net", confirmed=True, created_at=now),
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [{"id": row.id, "email": row.email} for row in rows]


def test_the_list_masks_emails(api, subscribers):
    listing = ok(api.get("/status/subscribers"))
    assert listing["total"] == 3
    assert [s["email"] for s in listing["items"]] == [
        "x***@example.net", "b***@mail.example.org", "j***@example.com"]
    for subscriber in subscribers:
        assert subscriber["email"] not in str(listing)


@pytest.mark.parametrize("full", ["1", "true"])
def test_full_shows_the_whole_addresses(api, subscribers, full):
    listing = ok(api.get(f"/status/subscribers?full={full}"))
    assert [s["email"] for s in listing["items"]] == [s["email"] for s in reversed(subscribers)]


def test_full_0_still_masks(api, subscribers):
    assert ok(api.get("/status/subscribers?full=0"))["items"][0]["email"] == "x***@example.net"


def test_a_read_token_sees_masked_emails_too(read_api, subscribers):
    assert ok(read_api.get("/status/subscribers"))["items"][0]["email"] == "x***@example.net"


def test_the_list_shows_confirmation_and_sign_up_time(api, subscribers):
    newest = ok(api.get("/status/subscribers"))["items"][0]
    assert set(newest) == {"id", "email", "confirmed", "created_at", "confirmed_at", "components",
                           "undeliverable_at"}
    assert newest["confirmed"] is True
    assert newest["created_at"].endswith("+00:00")


def test_the_list_filters_by_confirmation_and_pages(api, subscribers):
    confirmed = ok(api.get("/status/subscribers?confirmed=true"))
    assert ids(confirmed["items"]) == ids([subscribers[2], subscribers[0]])
    assert confirmed["total"] == 2
    pending = ok(api.get("/status/subscribers?confirmed=false"))
    assert ids(pending["items"]) == [subscribers[1]["id"]]
    page = ok(api.get("/status/subscribers?limit=1&offset=1"))
    assert (ids(page["items"]), page["total"]) == ([subscribers[1]["id"]], 3)


@pytest.mark.parametrize("query, field", [("full=maybe", "full"),
                                          ("confirmed=perhaps", "confirmed")])
def test_bad_arguments_are_422(api, subscribers, query, field):
    assert_error(api.get(f"/status/subscribers?{query}"), 422, field)


def test_an_empty_list(api):
    assert ok(api.get("/status/subscribers")) == {"items": [], "total": 0}


def test_delete_answers_204_and_removes_the_subscriber(api, subscribers):
    response = api.delete(f"/status/subscribers/{subscribers[0]['id']}")
    assert response.status_code == 204
    assert response.data == b""
    listing = ok(api.get("/status/subscribers"))
    assert ids(listing["items"]) == ids([subscribers[2], subscribers[1]])
    assert listing["total"] == 2
    assert_error(api.delete(f"/status/subscribers/{subscribers[0]['id']}"), 404)


def test_deleting_an_unknown_subscriber_is_404(api, subscribers):
    error = assert_error(api.delete("/status/subscribers/999"), 404)
    assert error["code"] == "not_found"
    assert ok(api.get("/status/subscribers"))["total"] == 3


def test_the_list_shows_the_components_each_subscriber_chose(api, app):
    from maintenant.services import subscriptions

    from factories import make_component

    web = make_component("Web")
    _, token = subscriptions.sign_up("web@example.com", [web.id])
    subscriptions.confirm(subscriptions.find_confirmation(token))
    subscriptions.sign_up("pending@example.com", [])

    listing = ok(api.get("/status/subscribers?full=1"))["items"]
    by_email = {item["email"]: item for item in listing}
    assert by_email["web@example.com"]["components"] == [{"id": web.id, "name": "Web"}]
    assert by_email["web@example.com"]["confirmed"] is True
    assert by_email["pending@example.com"]["confirmed"] is False
    assert by_email["pending@example.com"]["confirmed_at"] is None


def test_a_test_message_reaches_the_smtp_server(api, app, smtp_server, redis_conn):
    from rq import SimpleWorker

    app.config.update(smtp_server.settings())

    answer = api.post("/status/subscribers/test", json={"email": "ops@example.com"})

    assert answer.status_code == 202
    assert answer.get_json() == {"email": "ops@example.com", "queued": True}
    from notify.conftest import InProcessWorker

    InProcessWorker(["notifications"], connection=redis_conn).work(burst=True)
    [message] = smtp_server.messages
    assert message["To"] == "ops@example.com" and "Test message" in message["Subject"]


def test_a_test_message_needs_an_address_and_a_mail_server(api, app):
    assert_error(api.post("/status/subscribers/test", json={"email": "nope"}), 422, "email")
    assert_error(api.post("/status/subscribers/test", json={}), 422, "email")
    app.config["SMTP_HOST"] = None
    assert_error(api.post("/status/subscribers/test", json={"email": "ops@example.com"}), 503)


def test_a_read_token_cannot_send_test_messages(read_api):
    assert_error(read_api.post("/status/subscribers/test", json={"email": "ops@example.com"}), 403)
