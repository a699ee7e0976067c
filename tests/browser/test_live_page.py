"""The status page in headless Chromium, against the real web process: it updates itself.

A reader keeps the page open; operators write through the API; the page follows without a
reload, through the inline script the CSP allows by its hash, and asks nothing of any other
origin. Without JavaScript the same page is complete. Screenshots go to test-artifacts/.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from .conftest import skip_without_a_browser

skip_without_a_browser()

from playwright.sync_api import expect  # noqa: E402  (after the skip: it may be missing)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# A live change reaches the page well within this (the event takes milliseconds).
LIVE_MS = 5000
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.cspViolations.push(event.violatedDirective + " " + event.blockedURI));
"""
# What a section is made of, for comparing the script's markup with the server's: each
# element's tag, id, classes and data attributes in document order, and the text a reader sees.
# The uptime bars and figures are left out: they come from the server's render only (the
# script keeps those the page was loaded with), and their figures move with the clock.
SHAPE = """(live) => {
  const section = live.cloneNode(true);
  section.querySelectorAll(".uptime, .uptime-figure").forEach((el) => el.remove());
  live.after(section);
  const shape = [[section, ...section.querySelectorAll("*")].map((el) => [
    el.tagName, el.id, [...el.classList].join(" "), el.hidden,
    JSON.stringify(Object.entries(el.dataset)),
    el.tagName === "TIME" ? el.getAttribute("datetime") : "",
    el.tagName === "DETAILS" ? el.open : null,
  ].join("|")), section.innerText];
  section.remove();
  return shape;
}"""


class Watched:
    """A page with what it logged, the CSP violations it saw and the requests it made."""

    def __init__(self, context, base_url):
        self.base_url = base_url
        self.page = context.new_page()
        self.errors = []
        self.requests = []
        self.page.on("console", lambda message: message.type in ("error", "warning")
                     and self.errors.append(f"{message.type}: {message.text}"))
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def open(self):
        response = self.page.goto(self.base_url + "/status/")
        assert response.status == 200
        return response

    def foreign_requests(self):
        return [url for url in self.requests
                if not url.startswith(self.base_url + "/") and not url.startswith("data:")]

    def csp_violations(self):
        return self.page.evaluate("window.cspViolations")


@pytest.fixture
def watched(browser, server):
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(WATCH_CSP)
    yield Watched(context, server.url)
    context.close()


def seed(server):
    group = server.api("POST", "/status/groups", {"name": "Core platform",
                                                   "description": "What everyone uses."})
    website = server.api("POST", "/status/components", {"name": "Website",
                                                        "group_id": group["id"]})
    api = server.api("POST", "/status/components", {"name": "Public API", "group_id": group["id"],
                                                    "description": "REST and webhooks."})
    email = server.api("POST", "/status/components", {"name": "Email delivery"})
    return group, website, api, email


def badge(page, selector):
    return page.locator(f"{selector} .badge").first


def assert_live(page):
    expect(page.locator("#live")).to_be_visible()
    expect(page.locator("#live .live-state")).to_have_text("Live", timeout=LIVE_MS)


def seconds_apart(clock, moment):
    """How far an "HH:MM:SS" shown on the page is from ``moment``'s wall clock."""
    hours, minutes, seconds = map(int, clock.split(":"))
    apart = abs(hours * 3600 + minutes * 60 + seconds
                - (moment.hour * 3600 + moment.minute * 60 + moment.second))
    return min(apart, 86400 - apart)


def static_shape(browser, server, section):
    """The shape of a section as the server renders it, read with JavaScript off."""
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    page.goto(server.url + "/status/")
    shape = page.locator(section).evaluate(SHAPE)
    context.close()
    return shape


