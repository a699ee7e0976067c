"""/api/v1/status/subscribers"""

from datetime import timedelta

import pytest

from maintenant.extensions import db
from maintenant.models import Subscriber, utcnow

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
    assert set(newest) == {"id", "email", "confirmed", "created_at"}
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
