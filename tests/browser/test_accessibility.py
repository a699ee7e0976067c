"""The status page for every reader, in headless Chromium against the real web process: at
phone width and on a desktop, by keyboard, in French, in both colour schemes, with the
operator's branding. Screenshots go to test-artifacts/.
"""

import base64
import re

import pytest

from .conftest import skip_without_a_browser

skip_without_a_browser()

from playwright.sync_api import expect  # noqa: E402  (after the skip: it may be missing)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LIVE_MS = 5000
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.cspViolations.push(event.violatedDirective + " " + event.blockedURI));
"""
LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 32" width="120" height="32">'
        b'<rect width="32" height="32" rx="8" fill="#0a7a5c"/><text x="40" y="23" '
        b'font-size="20" fill="#0a7a5c">Acme</text></svg>')
# Every heading in document order, and what a reader sees of it.
HEADINGS = """() => [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
  .filter((h) => h.getClientRects().length || h.closest("details"))
  .map((h) => [Number(h.tagName[1]), h.textContent.trim()])"""
FOCUSED = """() => { const el = document.activeElement;
  return [el.tagName, el.id, el.className, (el.textContent || el.value || "").trim().slice(0, 40),
          el.closest("details") ? el.closest("details").id : ""]; }"""
# WCAG contrast of an element's text against the colour behind it (its own background, or the
# nearest ancestor's, translucent ones composited).
CONTRAST = """(el) => {
  const rgba = (text) => { const m = text.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const over = (top, bottom) => top.slice(0, 3).map((c, i) => c * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const bg = rgba(getComputedStyle(node).backgroundColor);
    if (bg[3] > 0) layers.push(bg);
    if (bg[3] === 1) break;
  }
  let back = [255, 255, 255, 1];
  for (const layer of layers.reverse()) back = over(layer, back);
  const fore = over(rgba(getComputedStyle(el).color), back);
  const lum = (c) => { const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const [a, b] = [lum(fore), lum(back)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.fixture
def seeded(server):
    """A branded page with groups, components, an incident and upcoming maintenance."""
    server.api("PUT", "/status/settings", {
        "title": "Acme Status", "description": "How Acme's services are doing.",
        "timezone": "Europe/Paris", "accent_color": "#0a7a5c",
        "logo": "data:image/svg+xml;base64," + base64.b64encode(LOGO).decode(),
        "announcement": "**Planned migration** on Sunday: see [the notes](https://acme.example/n).",
        "footer_links": [{"label": "Acme home", "url": "https://acme.example/"},
                         {"label": "Support", "url": "mailto:help@acme.example"}]})
    core = server.api("POST", "/status/groups", {"name": "Core platform"})
    api = server.api("POST", "/status/components", {"name": "Public API", "group_id": core["id"],
                                                    "description": "REST and webhooks."})
    server.api("POST", "/status/components", {"name": "Website", "group_id": core["id"]})
    server.api("POST", "/status/components", {
        "name": "A-component-with-a-very-long-name-that-must-wrap-on-a-phone-screen"})
    server.api("POST", "/status/incidents", {
        "title": "Elevated error rates on the public API", "severity": "major",
        "components": [api["id"]], "message": "Some requests fail; we are looking into it."})
    server.api("POST", "/status/maintenance", {
        "title": "Database upgrade", "components": [api["id"]],
        "starts_at": "2031-01-15T22:00:00+00:00", "ends_at": "2031-01-15T23:00:00+00:00"})
    return server


def open_page(browser, server, path="/status/", viewport=PHONE, **options):
    context = browser.new_context(viewport=viewport, **options)
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = page.goto(server.url + path)
    assert response.status == 200
    return context, page, errors


def assert_clean(page, errors):
    assert errors == []
    assert page.evaluate("window.cspViolations") == []


def test_keyboard_reaches_the_skip_link_the_groups_and_the_form(browser, seeded, artifacts):
    context, page, errors = open_page(browser, seeded)
    expect(page.locator("#live .live-state")).to_have_text("Live", timeout=LIVE_MS)

    # The first Tab stop is the skip link, shown when focused; Enter moves to the content.
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)[2] == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box["y"] >= 0 and box["x"] >= 0, "the focused skip link is on screen"
    page.screenshot(path=str(artifacts / "a11y-skip-link-phone.png"))
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    assert page.evaluate("document.activeElement.id") == "main"

    # Tab on: the announcement's link, the group, then the footer's form.
    stops = []
    for _ in range(40):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(FOCUSED))
        if stops[-1][1] == "subscribe-email":
            break
    tags = [stop[0] for stop in stops]
    assert ["A", "", "", "the notes", ""] in stops
    summary = next(i for i, stop in enumerate(stops) if stop[0] == "SUMMARY")
    assert stops[summary][4].startswith("group-")
    assert stops[-1][1] == "subscribe-email", tags

    # Back to the group's summary: Enter and Space fold and unfold it; its focus is visible.
    group = page.locator("details.group").first
    group.locator("summary").focus()
    expect(group).to_have_attribute("open", "")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(group).not_to_have_attribute("open", "")
    page.keyboard.press("Space")
    expect(group).to_have_attribute("open", "")

    # The form is usable by keyboard to the end.
    page.locator("#subscribe-email").focus()
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)[0] == "BUTTON"
    assert_clean(page, errors)
    context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_one_h1_then_h2_per_section_and_h3_per_card(browser, seeded, viewport):
    context, page, errors = open_page(browser, seeded, viewport=viewport)
    headings = [tuple(heading) for heading in page.evaluate(HEADINGS)]
    levels = [level for level, _ in headings]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), headings
    assert [text for level, text in headings if level == 2] == [
        "Active incidents", "Components", "Upcoming maintenance", "Past incidents"]
    assert (3, "Core platform") in headings
    assert (3, "Elevated error rates on the public API") in headings
    # The same, as the accessibility tree exposes it.
    tree = page.locator("body").aria_snapshot()
    assert 'heading "Acme Status" [level=1]' in tree
    assert 'heading "Components" [level=2]' in tree
    assert "img \"Acme Status\"" in tree
    assert 'link "Skip to main content"' in tree
    assert_clean(page, errors)
    context.close()


def test_no_horizontal_scroll_at_phone_width(browser, seeded, artifacts):
    context, page, errors = open_page(browser, seeded)
    expect(page.locator("#live .live-state")).to_have_text("Live", timeout=LIVE_MS)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    page.screenshot(path=str(artifacts / "a11y-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(artifacts / "a11y-desktop.png"), full_page=True)
    assert_clean(page, errors)
    context.close()


def test_status_is_said_in_words_and_shapes_not_colour_alone(browser, seeded):
    context, page, errors = open_page(browser, seeded)
    badges = page.locator(".badge")
    assert badges.count() >= 4
    for index in range(badges.count()):
        badge = badges.nth(index)
        assert badge.inner_text().strip(), "a badge says its status in words"
        shape = badge.locator(".icon").evaluate(
            "(icon) => getComputedStyle(icon, '::before').content")
        assert shape not in ("none", "normal", '""'), "and shows an icon"
    assert page.locator("#overall .headline").inner_text() == "Partial System Outage"
    assert page.locator("#overall .icon").evaluate(
        "(icon) => getComputedStyle(icon, '::before').content") not in ("none", "normal")
    assert_clean(page, errors)
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_in_the_browser(browser, seeded, scheme, artifacts):
    context, page, errors = open_page(browser, seeded, color_scheme=scheme)
    selectors = ["h1", ".lede", ".badge", "#overall .headline", ".pill", ".when", ".tags .label",
                 ".component-description", "footer", "footer a", ".announcement",
                 ".subscribe button", ".notice h3"]
    low = []
    for selector in selectors:
        for element in page.locator(selector).all():
            ratio = element.evaluate(CONTRAST)
            if ratio < 4.5:
                low.append(f"{selector}: {ratio:.2f}")
    assert low == []
    page.screenshot(path=str(artifacts / f"a11y-phone-{scheme}.png"), full_page=True)
    assert_clean(page, errors)
    context.close()


@pytest.mark.parametrize("theme, scheme, background", [
    ("dark", "light", "rgb(13, 17, 23)"), ("light", "dark", "rgb(244, 246, 248)"),
    ("auto", "dark", "rgb(13, 17, 23)"), ("auto", "light", "rgb(244, 246, 248)")])
def test_the_pages_theme_wins_over_the_browsers_unless_auto(browser, seeded, theme, scheme,
                                                             background):
    seeded.api("PUT", "/status/settings", {"theme": theme})
    context, page, errors = open_page(browser, seeded, color_scheme=scheme)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    assert_clean(page, errors)
    context.close()


def test_the_branding_shows_without_breaking_the_csp(browser, seeded):
    context, page, errors = open_page(browser, seeded, viewport=DESKTOP)
    logo = page.locator("img.logo")
    expect(logo).to_have_attribute("alt", "Acme Status")
    assert logo.evaluate("(img) => img.complete && img.naturalWidth > 0"), "the logo renders"
    # The accent, from its own hashed style element, colours the button; its text is white.
    button = page.locator(".subscribe button")
    assert button.evaluate("(b) => getComputedStyle(b).backgroundColor") == "rgb(10, 122, 92)"
    assert button.evaluate("(b) => getComputedStyle(b).color") == "rgb(255, 255, 255)"
    expect(page.locator("#announcement strong")).to_have_text("Planned migration")
    expect(page.locator(".footer-links a")).to_have_text(["Acme home", "Support"])
    assert_clean(page, errors)
    context.close()


def test_the_french_page(browser, seeded, artifacts):
    context, page, errors = open_page(browser, seeded, path="/status/?lang=fr")
    assert page.evaluate("document.documentElement.lang") == "fr"
    expect(page.locator("#live .live-state")).to_have_text("En direct", timeout=LIVE_MS)
    expect(page.locator("#overall .headline")).to_have_text("Panne partielle")
    expect(page.locator("#incidents-heading")).to_have_text("Incidents en cours")
    expect(page.locator("#live .live-updated")).to_have_text(
        re.compile(r"^mis à jour à \d\d:\d\d:\d\d$"))
    expect(page.locator(".skip-link")).to_have_text("Aller au contenu principal")
    expect(page.locator("#maintenance-upcoming .when")).to_contain_text("janv. 2031")
    expect(page.locator("#zone-note")).to_have_text(
        "Les heures sont indiquées dans le fuseau Europe/Paris.")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    page.screenshot(path=str(artifacts / "a11y-phone-fr.png"), full_page=True)

    # A live change is written in French too.
    incident = seeded.api("GET", "/status/incidents")["items"][0]
    seeded.api("POST", f"/status/incidents/{incident['id']}/updates",
               {"status": "resolved", "message": "Fixed."})
    expect(page.locator("#overall .headline")).to_have_text(
        "Tous les systèmes sont opérationnels", timeout=LIVE_MS)
    expect(page.locator("#resolved-incidents summary")).to_have_text(
        re.compile(r"^Résolus ces \d+ derniers jours \(1\)$"), timeout=LIVE_MS)

    # The switcher goes back to English.
    page.get_by_role("link", name="English").click()
    expect(page.locator("#components-heading")).to_have_text("Components")
    assert_clean(page, errors)
    context.close()
