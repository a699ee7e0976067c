"""SVG badges: /status/badge.svg and /status/components/<id>/badge.svg are valid, accessible SVG."""

from xml.etree import ElementTree

import pytest

from factories import counting_queries, make_component
from maintenant.public import cache
from maintenant.public.badges import BADGE, COLOURS, WORDS, text_width, uptime_text
from maintenant.services.components import get_component, update_component
from maintenant.services.settings import update_settings

SVG = "{http://www.w3.org/2000/svg}"
STATUSES = ("operational", "degraded", "partial_outage", "major_outage", "maintenance")


def badge(client, path, status=200, **headers):
    response = client.get(path, headers=headers)
    assert response.status_code == status, response.data
    return response


def parse(response):
    """The badge's root element, checked to be a well-formed SVG of consistent size."""
    assert response.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    root = ElementTree.fromstring(response.data)
    assert root.tag == SVG + "svg"
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert width > 0 and height == 20
    assert root.get("role") == "img"
    return root


def texts(root):
    """What the badge shows: each visible text once (shadows left out)."""
    return [t.text for t in root.iter(SVG + "text") if t.get("fill-opacity") is None]


def fill_of_message(root):
    return root.findall(f"{SVG}g/{SVG}rect")[1].get("fill")


def test_the_page_badge(client):
    make_component("API")
    root = parse(badge(client, "/status/badge.svg"))

    assert texts(root) == ["System Status", "operational"]
    assert root.find(SVG + "title").text == "System Status: operational"
    assert root.get("aria-label") == "System Status: operational"
    assert fill_of_message(root) == COLOURS["operational"]


def test_the_page_badge_follows_the_title(client):
    update_settings({"title": "Acme status"})
    assert texts(parse(badge(client, "/status/badge.svg")))[0] == "Acme status"


@pytest.mark.parametrize("status", STATUSES)
def test_the_colour_and_words_follow_the_status(client, status):
    component = make_component("API")
    update_component(get_component(component.id), {"status_override": status})

    for path in (f"/status/components/{component.id}/badge.svg", "/status/badge.svg"):
        root = parse(badge(client, path))
        assert texts(root)[1] == WORDS[status]
        assert fill_of_message(root) == COLOURS[status]


def contrast(colour, against="#ffffff"):
    def luminance(hex_colour):
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(colour), luminance(against)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("status", STATUSES)
def test_the_white_text_is_readable_on_every_colour(status):
    assert contrast(COLOURS[status]) >= 4.5


def test_a_hostile_name_is_escaped(client):
    name = '<script>alert(1)</script> & "x" ]]>'
    component = make_component(name)
    response = badge(client, f"/status/components/{component.id}/badge.svg")

    root = parse(response)
    assert texts(root)[0] == name
    assert root.find(SVG + "title").text == f"{name}: operational"
    assert b"<script" not in response.data
    assert not list(root.iter(SVG + "script"))


def test_a_long_name_is_truncated_and_the_badge_widens_with_its_text(client):
    short = make_component("API")
    long = make_component("A very long component name that goes on and on and on forever")
    short_root = parse(badge(client, f"/status/components/{short.id}/badge.svg"))
    long_root = parse(badge(client, f"/status/components/{long.id}/badge.svg"))

    label = texts(long_root)[0]
    assert label.endswith("…") and len(label) == 40
    assert float(long_root.get("width")) > float(short_root.get("width"))


def test_text_widths_are_estimated_per_character():
    assert text_width("iiii") < text_width("MMMM")
    assert text_width("漢字") == 22.0
    assert text_width("") == 0


def test_headers_etag_and_304(client):
    component = make_component("API")
    path = f"/status/components/{component.id}/badge.svg"
    first = badge(client, path)
    assert first.headers["Content-Security-Policy"] == \
        "default-src 'none'; style-src 'unsafe-inline'"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["Cache-Control"] == "no-cache"

    again = badge(client, path, status=304, **{"If-None-Match": first.headers["ETag"]})
    assert again.data == b""

    update_component(get_component(component.id), {"status_override": "major_outage"})
    changed = badge(client, path, **{"If-None-Match": first.headers["ETag"]})
    assert texts(parse(changed))[1] == "major outage"


@pytest.mark.parametrize("path", [
    "/status/components/999/badge.svg",
    "/status/components/0/badge.svg",
    "/status/components/-1/badge.svg",
    "/status/components/abc/badge.svg",
    "/status/components/1.5/badge.svg",
    "/status/components/99999999999999999999999999/badge.svg",
    f"/status/components/{2**31}/badge.svg",
])
def test_unknown_components_are_404(client, path):
    make_component("API")
    response = client.get(path)
    assert response.status_code == 404


def test_a_hidden_component_has_no_badge(client):
    hidden = make_component("Secret", visible=False)
    response = badge(client, f"/status/components/{hidden.id}/badge.svg", status=404)
    root = parse(response)
    assert texts(root) == ["badge", "not found"]
    assert b"Secret" not in response.data

    update_component(get_component(hidden.id), {"visible": True})
    assert texts(parse(badge(client, f"/status/components/{hidden.id}/badge.svg")))[0] == "Secret"


@pytest.mark.parametrize("query", ["?uptime=1", "?style=uptime", "?uptime=true"])
def test_the_uptime_variant_says_its_30_day_uptime(client, query):
    component = make_component("API")
    root = parse(badge(client, f"/status/components/{component.id}/badge.svg{query}"))
    assert texts(root)[1] == "operational · 100%"
    assert root.get("aria-label") == "API: operational · 100%"


def test_the_uptime_counts_an_outage(client):
    component = make_component("API", status_override="major_outage")
    root = parse(badge(client, f"/status/components/{component.id}/badge.svg?uptime=1"))
    assert texts(root)[1] == "major outage · 0.00%"


@pytest.mark.parametrize("query", ["?uptime=0", "?style=nonsense", "?uptime=%00", "?x=<>"])
def test_odd_parameters_give_the_plain_badge(client, query):
    component = make_component("API")
    root = parse(badge(client, f"/status/components/{component.id}/badge.svg{query}"))
    assert texts(root)[1] == "operational"


@pytest.mark.parametrize("percent, text", [
    (100.0, "100%"), (99.999, "99.99%"), (99.9, "99.90%"), (0.0, "0.00%"), (None, "no data"),
])
def test_uptime_text(percent, text):
    assert uptime_text(percent) == text


def test_badges_render_in_a_fixed_number_of_queries(app):
    first = make_component("API")
    with counting_queries() as few_page:
        cache.render((BADGE, None, False))
    with counting_queries() as few_one:
        cache.render((BADGE, first.id, False))
    with counting_queries() as few_uptime:
        cache.render((BADGE + "-uptime", first.id, True))
    for n in range(5):
        make_component(f"Web {n}")
    with counting_queries() as many_page:
        cache.render((BADGE, None, False))
    with counting_queries() as many_one:
        cache.render((BADGE, first.id, False))
    with counting_queries() as many_uptime:
        cache.render((BADGE + "-uptime", first.id, True))
    assert len(many_page) == len(few_page)
    assert len(many_one) == len(few_one)
    assert len(many_uptime) == len(few_uptime)
