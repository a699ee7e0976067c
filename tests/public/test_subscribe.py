"""Sign-up, double opt-in, manage and unsubscribe, as a reader of the page meets them.

The confirmation token is read from the job the sign-up queued for the worker (the only place
it exists besides the email), so these tests see exactly what the mail would carry.
"""

import re
from datetime import timedelta

import pytest
from rq import Queue

from maintenant.extensions import QUEUE_NOTIFICATIONS, db
from maintenant.models import Subscriber, SubscriptionConfirmation
from maintenant.services import subscriptions

from api.helpers import assert_error
from factories import make_component, make_group

ADDRESS = "reader@example.com"


@pytest.fixture
def mail_app(app):
    app.config["SMTP_HOST"] = "127.0.0.1"
    return app


def queued_tokens(redis_conn):
    """The confirmation tokens waiting in the notifications queue, oldest first."""
    queue = Queue(QUEUE_NOTIFICATIONS, connection=redis_conn)
    return [job.args[1] for job in queue.get_jobs()
            if job.func_name == "maintenant.jobs.send_confirmation"]


def sign_up(client, email=ADDRESS, **body):
    return client.post("/status/subscribe", json={"email": email, **body})


def subscriber(email=ADDRESS):
    db.session.expire_all()
    return db.session.scalar(db.select(Subscriber).where(Subscriber.email == email))


def confirm(client, redis_conn, email=ADDRESS, **body):
    assert sign_up(client, email, **body).status_code == 202
    token = queued_tokens(redis_conn)[-1]
    assert client.post(f"/status/subscribe/confirm/{token}").status_code == 200
    return subscriber(email)


def test_the_answer_is_the_same_for_new_pending_and_subscribed_addresses(mail_app, client,
                                                                       redis_conn):
    new = sign_up(client)
    pending = sign_up(client)
    confirm(client, redis_conn, "known@example.com")
    known = sign_up(client, "known@example.com")

    assert new.status_code == pending.status_code == known.status_code == 202
    assert new.get_json() == pending.get_json() == known.get_json()
    assert "inbox" in new.get_json()["message"]


def test_a_sign_up_queues_one_confirmation_mail_and_keeps_only_the_token_hash(mail_app, client,
                                                                            redis_conn):
    sign_up(client, " Reader@Example.COM ")

    [token] = queued_tokens(redis_conn)
    assert len(token) >= 43  # 256 random bits, url-safe base64
    stored = db.session.scalars(db.select(SubscriptionConfirmation)).one()
    assert stored.token_hash != token and token not in stored.token_hash
    assert subscriber().confirmed is False  # the address is stored trimmed and lower-cased


def test_following_the_link_confirms_nothing_until_the_button_is_pressed(mail_app, client,
                                                                        redis_conn):
    sign_up(client)
    [token] = queued_tokens(redis_conn)

    page = client.get(f"/status/subscribe/confirm/{token}")
    assert page.status_code == 200
    assert b"<form method=\"post\">" in page.data and ADDRESS.encode() in page.data
    assert subscriber().confirmed is False

    done = client.post(f"/status/subscribe/confirm/{token}")
    assert done.status_code == 200
    assert subscriber().confirmed is True
    assert subscriber().manage_token.encode() in done.data  # the manage link


def test_a_confirmation_link_works_once(mail_app, client, redis_conn):
    sign_up(client)
    [token] = queued_tokens(redis_conn)
    client.post(f"/status/subscribe/confirm/{token}")

    again = client.post(f"/status/subscribe/confirm/{token}")
    assert again.status_code == 404 and b"not valid any more" in again.data
    assert client.get(f"/status/subscribe/confirm/{token}").status_code == 404


def test_an_expired_confirmation_link_confirms_nothing(mail_app, client, redis_conn):
    sign_up(client)
    [token] = queued_tokens(redis_conn)
    stored = db.session.scalars(db.select(SubscriptionConfirmation)).one()
    stored.expires_at = stored.created_at - timedelta(seconds=1)
    db.session.commit()

    assert client.post(f"/status/subscribe/confirm/{token}").status_code == 404
    assert subscriber().confirmed is False


