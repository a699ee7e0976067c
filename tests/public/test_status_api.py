"""/status/ and /status/api over HTTP: the JSON document, ETags, caching and security headers."""

import base64
import hashlib
import re
from datetime import datetime, timedelta, timezone


def seed(api):
    """A group, components, an open incident and a maintenance window, written by the API."""
    group = api.post("/status/groups", json={"name": "Core"}).get_json()
    api_component = api.post("/status/components", json={"name": "API",
                                                          "group_id": group["id"]}).get_json()
    api.post("/status/components", json={"name": "Website", "group_id": group["id"]})
    api.post("/status/components", json={"name": "Status emails"})
    api.post("/status/incidents", json={"title": "Errors on writes", "severity": "major",
                                        "message": "Writes fail.",
                                        "components": [api_component["id"]]})
    now = datetime.now(timezone.utc)
    api.post("/status/maintenance", json={
        "title": "Failover drill", "starts_at": (now + timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=1, hours=1)).isoformat(),
        "components": [api_component["id"]]})


def csp_directives(response):
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def test_api_is_the_page_state(client, api):
    seed(api)

    state = client.get("/status/api").get_json()

    assert state["status"] == "partial_outage"
    assert state["message"] == "Partial System Outage"
    assert state["page"] == {"title": "System Status", "description": "", "timezone": "UTC"}
    assert [g["name"] for g in state["groups"]] == ["Core"]
    assert [(c["name"], c["status"]) for c in state["groups"][0]["components"]] == \
        [("API", "partial_outage"), ("Website", "operational")]
    assert [c["name"] for c in state["components"]] == ["Status emails"]
    assert [i["title"] for i in state["incidents"]] == ["Errors on writes"]
    assert state["incidents"][0]["updates"][0]["message"] == "Writes fail."
    assert state["resolved_incidents"] == []
    assert [(m["title"], m["status"]) for m in state["maintenance"]] == [("Failover drill",
                                                                          "scheduled")]


def test_api_matches_the_page(client, api):
    seed(api)

    state = client.get("/status/api").get_json()
    html = client.get("/status/").get_data(as_text=True)

    banner = re.search(r'<section class="banner status-([a-z_]+)" id="overall"[^>]*>(.*?)</section>',
                       html, re.S)
    assert banner.group(1) == state["status"]
    assert state["message"] in banner.group(2)
    for group in state["groups"]:
        assert f'id="group-{group["id"]}"' in html
        for component in group["components"]:
            assert f'id="component-{component["id"]}"' in html
    for incident in state["incidents"]:
        assert f'id="incident-{incident["id"]}"' in html
    for window in state["maintenance"]:
        assert f'id="maintenance-{window["id"]}"' in html


def test_api_is_fine_on_an_empty_database(client):
    response = client.get("/status/api")

    assert response.status_code == 200
    state = response.get_json()
    assert state["status"] == "operational"
    assert state["message"] == "All Systems Operational"
    assert state["groups"] == state["components"] == state["incidents"] == []


def test_both_answer_304_to_a_matching_etag(client, api):
    seed(api)
    for path in ("/status/", "/status/api"):
        first = client.get(path)
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == "no-cache"

        again = client.get(path, headers={"If-None-Match": etag})

        assert again.status_code == 304, path
        assert again.data == b""
        assert again.headers["ETag"] == etag
        # The tag follows the content: the same body gets the same tag on the next request.
        assert client.get(path).headers["ETag"] == etag
        assert client.get(path).data == first.data


def test_a_change_gives_a_new_etag(client, api):
    seed(api)
    tags = {path: client.get(path).headers["ETag"] for path in ("/status/", "/status/api")}

    api.post("/status/components", json={"name": "Billing"})

    for path, etag in tags.items():
        response = client.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 200, path
        assert response.headers["ETag"] != etag
        assert b"Billing" in response.data


def test_page_security_headers(client):
    response = client.get("/status/")

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert csp_directives(response) == {
        "default-src": "'none'",
        "script-src": csp_directives(response)["script-src"],
        "style-src": csp_directives(response)["style-src"],
        "img-src": "data:",
        "connect-src": "'self'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def test_csp_style_hash_matches_the_embedded_css(client, api):
    seed(api)
    response = client.get("/status/")

    styles = re.findall(rb"<style>(.*?)</style>", response.data, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0]).digest()).decode()
    assert csp_directives(response)["style-src"] == f"'sha256-{digest}'"
    # The CSP blocks inline style attributes, so the page must not rely on any.
    assert b" style=" not in response.data


def test_page_makes_no_requests_of_its_own(client, api):
    seed(api)
    html = client.get("/status/").get_data(as_text=True)

    # One inline script (live updates, allowed by its hash), nothing loaded from elsewhere.
    assert html.count("<script") == 1 and "<script>" in html
    assert "@import" not in html
    assert "url(" not in html
    for tag, attribute, value in re.findall(r'<(\w+)[^>]*?\s(src|href)="([^"]*)"', html):
        if tag == "a":  # the page's own paths, and the skip link's #main
            assert value.startswith(("/", "#")), value
        elif tag == "link" and value.startswith("/status/feed."):
            continue  # rel="alternate": names the feeds, the browser loads nothing
        else:
            assert value.startswith("data:"), (tag, value)
