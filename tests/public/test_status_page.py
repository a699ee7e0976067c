"""GET /status/: the public page shows what the operator API wrote, escaped and in local time."""

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

from maintenant.extensions import db
from maintenant.models import Incident

XSS = "<script>alert(1)</script>"
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"
VOID_TAGS = {"meta", "link", "br", "img", "input", "hr", "wbr", "source"}


class Page(HTMLParser):
    """A rendered page as a reader sees it: the text inside each element that has an id."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.open = []
        self.elements = {}
        self.texts = defaultdict(list)
        self.tags = []
        self.feed(html)
        self.close()
        assert not self.open, f"unclosed elements: {self.open}"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if attrs.get("id"):
            assert attrs["id"] not in self.elements, f"duplicate id {attrs['id']}"
            self.elements[attrs["id"]] = (tag, attrs)
        if tag not in VOID_TAGS:
            # A component's uptime bars (tests/services/test_uptime.py) are left out of its text.
            uptime = "uptime" in (attrs.get("class") or "").split()
            self.open.append((tag, attrs.get("id"), uptime))

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        opened, *_ = self.open.pop()
        assert opened == tag, f"</{tag}> closes <{opened}>"

    def handle_data(self, data):
        if any(uptime for *_, uptime in self.open):
            return
        for _, ident, _ in self.open:
            if ident:
                self.texts[ident].append(data)

    def text(self, ident):
        """The text of the element with id ``ident``, whitespace collapsed."""
        assert ident in self.elements, f"no element with id {ident}"
        return " ".join("".join(self.texts[ident]).split())

    def attrs(self, ident):
        return self.elements[ident][1]

    def has(self, ident):
        return ident in self.elements


def get_page(client):
    response = client.get("/status/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def iso(moment):
    return moment.isoformat()


def created(response):
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_empty_database_gives_a_friendly_page(client):
    html = get_page(client)
    page = Page(html)

    assert page.text("overall") == "All Systems Operational"
    assert "No components yet" in page.text("components")
    assert "No incidents in the last 7 days." in page.text("past-incidents")
    assert not page.has("incidents")
    assert "<title>System Status</title>" in html
    assert "Times are shown in UTC." in html


def test_page_shows_what_the_api_wrote(client, api):
    group = created(api.post("/status/groups", json={"name": "Core platform",
                                                     "description": "What everyone uses."}))
    web = created(api.post("/status/components", json={"name": "Website", "group_id": group["id"],
                                                      "description": "Marketing site."}))
    jobs = created(api.post("/status/components", json={"name": "Background jobs",
                                                       "group_id": group["id"], "sort_order": 1}))
    mail = created(api.post("/status/components", json={"name": "Email delivery"}))
    incident = created(api.post("/status/incidents", json={
        "title": "Slow exports", "severity": "minor", "components": [jobs["id"]],
        "message": "Exports are slow. We are looking into it."}))
    assert api.post(f"/status/incidents/{incident['id']}/updates", json={
        "status": "identified", "message": "A queue of imports is in the way."}).status_code == 201
    assert api.post(f"/status/incidents/{incident['id']}/updates", json={
        "status": "monitoring", "message": "Capacity added;\nexports are catching up."}
    ).status_code == 201
    now = datetime.now(timezone.utc)
    upgrade = created(api.post("/status/maintenance", json={
        "title": "Database upgrade", "description": "Writes pause for a minute.",
        "starts_at": iso(now + timedelta(days=2)), "ends_at": iso(now + timedelta(days=2, hours=1)),
        "components": [web["id"]]}))
    relay = created(api.post("/status/maintenance", json={
        "title": "Mail relay swap", "starts_at": iso(now - timedelta(minutes=10)),
        "ends_at": iso(now + timedelta(minutes=50)), "components": [mail["id"]]}))

    html = get_page(client)
    page = Page(html)

    assert page.text("overall") == "Degraded Performance"
    assert "Core platform" in page.text(f"group-{group['id']}")
    assert "What everyone uses." in page.text(f"group-{group['id']}")
    assert page.text(f"component-{web['id']}") == "Website Marketing site. Operational"
    assert page.text(f"component-{jobs['id']}") == "Background jobs Degraded performance"
    assert page.text(f"component-{mail['id']}") == "Email delivery Under maintenance"
    assert f"component-{mail['id']}" in html.split('id="ungrouped"')[1]
    # The group shows its worst member.
    summary = html.split(f'id="group-{group["id"]}"')[1].split("</summary>")[0]
    assert "Degraded performance" in summary

    story = page.text(f"incident-{incident['id']}")
    assert story.startswith("Slow exports Minor incident Monitoring Affects: Background jobs")
    newest_first = ["Capacity added;", "A queue of imports is in the way.", "Exports are slow."]
    positions = [story.index(message) for message in newest_first]
    assert positions == sorted(positions)
    assert [story.index(s) for s in ("Monitoring ·", "Identified ·", "Investigating ·")] == \
        sorted(story.index(s) for s in ("Monitoring ·", "Identified ·", "Investigating ·"))
    # Line breaks in a message reach the page; CSS pre-line shows them.
    assert "Capacity added;\nexports are catching up." in html

    assert "Mail relay swap" in page.text("maintenance-in-progress")
    assert "In progress" in page.text(f"maintenance-{relay['id']}")
    assert "Affects: Email delivery" in page.text(f"maintenance-{relay['id']}")
    upcoming = page.text("maintenance-upcoming")
    assert "Database upgrade Scheduled" in upcoming
    assert "Affects: Website" in upcoming
    assert "Writes pause for a minute." in upcoming


def test_hidden_components_are_left_out(client, api):
    group = created(api.post("/status/groups", json={"name": "Internal"}))
    created(api.post("/status/components", json={"name": "Secret admin", "visible": False,
                                                 "group_id": group["id"],
                                                 "status_override": "major_outage"}))
    shown = created(api.post("/status/components", json={"name": "Public API"}))
    created(api.post("/status/components", json={"name": "Hidden ungrouped", "visible": False}))

    html = get_page(client)
    page = Page(html)

    assert "Secret admin" not in html
    assert "Hidden ungrouped" not in html
    # A group with nothing visible in it is not shown, and hidden outages do not count.
    assert "Internal" not in html
    assert page.text("overall") == "All Systems Operational"
    assert page.text(f"component-{shown['id']}") == "Public API Operational"


def test_groups_are_collapsible_and_open_unless_collapsed(client, api):
    shown = created(api.post("/status/groups", json={"name": "Core"}))
    folded = created(api.post("/status/groups", json={"name": "Regions", "collapsed": True}))
    for group in (shown, folded):
        created(api.post("/status/components", json={"name": f"{group['name']} member",
                                                     "group_id": group["id"]}))

    page = Page(get_page(client))

    assert page.elements[f"group-{shown['id']}"][0] == "details"
    assert "open" in page.attrs(f"group-{shown['id']}")
    assert page.elements[f"group-{folded['id']}"][0] == "details"
    assert "open" not in page.attrs(f"group-{folded['id']}")
    assert "Regions member" in page.text(f"group-{folded['id']}")


def test_operator_strings_come_out_escaped(client, api):
    assert api.put("/status/settings", json={"title": XSS, "description": XSS}).status_code == 200
    group = created(api.post("/status/groups", json={"name": XSS, "description": XSS}))
    component = created(api.post("/status/components", json={
        "name": XSS, "description": XSS, "group_id": group["id"]}))
    loose = created(api.post("/status/components", json={"name": XSS}))
    incident = created(api.post("/status/incidents", json={
        "title": XSS, "severity": "critical", "message": XSS,
        "components": [component["id"], loose["id"]]}))
    assert api.post(f"/status/incidents/{incident['id']}/updates",
                    json={"status": "identified", "message": XSS}).status_code == 201
    resolved = created(api.post("/status/incidents", json={"title": XSS, "severity": "minor",
                                                           "message": XSS}))
    assert api.post(f"/status/incidents/{resolved['id']}/updates",
                    json={"status": "resolved", "message": XSS}).status_code == 201
    now = datetime.now(timezone.utc)
    created(api.post("/status/maintenance", json={
        "title": XSS, "description": XSS, "starts_at": iso(now + timedelta(days=1)),
        "ends_at": iso(now + timedelta(days=1, hours=1)), "components": [component["id"]]}))

    html = get_page(client)

    assert "<script>alert(1)" not in html
    assert html.count("<script") == 1, "only the page's own script"
    # title and description (twice each: <title>/<h1>, <meta>/lede), group name and
    # description, component name and description, the second component, affected names
    # (3), incident titles (2), messages (4), maintenance title and description: 20 in all;
    # and the incidents' titles in today's uptime bar (its title and hidden text: 4 more).
    assert html.count(ESCAPED_XSS) == 24
    assert Page(html).text("overall") == "Major System Outage"


def test_quotes_cannot_break_out_of_an_attribute(client, api):
    payload = '" onmouseover="alert(1)'
    assert api.put("/status/settings", json={"description": payload}).status_code == 200

    html = get_page(client)

    assert 'onmouseover="alert(1)' not in html
    assert "&#34; onmouseover=&#34;alert(1)" in html
    meta = [attrs for tag, attrs in Page(html).tags if attrs.get("name") == "description"]
    assert meta == [{"name": "description", "content": payload}]


def test_times_are_shown_in_the_page_timezone(client, api):
    assert api.put("/status/settings", json={"timezone": "Europe/Paris"}).status_code == 200
    component = created(api.post("/status/components", json={"name": "API"}))
    year = datetime.now(timezone.utc).year + 1
    winter = created(api.post("/status/maintenance", json={
        "title": "Winter work", "starts_at": f"{year}-01-15T13:00:00Z",
        "ends_at": f"{year}-01-15T15:30:00Z", "components": [component["id"]]}))
    summer = created(api.post("/status/maintenance", json={
        "title": "Summer work", "starts_at": f"{year}-07-15T21:00:00+00:00",
        "ends_at": f"{year}-07-15T23:00:00+00:00", "components": [component["id"]]}))

    html = get_page(client)
    page = Page(html)

    assert f"15 Jan {year}, 14:00 CET – 16:30 CET" in page.text(f"maintenance-{winter['id']}")
    # 23:00 UTC is already the next day in Paris: the end names its own date.
    assert f"15 Jul {year}, 23:00 CEST – 16 Jul {year}, 01:00 CEST" in \
        page.text(f"maintenance-{summer['id']}")
    assert f'<time datetime="{year}-01-15T13:00:00Z">15 Jan {year}, 14:00 CET</time>' in html
    assert "Times are shown in Europe/Paris." in html


def test_times_default_to_utc(client, api):
    component = created(api.post("/status/components", json={"name": "API"}))
    year = datetime.now(timezone.utc).year + 1
    window = created(api.post("/status/maintenance", json={
        "title": "Work", "starts_at": f"{year}-03-02T08:05:00+02:00",
        "ends_at": f"{year}-03-02T09:00:00+02:00", "components": [component["id"]]}))

    page = Page(get_page(client))

    assert f"2 Mar {year}, 06:05 UTC – 07:00 UTC" in page.text(f"maintenance-{window['id']}")


def test_resolved_incidents_are_shown_collapsed_for_seven_days(app, client, api):
    component = created(api.post("/status/components", json={"name": "API"}))
    recent = created(api.post("/status/incidents", json={
        "title": "Elevated error rates", "severity": "major", "components": [component["id"]],
        "message": "Some requests fail."}))
    assert api.post(f"/status/incidents/{recent['id']}/updates", json={
        "status": "resolved", "message": "Error rates are back to normal."}).status_code == 201
    old = created(api.post("/status/incidents", json={"title": "Ancient history",
                                                      "severity": "minor", "message": "Slow."}))
    assert api.post(f"/status/incidents/{old['id']}/updates",
                    json={"status": "resolved", "message": "Fine."}).status_code == 201
    # Age the second one past the window; no API moves resolved_at, and none should.
    db.session.get(Incident, old["id"]).resolved_at = \
        datetime.now(timezone.utc) - timedelta(days=8)
    db.session.commit()

    html = get_page(client)
    page = Page(html)

    assert not page.has("incidents")
    assert page.text("overall") == "All Systems Operational"
    assert page.elements["resolved-incidents"][0] == "details"
    assert "open" not in page.attrs("resolved-incidents")
    past = page.text("resolved-incidents")
    assert past.startswith("Resolved in the last 7 days (1)")
    assert "Elevated error rates Major incident Resolved" in past
    assert "Affects: API" in past
    assert past.index("Error rates are back to normal.") < past.index("Some requests fail.")
    assert "Ancient history" not in html


def test_an_incident_without_components_is_shown(client, api):
    created(api.post("/status/components", json={"name": "API"}))
    incident = created(api.post("/status/incidents", json={
        "title": "Phone support unreachable", "severity": "minor", "message": "Call us later."}))

    page = Page(get_page(client))

    assert "Phone support unreachable" in page.text(f"incident-{incident['id']}")
    assert "Affects" not in page.text(f"incident-{incident['id']}")
    assert page.text("overall") == "All Systems Operational"