@pytest.mark.parametrize("token", ["nope", "x" * 500, "%00", "..%2f..%2fetc"])
def test_made_up_tokens_get_the_expired_page(mail_app, client, token):
    for path in (f"/status/subscribe/confirm/{token}", f"/status/subscription/{token}",
                 f"/status/subscription/{token}/unsubscribe"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html"


def test_components_chosen_at_sign_up_are_applied_on_confirmation(mail_app, client, redis_conn):
    api_component, web = make_component("API"), make_component("Web")

    chosen = confirm(client, redis_conn, components=[web.id])

    assert [c.id for c in chosen.components] == [web.id]
    assert api_component.id not in [c.id for c in chosen.components]


def test_signing_up_again_with_other_components_replaces_the_choice_once_confirmed(
        mail_app, client, redis_conn):
    first, second = make_component("API"), make_component("Web")
    confirm(client, redis_conn, components=[first.id])

    sign_up(client, components=[second.id])
    assert [c.id for c in subscriber().components] == [first.id]  # not before confirmation
    client.post(f"/status/subscribe/confirm/{queued_tokens(redis_conn)[-1]}")

    assert [c.id for c in subscriber().components] == [second.id]


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b@c", "x" * 250 + "@example.com",
                                   "reader@example.com\r\nBcc: victim@example.com", 42, None])
def test_invalid_addresses_are_refused_with_422(mail_app, client, email):
    assert_error(sign_up(client, email), 422, "email")
    assert db.session.scalar(db.select(db.func.count(Subscriber.id))) == 0


def test_unknown_and_hidden_components_are_refused_alike(mail_app, client):
    hidden = make_component("Internal", visible=False)

    for ids in ([hidden.id], [999999]):
        error = assert_error(sign_up(client, components=ids), 422, "components")
        assert "Unknown component" in error["message"]


def test_bad_bodies_get_the_error_envelope(mail_app, client):
    assert_error(client.post("/status/subscribe", data="{", content_type="application/json"), 400)
    assert_error(client.post("/status/subscribe", data="email=x", content_type="text/plain"), 415)
    assert_error(sign_up(client, extra="field"), 422, "extra")


def test_without_a_mail_server_sign_up_is_refused_with_503(app, client):
    app.config["SMTP_HOST"] = None

    error = assert_error(sign_up(client), 503)

    assert "mail server" in error["message"]
    assert db.session.scalar(db.select(db.func.count(Subscriber.id))) == 0


