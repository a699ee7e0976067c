"""The page's live updates in headless Chromium: hostile operator text written while the page
is open is shown as text; no dialog fires and no element is injected."""

from datetime import datetime, timedelta, timezone

from browser.conftest import server, skip_without_a_browser  # noqa: F401 (fixtures)

from .inert import PAYLOAD

skip_without_a_browser()

from playwright.sync_api import expect  # noqa: E402

LIVE_MS = 8000
# Every element with an event-handler attribute, every script and every image, by the DOM.
MARKUP = """() => ({
  handlers: [...document.querySelectorAll("*")].flatMap((el) =>
    [...el.attributes].filter((a) => a.name.startsWith("on")).map((a) => el.tagName + " " + a.name)),
  scripts: document.scripts.length,
  images: [...document.images].map((img) => img.getAttribute("src")),
  javascriptLinks: [...document.querySelectorAll("[href]")]
    .map((el) => el.getAttribute("href")).filter((h) => /^\\s*javascript:/i.test(h)),
})"""


def test_live_updates_show_hostile_text_as_text(browser, server):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    assert page.goto(server.url + "/status/").status == 200
    before = page.evaluate(MARKUP)

    component = server.api("POST", "/status/components",
                           {"name": "component " + PAYLOAD[:180],
                            "description": "about " + PAYLOAD})
    incident = server.api("POST", "/status/incidents", {
        "title": "incident " + PAYLOAD[:280], "severity": "critical",
        "message": "message " + PAYLOAD, "components": [component["id"]]})
    server.api("POST", f"/status/incidents/{incident['id']}/updates",
               {"status": "identified", "message": "update " + PAYLOAD})
    now = datetime.now(timezone.utc).replace(microsecond=0)
    server.api("POST", "/status/maintenance", {
        "title": "maintenance " + PAYLOAD[:280], "description": "window " + PAYLOAD,
        "starts_at": (now + timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=1, hours=1)).isoformat(),
        "components": [component["id"]]})
    server.api("PUT", f"/status/components/{component['id']}", {"name": "renamed " + PAYLOAD[:180]})

    body = page.locator("body")
    for text in ("renamed <script>alert(1)</script>", "incident <script>alert(1)</script>",
                 "update <script>alert(1)</script>", "maintenance <script>alert(1)</script>"):
        expect(body).to_contain_text(text, timeout=LIVE_MS)
    page.wait_for_timeout(500)  # anything an injected element would run has run by now

    after = page.evaluate(MARKUP)
    assert dialogs == []
    assert after["handlers"] == [] and after["javascriptLinks"] == []
    assert after["scripts"] == before["scripts"] == 1
    assert "x" not in after["images"]
    context.close()
