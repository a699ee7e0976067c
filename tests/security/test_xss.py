"""Hostile operator text in every field comes out inert: page, history, incident and
subscription pages, JSON, feeds, badges and email; every HTML answer has a strict CSP.

(The live updates, where the page's script writes what the stream sends, are checked in a real
browser: test_xss_live.py.)
"""

import json

import pytest

from api.helpers import created, from_now, iso, ok
from maintenant.notify import fanout
from maintenant.services import subscriptions

from .inert import (PAYLOAD, SHORT, assert_inert_html, assert_inert_xml, csp_hashes, local,
                    xml_tree)

from mail import smtp_server  # noqa: F401 (fixture)
from notify.conftest import work  # noqa: F401 (fixture)

SCRIPT = "<script>alert(1)</script>"


def hostile(label):
    """The payload, with which field it is in, so a failure names the field."""
    return f"{label}: {PAYLOAD}"


@pytest.fixture
def site(api):
    """A page with the payload in every field an operator can fill, through the API."""
    ok(api.put("/status/settings", json={
        "title": hostile("title")[:200], "description": hostile("description"),
        "announcement": hostile("announcement"),
        "footer_links": [{"label": SHORT, "url": "https://example.com/\"onmouseover=\"alert(1)"},
                         {"label": SHORT[:60], "url": "mailto:a@example.com?subject=<script>"}]}))
    endpoint = created(api.post("/endpoints", json={"name": hostile("endpoint")[:200],
                                                    "target": "http://127.0.0.1:9/"}))
    heartbeat = created(api.post("/heartbeats", json={"name": hostile("heartbeat")[:200]}))
    group = created(api.post("/status/groups", json={
        "name": hostile("group")[:200], "description": hostile("group description")}))
    component = created(api.post("/status/components", json={
        "name": hostile("component")[:200], "description": hostile("component description"),
        "group_id": group["id"], "monitor_type": "endpoint", "monitor_id": endpoint["id"]}))
    loose = created(api.post("/status/components", json={
        "name": hostile("loose")[:200], "description": hostile("loose description"),
        "monitor_type": "heartbeat", "monitor_id": heartbeat["id"]}))
    incident = created(api.post("/status/incidents", json={
        "title": hostile("incident")[:300], "severity": "major",
        "message": hostile("incident message"), "components": [component["id"]]}))
    created(api.post(f"/status/incidents/{incident['id']}/updates", json={
        "status": "identified", "message": hostile("update message")}))
    past = created(api.post("/status/incidents", json={
        "title": hostile("past incident")[:300], "severity": "critical", "status": "resolved",
        "message": hostile("past message"), "components": [loose["id"]],
        "created_at": iso(from_now(hours=-5)), "resolved_at": iso(from_now(hours=-4))}))
    ok(api.put(f"/status/incidents/{past['id']}", json={"postmortem": hostile("postmortem")}))
    for starts in (from_now(hours=-1), from_now(days=1)):
        created(api.post("/status/maintenance", json={
            "title": hostile("maintenance")[:300], "description": hostile("maint description"),
            "starts_at": iso(starts), "ends_at": iso(starts + (from_now(hours=2) - from_now())),
            "components": [loose["id"]]}))
    return {"incident": incident, "past": past, "component": component, "loose": loose}


def html_paths(site):
    subscriber, token = subscriptions.sign_up("reader@example.com", [site["component"]["id"]])
    subscriber = subscriptions.confirm(subscriptions.find_confirmation(token))
    return {
        "page": "/status/",
        "history": "/status/history",
        "incident": f"/status/incidents/{site['incident']['id']}",
        "resolved incident": f"/status/incidents/{site['past']['id']}",
        "subscribe": "/status/subscribe",
        "manage": f"/status/subscription/{subscriber.manage_token}",
        "unsubscribe": f"/status/subscription/{subscriber.manage_token}/unsubscribe",
        "missing incident": "/status/incidents/999999",
        "missing page": "/status/no-such-page",
        "dead link": "/status/subscribe/confirm/nope",
    }