def test_sign_ups_from_one_client_address_are_rate_limited(mail_app, client, redis_conn):
    mail_app.config["SIGNUP_LIMIT_PER_ADDRESS"] = 3
    answers = [sign_up(client, f"r{n}@example.com").status_code for n in range(5)]

    assert answers == [202, 202, 202, 429, 429]
    refused = sign_up(client, "late@example.com")
    assert_error(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0


def test_forwarded_addresses_count_only_behind_a_configured_proxy(mail_app, client):
    mail_app.config["SIGNUP_LIMIT_PER_ADDRESS"] = 1
    spoofed = [client.post("/status/subscribe", json={"email": f"s{n}@example.com"},
                           headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
               for n in range(3)]
    assert spoofed == [202, 429, 429]  # the header is ignored: one client


def test_behind_a_proxy_each_forwarded_client_has_its_own_limit(database_url, redis_conn):
    from maintenant import create_app
    from conftest import empty_tables, make_config

    proxied = create_app(make_config(database_url, TRUSTED_PROXIES=1, SMTP_HOST="127.0.0.1",
                                     SIGNUP_LIMIT_PER_ADDRESS=1))
    with proxied.app_context():
        empty_tables()
        client = proxied.test_client()
        answers = [client.post("/status/subscribe", json={"email": f"p{n}@example.com"},
                               headers={"X-Forwarded-For": ip}).status_code
                   for n, ip in enumerate(["10.0.0.1", "10.0.0.2", "10.0.0.1"])]
        db.session.remove()
    assert answers == [202, 202, 429]


def test_one_address_gets_a_bounded_number_of_mails_whatever_the_clients(mail_app, client,
                                                                        redis_conn):
    mail_app.config["SIGNUP_LIMIT_PER_EMAIL"] = 2

    answers = [sign_up(client, "victim@example.com").get_json() for _ in range(6)]

    assert all(answer == answers[0] for answer in answers)  # nothing tells the difference
    assert len(queued_tokens(redis_conn)) == 2


def test_the_form_works_without_javascript(mail_app, client, redis_conn):
    web = make_component("Web", group_id=make_group("Public").id)
    form = client.get("/status/subscribe")
    assert form.status_code == 200 and b'name="email"' in form.data
    assert f'value="{web.id}"'.encode() in form.data
    assert "script-src 'none'" in form.headers["Content-Security-Policy"]

    sent = client.post("/status/subscribe", data={"email": ADDRESS, "components": [str(web.id)]})
    assert sent.status_code == 200 and b"Check your inbox" in sent.data

    token = queued_tokens(redis_conn)[-1]
    client.post(f"/status/subscribe/confirm/{token}")
    assert [c.id for c in subscriber().components] == [web.id]


def test_the_form_shows_a_bad_address_with_422(mail_app, client):
    response = client.post("/status/subscribe", data={"email": "<script>x</script>"})

    assert response.status_code == 422 and response.mimetype == "text/html"
    assert b"<script>x" not in response.data and b"&lt;script&gt;x" in response.data


def test_the_manage_page_changes_components_with_its_button(mail_app, client, redis_conn):
    first, second = make_component("API"), make_component("Web")
    reader = confirm(client, redis_conn)
    manage = f"/status/subscription/{reader.manage_token}"

    page = client.get(manage)
    assert page.status_code == 200 and b"Unsubscribe" in page.data
    saved = client.post(manage, data={"components": [str(second.id)]})

    assert saved.status_code == 200 and b"Saved." in saved.data
    assert [c.id for c in subscriber().components] == [second.id]
    assert first.id not in [c.id for c in subscriber().components]


def test_unsubscribing_takes_a_button_and_forgets_the_address(mail_app, client, redis_conn):
    reader = confirm(client, redis_conn)
    link = f"/status/subscription/{reader.manage_token}/unsubscribe"

    assert client.get(link).status_code == 200
    assert subscriber() is not None  # a link followed by a mail scanner changes nothing

    gone = client.post(link)
    assert gone.status_code == 200 and b"unsubscribed" in gone.data
    assert subscriber() is None
    assert client.post(link).status_code == 200  # pressing twice is fine


def test_one_click_unsubscribe_from_the_mail_client(mail_app, client, redis_conn):
    reader = confirm(client, redis_conn)

    response = client.post(f"/status/subscription/{reader.manage_token}/unsubscribe",
                           data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    assert subscriber() is None


def test_unconfirmed_sign_ups_are_purged_after_a_day(mail_app, client, redis_conn):
    sign_up(client, "never@example.com")
    confirm(client, redis_conn, "kept@example.com")
    later = subscriptions.utcnow() + subscriptions.CONFIRMATION_TTL + timedelta(seconds=1)

    subscriptions.purge_unconfirmed(later)

    assert subscriber("never@example.com") is None
    assert subscriber("kept@example.com").confirmed
    assert db.session.scalar(db.select(db.func.count(SubscriptionConfirmation.id))) == 0


def test_the_manage_link_of_a_pending_address_does_not_work(mail_app, client):
    sign_up(client)
    pending = subscriber()

    assert client.get(f"/status/subscription/{pending.manage_token}").status_code == 404
    assert re.match(r"^[A-Za-z0-9_-]{43}$", pending.manage_token)
