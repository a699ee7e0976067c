"""The public surface under hostile input: oversized bodies, wrong content types, CR/LF where
it could reach a header, absurd Last-Event-IDs and odd paths: a clear 4xx, never a 500."""

import pytest

from factories import make_component
from maintenant.events import get_broker
from maintenant.services import subscriptions

TOO_BIG = b"x" * (1024 * 1024 + 1)  # MAX_CONTENT_LENGTH is 1 MiB
CRLF = "%0d%0aX-Injected:%20yes"


@pytest.fixture
def mail_app(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1)  # sign-up is open; nothing is sent
    return app


@pytest.fixture
def manage_token(app):
    component = make_component("API")
    subscriber, token = subscriptions.sign_up("reader@example.com", [component.id])
    return subscriptions.confirm(subscriptions.find_confirmation(token)).manage_token


def assert_no_split(response):
    assert response.status_code < 500
    assert "X-Injected" not in response.headers
    for name, value in response.headers.items():
        assert "\r" not in value and "\n" not in value, (name, value)


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=b"])
def test_an_oversized_sign_up_gets_413(mail_app, client, content_type):
    response = client.post("/status/subscribe", data=TOO_BIG, content_type=content_type)
    assert response.status_code == 413
    if content_type == "application/json":  # a script's sign-up gets the JSON envelope
        assert response.get_json()["error"]["code"] == "payload_too_large"


def test_an_oversized_sign_up_sent_chunked_gets_413(mail_app, client):
    # No Content-Length: the limit holds while the body is read.
    response = client.post("/status/subscribe", input_stream=__import__("io").BytesIO(TOO_BIG),
                           content_type="application/json",
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_an_oversized_manage_form_gets_413_and_changes_nothing(client, manage_token, content_type):
    response = client.post(f"/status/subscription/{manage_token}", data=TOO_BIG,
                           content_type=content_type)
    assert response.status_code == 413
    assert subscriptions.find_subscriber(manage_token).components  # still subscribed to API


@pytest.mark.parametrize("path", ["/ping/abc", "/ping/abc/fail", "/ping/abc/start"])
def test_an_oversized_ping_gets_413(client, path):
    assert client.post(path, data=TOO_BIG, content_type="text/plain").status_code == 413


def test_the_unsubscribe_buttons_ignore_any_body(client, manage_token):
    # RFC 8058's one-click POST is read by its path alone: a large body is never read.
    response = client.post(f"/status/subscription/{manage_token}/unsubscribe", data=TOO_BIG,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code in (200, 413)


@pytest.mark.parametrize("content_type,status", [
    ("text/plain", 415), ("application/xml", 415), ("", 415),
    ("application/json", 400), ("application/json; charset=utf-16", 400),
    ("multipart/form-data; boundary=zz", 422), ("multipart/form-data", 422),
])
def test_a_sign_up_in_the_wrong_shape_is_refused_clearly(mail_app, client, content_type, status):
    body = b"<x>junk</x>\r\n--zz\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n\xff"
    response = client.post("/status/subscribe", data=body, content_type=content_type)
    assert response.status_code == status


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_a_manage_form_in_the_wrong_shape_is_refused(client, manage_token, content_type):
    response = client.post(f"/status/subscription/{manage_token}", data=b"<x/>",
                           content_type=content_type)
    assert response.status_code == 415


@pytest.mark.parametrize("email", ["reader@example.com\r\nBcc: all@example.com",
                                   "reader@example.com%0d%0aBcc:all@example.com",
                                   "a\nb@example.com", "reader@exa\rmple.com"])
def test_a_sign_up_with_a_header_in_the_address_is_refused(mail_app, client, email):
    as_json = client.post("/status/subscribe", json={"email": email})
    as_form = client.post("/status/subscribe", data={"email": email})
    assert as_json.status_code == 422 and as_form.status_code == 422
    assert "Bcc" not in as_form.get_data(as_text=True).split("<body", 1)[0]


# One test each, not one per case: every test that renders the page starts a broker, and
# stopping it costs a second.
CRLF_PATHS = [
    f"/status/?lang=fr{CRLF}", f"/status/history?month=2026-01{CRLF}",
    f"/status/history?lang={CRLF}", f"/status/incidents/1{CRLF}", f"/status/api?lang={CRLF}",
    f"/status/feed.atom?lang={CRLF}", f"/status/feed.rss?lang={CRLF}",
    f"/status/badge.svg?label={CRLF}&style={CRLF}", f"/status/maintenance.ics?lang={CRLF}",
    f"/status/subscribe?lang={CRLF}", f"/status/events?last_event_id=1{CRLF}",
    f"/ping/abc{CRLF}", f"/api/v2/summary.json?lang={CRLF}", f"/status/?lang={'x' * 5000}",
    f"/status/history?month={'9' * 5000}",
]


def test_cr_lf_in_the_query_never_splits_a_header(app, client):
    for path in CRLF_PATHS:
        response = client.get(path, buffered=False)
        try:
            assert_no_split(response)
        finally:
            response.close()


def test_odd_request_headers_never_split_a_response_header(client):
    for header in ("Accept-Language", "If-None-Match", "Origin", "Cookie"):
        for path in ("/status/", "/status/api", "/api/v2/status.json", "/status/feed.atom"):
            assert_no_split(client.get(path, headers={header: "fr;q=1, \x7f\xff" + "x" * 8000}))


@pytest.fixture
def stream(app):
    app.config["SSE_KEEPALIVE_SECONDS"] = 0.2
    assert get_broker().wait_until_healthy(5)
    opened = []

    def open_(**kwargs):
        response = app.test_client().get("/status/events", buffered=False, **kwargs)
        opened.append(response)
        return response

    yield open_
    for response in opened:
        response.close()


def first_event(response):
    text = ""
    for chunk in response.response:
        text += chunk.decode()
        if "event:" in text and text.endswith("\n\n"):
            return text
    return text


ABSURD_IDS = ["9" * 10_240, str(2 ** 100), "-" + "9" * 5000, "1" * 19, "0x10", "1;2",
              "\u0661\u0662"]


def test_an_absurd_last_event_id_gets_a_snapshot(stream):
    make_component("API")
    for last_event_id in ABSURD_IDS:
        for response in (stream(headers={"Last-Event-ID": last_event_id}),
                         stream(query_string={"last_event_id": last_event_id})):
            assert response.status_code == 200, last_event_id[:20]
            assert "event: status.snapshot" in first_event(response), last_event_id[:20]
            response.close()


@pytest.mark.parametrize("path", [
    "/status/incidents/%00", "/status/incidents/..%2f..%2fapi%2fv1", "/status/" + "a" * 20_000,
    "/status/incidents/" + "9" * 400, "/status/components/99999999999999999999/badge.svg",
    "/ping/%00", "/ping/" + "a" * 20_000, "/status/subscription/%00/unsubscribe",
    "/status/subscribe/confirm/" + "x" * 5000, "/status/%2e%2e/api/v1/endpoints",
])
def test_odd_paths_get_a_4xx(client, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500, response.status_code