def assert_strict_csp(response, where):
    policy = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in policy, (where, policy)
    assert "frame-ancestors 'none'" in policy, (where, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (where, policy)
    scripts = csp_hashes(policy, "script-src")
    assert scripts <= {"'none'"} or all(s.startswith("'sha256-") for s in scripts), (where, policy)
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    return policy


def test_every_html_answer_shows_the_payload_as_text_under_a_strict_csp(client, site):
    for where, path in html_paths(site).items():
        response = client.get(path)
        assert response.mimetype == "text/html", where
        assert response.status_code in (200, 404), (where, response.status_code)
        policy = assert_strict_csp(response, where)
        text = assert_inert_html(response.get_data(as_text=True), policy)
        if where in ("page", "history", "incident", "resolved incident", "manage"):
            assert SCRIPT in text, f"{where}: the payload is not shown as text"


def test_werkzeug_error_pages_get_the_strictest_policy(client):
    # Regression: an unknown path under /status answered werkzeug's page without any CSP.
    for response in (client.get("/status/no-such-page"), client.get("/no-such-page"),
                     client.post("/status/subscribe", data=b"x" * (1024 * 1024 + 1),
                                 content_type="application/x-www-form-urlencoded")):
        assert response.status_code in (404, 413)
        policy = assert_strict_csp(response, response.status)
        assert csp_hashes(policy, "script-src") == set()  # default-src 'none' covers it


def test_the_page_shows_every_field(client, site):
    text = assert_inert_html(client.get("/status/").get_data(as_text=True))
    for label in ("title", "description", "announcement", "group", "component", "loose",
                  "incident", "update message", "maintenance"):
        assert f"{label}: <script>alert(1)</script>" in text, label


def strings(value):
    """Every string in a JSON document."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return [value] if isinstance(value, str) else []


def test_the_json_documents_carry_the_payload_exactly(client, site):
    for path in ("/status/api", "/api/v2/summary.json", "/api/v2/incidents.json"):
        response = client.get(path)
        assert response.mimetype == "application/json", path
        assert hostile("incident")[:300] in strings(json.loads(response.data)), path
    state = client.get("/status/api").get_json()
    assert state["incidents"][0]["title"] == hostile("incident")[:300]


def test_feeds_parse_and_carry_the_payload_as_text(client, site):
    for path in ("/status/feed.atom", "/status/feed.rss"):
        check_feed(client, path)


def check_feed(client, path):
    response = client.get(path)
    assert response.status_code == 200
    root = xml_tree(response.data)
    assert_inert_xml(root)
    titles = [element.text for element in root.iter() if local(element.tag) == "title"]
    assert hostile("incident")[:300] in titles
    for element in root.iter():
        if local(element.tag) in ("subtitle", "content", "summary"):  # Atom: declared text
            assert element.get("type") == "text", element.tag
        if local(element.tag) == "description":  # RSS: read as HTML, the channel's too
            assert_inert_html(element.text)
    if path.endswith(".rss"):
        [channel] = [e for e in root if local(e.tag) == "channel"]
        shown = assert_inert_html(channel.find("description").text)
        assert SCRIPT in shown  # the page description, shown as written


def test_badges_are_inert_svg(client, site):
    component = site["component"]["id"]
    for path in ("/status/badge.svg", f"/status/components/{component}/badge.svg",
                 f"/status/components/{component}/badge.svg?label=%3Cscript%3Ealert(1)%3C/script%3E",
                 "/status/badge.svg?label=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "image/svg+xml"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert_inert_xml(xml_tree(response.data))
    svg = client.get(f"/status/components/{component}/badge.svg").get_data(as_text=True)
    assert "&lt;script&gt;" in svg


def test_subscriber_email_shows_the_payload_as_text(api, client, site, app, smtp_server, work):
    app.config.update(smtp_server.settings())
    component = site["component"]
    subscriber, token = subscriptions.sign_up("reader@example.com", [component["id"]])
    subscriptions.confirm(subscriptions.find_confirmation(token))
    created(api.post("/status/incidents", json={
        "title": hostile("mailed")[:300], "severity": "critical",
        "message": hostile("mailed message"), "components": [component["id"]]}))
    created(api.post(f"/status/incidents/{site['incident']['id']}/updates", json={
        "status": "monitoring", "message": hostile("mailed update")}))
    fanout.sweep()
    work()
    messages = [m for m in smtp_server.messages if m["To"] == "reader@example.com"]
    assert len(messages) >= 2
    for message in messages:
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
        html = message.get_body(("html",)).get_content()
        text = assert_inert_html(html)
        assert SCRIPT in text, message["Subject"]
        plain = message.get_body(("plain",)).get_content()
        assert SCRIPT in plain  # plain text carries it as written