def test_the_page_follows_api_writes_without_a_reload(browser, server, watched, artifacts):
    group, website, api, email = seed(server)
    page = watched.page
    watched.open()
    assert_live(page)
    expect(page.locator("#live .live-updated")).to_have_text(
        re.compile(r"^updated \d\d:\d\d:\d\d$"))
    row = page.locator(f"#component-{website['id']}")
    expect(badge(page, f"#component-{website['id']}")).to_have_text("Operational")
    page.evaluate("window.notReloaded = true")

    # A component's status, set by an operator.
    server.api("PUT", f"/status/components/{website['id']}", {"status_override": "major_outage"})

    expect(row).to_have_attribute("data-status", "major_outage", timeout=LIVE_MS)
    expect(badge(page, f"#component-{website['id']}")).to_have_text("Major outage")
    expect(badge(page, f"#component-{website['id']}")).to_have_class("badge status-major_outage")
    group_badge = page.locator(f"#group-{group['id']} > summary .badge")
    expect(group_badge).to_have_text("Major outage")
    expect(group_badge).to_have_class("badge status-major_outage")
    expect(page.locator("#overall")).to_have_class("banner status-major_outage")
    expect(page.locator("#overall .headline")).to_have_text("Major System Outage")
    expect(page.locator("#favicon")).to_have_attribute("href", re.compile("cf222e"))

    # An incident, with operator text that must stay text.
    title = "Checkout <b>errors</b> & retries"
    incident = server.api("POST", "/status/incidents", {
        "title": title, "severity": "major", "components": [api["id"]],
        "message": "We are looking into it.\n<img src=x onerror=alert(1)>"})
    card = page.locator(f"#incidents #incident-{incident['id']}")
    expect(card).to_be_visible(timeout=LIVE_MS)
    expect(card.locator("h3")).to_have_text(title)
    expect(card.locator(".timeline .message")).to_have_text(
        "We are looking into it.\n<img src=x onerror=alert(1)>")
    assert card.locator("b, img").count() == 0
    expect(card.locator(".pill").first).to_have_text("Major incident")
    expect(card.locator(".tags")).to_have_text("Affects: Public API")
    expect(badge(page, f"#component-{api['id']}")).to_have_text("Partial outage")

    # Its next update joins the top of the timeline.
    server.api("POST", f"/status/incidents/{incident['id']}/updates",
               {"status": "identified", "message": "A bad deploy; rolling back."})
    expect(card.locator(".timeline li")).to_have_count(2, timeout=LIVE_MS)
    expect(card.locator(".timeline li").first).to_contain_text("Identified ·")
    expect(card.locator(".timeline li").first).to_contain_text("A bad deploy; rolling back.")

    # A new zone: every time on the page is written again in it.
    server.api("PUT", "/status/settings", {"timezone": "Europe/Paris", "title": "Acme status"})
    expect(page.locator("#zone-note")).to_have_text("Times are shown in Europe/Paris.",
                                                    timeout=LIVE_MS)
    expect(page.locator("#title")).to_have_text("Acme status")
    assert page.title() == "Acme status"
    assert seconds_apart(page.locator("#live .live-updated").inner_text().split()[1],
                         datetime.now(ZoneInfo("Europe/Paris"))) < 60

    # The script built these sections exactly as the server renders them.
    for section in ("#incidents", "#components", "#overall"):
        assert page.locator(section).evaluate(SHAPE) == static_shape(browser, server, section), \
            section

    page.screenshot(path=str(artifacts / "status-page-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(artifacts / "status-page-phone.png"), full_page=True)

    # Resolved: it leaves the active incidents for the past ones.
    server.api("POST", f"/status/incidents/{incident['id']}/updates",
               {"status": "resolved", "message": "Rolled back; all good."})
    expect(page.locator("#incidents")).to_have_count(0, timeout=LIVE_MS)
    expect(page.locator("#resolved-incidents summary")).to_have_text(
        "Resolved in the last 7 days (1)")
    expect(badge(page, f"#component-{api['id']}")).to_have_text("Operational")
    assert page.locator("#past-incidents").evaluate(SHAPE) == \
        static_shape(browser, server, "#past-incidents")

    assert page.evaluate("window.notReloaded") is True
    assert watched.errors == []
    assert watched.csp_violations() == []
    assert watched.foreign_requests() == []


def test_maintenance_and_components_come_and_go(server, watched):
    group, website, api, email = seed(server)
    page = watched.page
    watched.open()
    assert_live(page)

    window = server.api("POST", "/status/maintenance", {
        "title": "Database upgrade", "starts_at": "2099-01-01T10:00:00Z",
        "ends_at": "2099-01-01T11:00:00Z", "components": [email["id"]]})
    card = page.locator(f"#maintenance-upcoming #maintenance-{window['id']}")
    expect(card).to_be_visible(timeout=LIVE_MS)
    expect(card.locator(".when")).to_have_text("1 Jan 2099, 10:00 UTC – 11:00 UTC")
    expect(card.locator(".tags")).to_have_text("Affects: Email delivery")

    added = server.api("POST", "/status/components", {"name": "Search", "group_id": group["id"]})
    expect(page.locator(f"#group-{group['id']} #component-{added['id']}")).to_be_visible(
        timeout=LIVE_MS)

    server.api("PUT", f"/status/components/{website['id']}", {"visible": False})
    expect(page.locator(f"#component-{website['id']}")).to_have_count(0, timeout=LIVE_MS)
    server.api("DELETE", f"/status/maintenance/{window['id']}")
    expect(page.locator("#maintenance-upcoming")).to_have_count(0, timeout=LIVE_MS)

    assert watched.errors == []
    assert watched.csp_violations() == []
    assert watched.foreign_requests() == []


def test_the_page_reconnects_after_the_server_restarts(server, watched):
    _, website, _, _ = seed(server)
    page = watched.page
    watched.open()
    assert_live(page)

    server.stop()
    expect(page.locator("#live .live-state")).to_have_text("Reconnecting…", timeout=LIVE_MS)
    expect(page.locator("#live")).to_have_class("live is-down")
    server.start()
    expect(page.locator("#live .live-state")).to_have_text("Live", timeout=15000)

    server.api("PUT", f"/status/components/{website['id']}", {"status_override": "degraded"})
    expect(badge(page, f"#component-{website['id']}")).to_have_text("Degraded performance",
                                                                    timeout=LIVE_MS)
    # The browser logs the stream cut by the stop and its attempts while nothing listened.
    assert [error for error in watched.errors
            if not re.search(r"net::ERR_(CONNECTION_REFUSED|INCOMPLETE_CHUNKED_ENCODING)", error)
            ] == []
    assert watched.csp_violations() == []


def test_without_javascript_the_page_is_complete(browser, server):
    group, website, _, _ = seed(server)
    server.api("PUT", f"/status/components/{website['id']}", {"status_override": "major_outage"})
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()

    page.goto(server.url + "/status/")

    expect(page.locator("#overall .headline")).to_have_text("Major System Outage")
    expect(badge(page, f"#component-{website['id']}")).to_have_text("Major outage")
    expect(page.locator(f"#group-{group['id']} > summary .badge")).to_have_text("Major outage")
    expect(page.locator("#live")).to_be_hidden()
    context.close()
