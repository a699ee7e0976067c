"""The whole subscriber journey through HTTP and a real SMTP server."""

import re
from urllib.parse import urlsplit

from maintenant.notify import fanout

from factories import make_component


def path_of(url):
    """The path of a link from an email (built from MAINTENANT_BASE_URL)."""
    assert url.startswith("http://status.test/"), url
    return urlsplit(url).path


def test_subscribe_confirm_hear_unsubscribe_and_hear_no_more(api, client, mail_app, smtp_server,
                                                            work):
    web = make_component("Web")
    other = make_component("Billing")

    assert client.post("/status/subscribe", json={"email": "reader@example.com",
                                                  "components": [web.id]}).status_code == 202
    work()
    [confirmation] = smtp_server.messages
    assert confirmation["To"] == "reader@example.com"
    assert "List-Unsubscribe" not in confirmation  # nothing to leave yet
    link = re.search(r"http://status\.test/status/subscribe/confirm/\S+",
                     confirmation.get_body(("plain",)).get_content()).group(0)
    page = client.get(path_of(link))
    assert page.status_code == 200 and b"Confirm my subscription" in page.data
    assert client.post(path_of(link)).status_code == 200

    api.post("/status/incidents", json={"title": "Billing slow", "severity": "minor",
                                        "message": "Not yours.", "components": [other.id]})
    api.post("/status/incidents", json={"title": "Web down", "severity": "critical",
                                        "message": "Yours.", "components": [web.id]})
    fanout.sweep()
    work()
    [notification] = smtp_server.messages[1:]
    assert notification["Subject"] == "[System Status] Incident: Web down"
    assert notification["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = notification["List-Unsubscribe"].strip("<>")

    # What a mail client does for RFC 8058 one-click unsubscribe.
    left = client.post(path_of(one_click), data="List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded")
    assert left.status_code == 200

    api.post("/status/incidents", json={"title": "Web down again", "severity": "critical",
                                        "message": "Still yours?", "components": [web.id]})
    fanout.sweep()
    work()
    assert len(smtp_server.messages) == 2
