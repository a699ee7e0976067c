"""The page's branding: logo inlined, accent colour (its style hashed in the CSP), the
announcement banner, footer links, the theme, and contrast checked in both colour schemes."""

import base64
import hashlib
import re
import time
from pathlib import Path

import pytest

from factories import counting_queries, make_component
from maintenant.branding import accent_css, contrast_ratio, text_on
from maintenant.events import get_broker, newest_event_id, stop_broker

from api.test_settings_branding import SVG, data_uri, png

ROOT = Path(__file__).resolve().parents[2]
PAGE_CSS = ROOT / "templates" / "status" / "page.css"


def page(client, path="/status/", **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200
    return response


def brand(api, **body):
    response = api.put("/status/settings", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def csp_sources(response, directive):
    policy = dict(part.strip().split(" ", 1) for part in
                  response.headers["Content-Security-Policy"].split(";"))
    return policy[directive].split()


def sha256_source(text):
    return f"'sha256-{base64.b64encode(hashlib.sha256(text).digest()).decode()}'"


# Logo


def test_a_png_logo_is_inlined_with_the_title_as_its_text(client, api):
    image = png()
    brand(api, title="Acme <Status>", logo=data_uri(image, "image/png"))
    html = page(client).get_data(as_text=True)
    src = f"data:image/png;base64,{base64.b64encode(image).decode()}"
    assert f'<img class="logo" src="{src}" alt="Acme &lt;Status&gt;">' in html


def test_an_svg_logo_is_inlined_as_a_data_uri_image_never_as_markup(client, api):
    brand(api, logo=data_uri(SVG, "image/svg+xml"))
    response = page(client)
    html = response.get_data(as_text=True)
    assert f'src="data:image/svg+xml;base64,{base64.b64encode(SVG).decode()}"' in html
    assert "<svg" not in html
    assert csp_sources(response, "img-src") == ["data:"]


def test_no_logo_no_image(client, api):
    brand(api, logo=data_uri(png(), "image/png"))
    brand(api, logo=None)
    assert 'class="logo"' not in page(client).get_data(as_text=True)


def test_a_logo_change_reaches_the_cached_page_and_changes_its_etag(app, client, api):
    broker = get_broker()
    assert broker.wait_until_healthy(5)
    try:
        make_component("API")
        first = page(client)
        brand(api, logo=data_uri(png(), "image/png"))
        deadline = time.monotonic() + 5
        while broker.last_event_id < newest_event_id():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        second = page(client)
        assert 'class="logo"' in second.get_data(as_text=True)
        assert second.headers["ETag"] != first.headers["ETag"]
        with counting_queries() as statements:
            third = page(client)
        assert statements == [], "the page with its logo is served from the cache"
        assert third.data == second.data
        assert client.get("/status/", headers={"If-None-Match": second.headers["ETag"]}
                          ).status_code == 304
    finally:
        stop_broker(app)


# Accent colour


def test_the_accent_is_a_second_style_whose_hash_the_csp_names(client, api):
    brand(api, accent_color="#0A7A5C")
    response = page(client)
    html = response.data
    accent = re.search(rb'<style id="accent">(.*?)</style>', html, re.S).group(1)
    assert accent == b":root{--accent:#0a7a5c;--on-accent:#ffffff}"
    static = re.search(rb"<style>(.*?)</style>", html, re.S).group(1)
    assert csp_sources(response, "style-src") == [sha256_source(static), sha256_source(accent)]
    assert b" style=" not in html


def test_no_accent_no_second_style(client, api):
    brand(api, accent_color="#123456")
    brand(api, accent_color=None)
    response = page(client)
    assert b'<style id="accent">' not in response.data
    assert len(csp_sources(response, "style-src")) == 1


@pytest.mark.parametrize("accent, text", [
    ("#0860ca", "#ffffff"), ("#000000", "#ffffff"), ("#ffffff", "#000000"),
    ("#ffd33d", "#000000"), ("#595959", "#ffffff"), ("#777777", "#000000"),
])
def test_text_on_the_accent_is_whichever_of_white_and_black_contrasts_more(accent, text):
    assert text_on(accent) == text
    assert contrast_ratio(accent, text) >= 4.5


def test_any_accent_gets_readable_text():
    for value in range(0, 0x1000000, 0x010305):
        accent = f"#{value:06x}"
        assert contrast_ratio(accent, text_on(accent)) >= 4.5, accent


def test_the_accent_css_is_only_ever_a_colour():
    assert accent_css("#12345g") == (None, None)
    assert accent_css("#123456;}") == (None, None)
    assert accent_css(None) == (None, None)


def test_subscription_pages_share_the_accent_and_theme(client, api):
    brand(api, accent_color="#aa0000", theme="dark")
    response = page(client, "/status/subscribe")
    accent = re.search(rb'<style id="accent">(.*?)</style>', response.data, re.S).group(1)
    assert sha256_source(accent) in csp_sources(response, "style-src")
    assert b'data-theme="dark"' in response.data


# Announcement, footer links, theme


def test_the_announcement_is_sanitised_markdown_at_the_top(client, api):
    brand(api, announcement="**Planned** move, see [notes](https://acme.example/n).\n\n"
                            "<script>alert(1)</script> [x](javascript:alert(1)) "
                            "<img src=x onerror=alert(1)>")
    html = page(client).get_data(as_text=True)
    banner = re.search(r'<section class="card announcement" id="announcement"[^>]*>(.*?)</section>',
                       html, re.S).group(1)
    assert "<strong>Planned</strong>" in banner
    assert '<a href="https://acme.example/n" rel="nofollow noopener noreferrer">notes</a>' in banner
    assert "&lt;script&gt;" in banner and "&lt;img" in banner
    assert "<script" not in banner and "<img" not in banner and 'href="javascript' not in banner
    assert html.index('id="announcement"') < html.index('id="overall"')


def test_an_empty_announcement_hides_the_banner(client, api):
    brand(api, announcement="Hello")
    brand(api, announcement="")
    assert 'id="announcement"' not in page(client).get_data(as_text=True)


def test_footer_links_are_listed_and_escaped(client, api):
    brand(api, footer_links=[{"label": "Help & <support>", "url": "https://acme.example/?a=1&b=2"},
                             {"label": "Mail us", "url": "mailto:ops@acme.example"}])
    html = page(client).get_data(as_text=True)
    nav = re.search(r'<nav class="footer-links"[^>]*>(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', nav) == [
        ("https://acme.example/?a=1&amp;b=2", "Help &amp; &lt;support&gt;"),
        ("mailto:ops@acme.example", "Mail us")]


@pytest.mark.parametrize("theme, scheme", [("auto", "light dark"), ("light", "light"),
                                           ("dark", "dark")])
def test_the_theme_is_an_attribute_of_the_document(client, api, theme, scheme):
    brand(api, theme=theme)
    html = page(client).get_data(as_text=True)
    assert f'data-theme="{theme}"' in html.split("<head>")[0]
    assert f'<meta name="color-scheme" content="{scheme}">' in html


# Contrast of the palette, in both schemes


def custom_properties(block):
    return dict(re.findall(r"--([\w-]+):\s*([^;]+);", block))


def palettes():
    """The light palette and the dark one (light's properties overridden), from page.css."""
    css = PAGE_CSS.read_text()
    light = custom_properties(re.search(r"^:root \{(.*?)^\}", css, re.S | re.M).group(1))
    dark_block = re.search(r'^:root\[data-theme="dark"\] \{(.*?)^\}', css, re.S | re.M).group(1)
    media = re.search(r'@media \(prefers-color-scheme: dark\) \{\s*:root:not\(\[data-theme="light"\]\) '
                      r'\{(.*?)\}\s*\}', css, re.S).group(1)
    assert custom_properties(media) == custom_properties(dark_block), \
        "the dark palette is written twice and must say the same"
    return {"light": light, "dark": {**light, **custom_properties(dark_block)}}


def solid(value, under):
    """A colour as the reader sees it: rgba() composited over ``under``."""
    value = value.strip()
    match = re.fullmatch(r"rgba\((\d+),\s*(\d+),\s*(\d+),\s*([\d.]+)\)", value)
    if not match:
        return value
    red, green, blue, alpha = (float(x) for x in match.groups())
    base = [int(under[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c * alpha + b * (1 - alpha)):02x}"
                         for c, b in zip((red, green, blue), base))


# (text, background): each text colour on each background it is used on.
TEXT_PAIRS = [("text", "bg"), ("text", "card"), ("text", "soft"), ("muted", "bg"),
              ("muted", "card"), ("muted", "soft"), ("link", "bg"), ("link", "card"),
              ("ok", "ok-bg"), ("degraded", "degraded-bg"), ("partial", "partial-bg"),
              ("major", "major-bg"), ("maint", "maint-bg"), ("major", "card"),
              ("degraded", "card"), ("partial", "card"), ("ok", "card"),
              ("on-accent", "accent")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_is_at_least_4_5_to_1_in_both_schemes(scheme):
    palette = palettes()[scheme]
    low = []
    for text, background in TEXT_PAIRS:
        under = solid(palette[background], palette["card"])
        ratio = contrast_ratio(solid(palette[text], under), under)
        if ratio < 4.5:
            low.append(f"--{text} on --{background}: {ratio:.2f}")
    assert low == []


def test_white_on_each_status_banner_is_readable():
    css = PAGE_CSS.read_text()
    banners = re.findall(r"\.status-\w+ \{[^}]*--banner: (#[0-9a-f]{6})", css)
    assert len(banners) == 5
    for colour in banners:
        assert contrast_ratio("#ffffff", colour) >= 4.5, colour
