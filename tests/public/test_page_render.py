"""How the page is rendered: time and label filters, the inline script and its CSP hash."""

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from html import unescape
from pathlib import Path

from maintenant.public.render import (FAVICON_COLOURS, LABELS, favicon, label, local_time,
                                      utc_iso, zone_name)

LIVE_JS = Path(__file__).resolve().parents[2] / "templates" / "status" / "live.js"


def test_local_time_names_the_zone_and_follows_summer_time():
    assert local_time("2026-11-27T13:03:00+00:00", "Europe/Paris") == "27 Nov 2026, 14:03 CET"
    assert local_time("2026-07-01T13:03:00+00:00", "Europe/Paris") == "1 Jul 2026, 15:03 CEST"
    assert local_time("2026-07-01T13:03:00Z", "UTC") == "1 Jul 2026, 13:03 UTC"
    assert local_time(datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc), "America/New_York") == \
        "1 Jan 2026, 22:04 EST"


def test_local_time_of_a_span_end_drops_the_date_on_the_same_local_day():
    start = "2026-11-27T13:00:00+00:00"
    assert local_time("2026-11-27T15:00:00+00:00", "Europe/Paris", start) == "16:00 CET"
    assert local_time("2026-11-27T23:30:00+00:00", "Europe/Paris", start) == \
        "28 Nov 2026, 00:30 CET"


def test_an_unknown_zone_falls_back_to_utc():
    assert local_time("2026-11-27T13:03:00+00:00", "Mars/Olympus") == "27 Nov 2026, 13:03 UTC"
    assert zone_name("Mars/Olympus") == "UTC"
    assert zone_name("Europe/Paris") == "Europe/Paris"


def test_utc_iso_is_for_time_elements():
    assert utc_iso("2026-11-27T14:03:09.123456+01:00") == "2026-11-27T13:03:09Z"
    assert utc_iso(None) == ""


def test_labels():
    assert label("partial_outage") == "Partial outage"
    assert label("in_progress") == "In progress"
    assert label("something_new") == "Something new"


# The inline script and the CSP


def csp(response):
    return dict(part.strip().split(" ", 1)
                for part in response.headers["Content-Security-Policy"].split(";"))


def sha256_source(data):
    return f"'sha256-{base64.b64encode(hashlib.sha256(data).digest()).decode()}'"


def test_csp_script_hash_matches_the_inline_script(client, api):
    api.post("/status/components", json={"name": "Website"})
    response = client.get("/status/")

    scripts = re.findall(rb"<script>(.*?)</script>", response.data, re.S)
    assert len(scripts) == 1
    assert b"<script src" not in response.data
    # Byte for byte the file on disk: a template that touched it would break the hash.
    assert scripts[0] == LIVE_JS.read_bytes()
    policy = csp(response)
    assert policy["script-src"] == sha256_source(scripts[0])
    assert policy["connect-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert "nonce" not in response.headers["Content-Security-Policy"]


def test_the_page_with_its_script_stays_cacheable(client):
    first = client.get("/status/")
    second = client.get("/status/", headers={"If-None-Match": first.headers["ETag"]})

    assert second.status_code == 304
    assert client.get("/status/").headers["Content-Security-Policy"] == \
        first.headers["Content-Security-Policy"]


def test_the_script_cannot_end_its_element_early():
    text = LIVE_JS.read_text(encoding="utf-8")
    assert "</" not in text and "<!--" not in text
    assert "innerHTML" not in text and "insertAdjacentHTML" not in text  # text nodes only


def test_the_page_gives_the_script_what_it_reads(client, api):
    group = api.post("/status/groups", json={"name": "Core"}).get_json()
    grouped = api.post("/status/components", json={"name": "API", "group_id": group["id"],
                                                   "status_override": "degraded"}).get_json()
    loose = api.post("/status/components", json={"name": "Email"}).get_json()
    html = client.get("/status/").get_data(as_text=True)

    body = re.search(r"<body ([^>]*)>", html).group(1)
    attributes = {name: unescape(value) for name, value in
                  re.findall(r"""(data-[\w-]+)='([^']*)'""", body)}
    assert json.loads(attributes["data-labels"]) == LABELS
    assert json.loads(attributes["data-favicons"]) == {
        status: favicon(status) for status in FAVICON_COLOURS}
    assert 'data-timezone="UTC"' in body
    assert (f'id="component-{grouped["id"]}" data-component-id="{grouped["id"]}" '
            f'data-group-id="{group["id"]}" data-status="degraded"') in html
    assert (f'id="component-{loose["id"]}" data-component-id="{loose["id"]}" '
            'data-group-id="" data-status="operational"') in html
    assert f'data-group-id="{group["id"]}" data-status="degraded" open>' in html
    assert 'id="overall" data-status="degraded"' in html
    assert 'data-resolved-days="7"' in html


def test_without_javascript_the_live_indicator_stays_hidden(client):
    html = client.get("/status/").get_data(as_text=True)

    assert re.search(r'<p class="live" id="live" hidden>', html)
    assert "[hidden] { display: none !important; }" in html
