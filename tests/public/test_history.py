"""/status/history (one month at a time) and /status/incidents/<id> (permanent pages)."""

import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from factories import make_component, make_incident
from maintenant.extensions import db
from maintenant.models import Incident, PageSettings, utcnow
from maintenant.services.incidents import change_incident, post_incident_update


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def backdate(incident, when):
    """Move an incident (and its updates) to ``when``."""
    row = db.session.get(Incident, incident.id)
    row.created_at = row.updated_at = when
    for offset, update in enumerate(reversed(row.updates)):
        update.created_at = when + timedelta(minutes=10 * offset)
    if row.resolved_at:
        row.resolved_at = when + timedelta(hours=1)
    db.session.commit()


def set_zone(name):
    db.session.merge(PageSettings(id=1, title="Status", timezone=name))
    db.session.commit()


class Headings(HTMLParser):
    """The incident titles (h3 links) of a history page, in order."""

    def __init__(self):
        super().__init__()
        self.titles, self.links, self._in = [], [], False

    def handle_starttag(self, tag, attrs):
        if tag == "h3":
            self._in = True
            self.titles.append("")
        if tag == "a" and self._in:
            self.links.append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        if tag == "h3":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.titles[-1] += data


def titles(response):
    parser = Headings()
    parser.feed(response.get_data(as_text=True))
    return parser.titles, parser.links


def this_month():
    now = utcnow()
    return now.year, now.month


def month_param(year, month):
    return f"{year:04d}-{month:02d}"


def test_history_is_paginated_by_month_newest_first_without_drafts(app, client):
    api = make_component("API")
    year, month = this_month()
    earlier = (year, month - 1) if month > 1 else (year - 1, 12)
    old = make_incident("Old one", components_=[api])
    backdate(old, datetime(*earlier, 3, 10, tzinfo=timezone.utc))
    first = make_incident("First this month", components_=[api])
    backdate(first, datetime(year, month, 1, 1, tzinfo=timezone.utc))
    second = make_incident("Second this month", components_=[api])
    post_incident_update(second, {"status": "resolved", "message": "Fixed <b>it</b>."})
    draft = make_incident("Secret draft")
    db.session.get(Incident, draft.id).draft = True
    db.session.commit()

    response = client.get("/status/history")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    names, links = titles(response)
    assert names == ["Second this month", "First this month"]
    assert links == [f"/status/incidents/{second.id}", f"/status/incidents/{first.id}"]
    page = response.get_data(as_text=True)
    assert "Secret draft" not in page
    assert "Fixed &lt;b&gt;it&lt;/b&gt;." in page  # the whole timeline, escaped
    assert "We are looking into it." in page
    assert '<span class="tag">API</span>' in page
    assert f'href="/status/history?month={month_param(*earlier)}"' in page
    assert client.get(f"/status/history?month={month_param(year, month)}").get_data() == \
        response.get_data()

    older = client.get(f"/status/history?month={month_param(*earlier)}")
    assert titles(older)[0] == ["Old one"]
    assert f'href="/status/history?month={month_param(year, month)}"' in \
        older.get_data(as_text=True)


def test_a_month_with_no_incidents_says_so(app, client):
    response = client.get("/status/history?month=2024-02")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="no-incidents"' in page
    assert "No incidents reported in February 2024." in page
    assert 'rel="next"' in page and 'rel="prev"' not in page


def test_months_are_the_page_zone_months(app, client):
    set_zone("Europe/Paris")
    incident = make_incident("New year")
    backdate(incident, utc(2025, 12, 31, 23, 30))  # 1 January 2026, 00:30 in Paris
    assert titles(client.get("/status/history?month=2026-01"))[0] == ["New year"]
    assert titles(client.get("/status/history?month=2025-12"))[0] == []
    page = client.get("/status/history?month=2026-01").get_data(as_text=True)
    assert "1 Jan 2026, 00:30 CET" in page
    assert "Times are shown in Europe/Paris." in page


@pytest.mark.parametrize("month", ["garbage", "2026-13", "2026-1", "20260-01", "2026-00",
                                   "２０２６-01", "-1-01", "2026-01-01"])
def test_a_month_that_is_not_one_is_a_400(client, month):
    response = client.get("/status/history", query_string={"month": month})
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    assert "YYYY-MM" in response.get_data(as_text=True)


@pytest.mark.parametrize("month", ["2999-01", "1999-12", "0000-01"])
def test_months_out_of_range_are_a_404(client, month):
    assert client.get(f"/status/history?month={month}").status_code == 404


def test_history_answers_304_to_its_etag(client):
    make_incident("Something")
    first = client.get("/status/history")
    assert first.headers["ETag"]
    again = client.get("/status/history", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert "script-src 'none'" in first.headers["Content-Security-Policy"]


# The incident's page


def test_the_incident_page_has_its_timeline_components_and_postmortem(app, client):
    api = make_component("API & co")
    incident = make_incident("Database <failover>", "critical", [api])
    post_incident_update(incident, {"status": "resolved", "message": "Done."})
    change_incident(incident, {"postmortem": (
        "## What happened\n\nA **disk** filled up.\n\n"
        "<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) and [docs](https://example.com/runbook)")})

    response = client.get(f"/status/incidents/{incident.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1 id=\"title\">Database &lt;failover&gt;</h1>" in page
    assert '<span class="tag">API &amp; co</span>' in page
    assert "<h2>What happened</h2>" in page
    assert "<strong>disk</strong>" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "<img" not in page
    assert 'href="javascript:' not in page
    assert 'href="https://example.com/runbook"' in page
    assert page.index("Done.") < page.index("We are looking into it.")  # newest first
    assert re.search(r"Started <time[^>]*>.*</time>, resolved <time", page)
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    again = client.get(f"/status/incidents/{incident.id}",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_page_links_incidents_and_history(client):
    incident = make_incident("Linked")
    page = client.get("/status/").get_data(as_text=True)
    assert f'<a href="/status/incidents/{incident.id}">Linked</a>' in page
    assert 'href="/status/history"' in page


@pytest.mark.parametrize("path", ["/status/incidents/abc", "/status/incidents/0",
                                  "/status/incidents/-1", "/status/incidents/99999",
                                  "/status/incidents/" + "9" * 40, "/status/incidents/1.5",
                                  "/status/incidents/%EF%BC%91"])
def test_unknown_incidents_are_an_html_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Incident history" in response.get_data(as_text=True)


def test_a_draft_has_no_public_page_until_published(app, client):
    from maintenant.services.incidents import publish_incident

    draft = make_incident("Not yet")
    db.session.get(Incident, draft.id).draft = True
    db.session.commit()
    assert client.get(f"/status/incidents/{draft.id}").status_code == 404
    publish_incident(db.session.get(Incident, draft.id))
    assert client.get(f"/status/incidents/{draft.id}").status_code == 200


def test_pages_speak_french(client):
    make_incident("Panne")
    page = client.get("/status/history?month=2024-02&lang=fr").get_data(as_text=True)
    assert "février 2024" in page
    assert "Historique des incidents" in page
