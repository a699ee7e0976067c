"""/api/v1/status/settings: branding (logo, accent colour, announcement, footer links, theme),
language and uptime days."""

import base64
import struct
import zlib
from urllib.parse import quote

import pytest

from .helpers import assert_error, ok

KIB = 1024


def png(width=2, height=2):
    """A real, tiny PNG (grey pixels)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def data_uri(data, media_type):
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
       b'viewBox="0 0 10 10"><defs><linearGradient id="g"><stop offset="0" stop-color="#08c"/>'
       b'</linearGradient></defs><style>.a{fill:url(#g)}</style>'
       b'<rect class="a" width="10" height="10"/><use xlink:href="#g"/></svg>')

HOSTILE_SVGS = {
    "script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "namespaced script": b'<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:script>alert(1)'
                         b'</s:script></s:svg>',
    "onload": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "onclick on a child": b'<svg xmlns="http://www.w3.org/2000/svg"><rect ONCLICK="alert(1)"/></svg>',
    "foreignObject": b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>hi</p>'
                     b'</foreignObject></svg>',
    "javascript href": b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)">'
                       b'<rect/></a></svg>',
    "javascript xlink:href with spaces": b'<svg xmlns="http://www.w3.org/2000/svg" '
        b'xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href=" java&#10;script:alert(1)">'
        b'<rect/></a></svg>',
    "data href": b'<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/svg+xml,x"/>'
                 b'</svg>',
    "external image": b'<svg xmlns="http://www.w3.org/2000/svg"><image '
                      b'href="https://evil.example/track.png"/></svg>',
    "external use": b'<svg xmlns="http://www.w3.org/2000/svg" '
                    b'xmlns:xlink="http://www.w3.org/1999/xlink"><use '
                    b'xlink:href="https://evil.example/sprite.svg#x"/></svg>',
    "style import": b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import '
                    b'"https://evil.example/x.css";</style></svg>',
    "style url": b'<svg xmlns="http://www.w3.org/2000/svg"><style>rect{fill:'
                 b'url(https://evil.example/x)}</style></svg>',
    "attribute url": b'<svg xmlns="http://www.w3.org/2000/svg"><rect '
                     b'style="background:url(//evil.example/x)"/></svg>',
    "doctype with entity": b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "boom">]>'
                           b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
    "external entity": b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                       b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
    "xml-stylesheet": b'<?xml-stylesheet href="https://evil.example/x.css"?>'
                      b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    "iframe": b'<svg xmlns="http://www.w3.org/2000/svg"><iframe src="https://evil.example"/></svg>',
    "not svg at all": b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
    "not xml": b"<svg",
}


def settings(api):
    return ok(api.get("/status/settings"))


def test_defaults(api):
    current = settings(api)
    assert {key: current[key] for key in ("logo", "accent_color", "announcement", "footer_links",
                                          "theme", "language", "uptime_days")} == {
        "logo": None, "accent_color": None, "announcement": "", "footer_links": [],
        "theme": "auto", "language": "en", "uptime_days": 90}


def test_branding_is_stored_and_answered(api):
    body = {"accent_color": "#0A7A5c", "announcement": "**Heads up**: [notes](https://x.example)",
            "footer_links": [{"label": "Home", "url": "https://acme.example/"},
                             {"label": "Support", "url": "mailto:help@acme.example"}],
            "theme": "dark", "language": "fr", "uptime_days": 30}
    changed = ok(api.put("/status/settings", json=body))
    for key, value in body.items():
        assert changed[key] == value, key
    assert settings(api) == changed


def test_null_accent_resets_it(api):
    ok(api.put("/status/settings", json={"accent_color": "#112233"}))
    assert ok(api.put("/status/settings", json={"accent_color": None}))["accent_color"] is None


@pytest.mark.parametrize("body, field", [
    ({"accent_color": "red"}, "accent_color"),
    ({"accent_color": "#12345"}, "accent_color"),
    ({"accent_color": "#1234567"}, "accent_color"),
    ({"accent_color": "#12345g"}, "accent_color"),
    ({"accent_color": "#123456;}body{x:y"}, "accent_color"),
    ({"accent_color": 123456}, "accent_color"),
    ({"announcement": "x" * 5001}, "announcement"),
    ({"announcement": None}, "announcement"),
    ({"announcement": "a\u0000b"}, "announcement"),
    ({"footer_links": [{"label": "x", "url": "javascript:alert(1)"}]}, "footer_links"),
    ({"footer_links": [{"label": "x", "url": "data:text/html,hi"}]}, "footer_links"),
    ({"footer_links": [{"label": "x", "url": "//evil.example"}]}, "footer_links"),
    ({"footer_links": [{"label": "x", "url": "/relative"}]}, "footer_links"),
    ({"footer_links": [{"label": "x", "url": "https://"}]}, "footer_links"),
    ({"footer_links": [{"label": "x", "url": "https://a.example/ b"}]}, "footer_links"),
    ({"footer_links": [{"label": "x", "url": "mailto:"}]}, "footer_links"),
    ({"footer_links": [{"label": "", "url": "https://a.example"}]}, "footer_links"),
    ({"footer_links": [{"label": "x" * 61, "url": "https://a.example"}]}, "footer_links"),
    ({"footer_links": [{"label": "x", "url": "https://a.example/" + "x" * 500}]}, "footer_links"),
    ({"footer_links": [{"label": "x"}]}, "footer_links"),
    ({"footer_links": [{"label": "x", "url": "https://a.example", "target": "_top"}]},
     "footer_links"),
    ({"footer_links": [{"label": "x", "url": "https://a.example"}] * 11}, "footer_links"),
    ({"footer_links": "https://a.example"}, "footer_links"),
    ({"footer_links": None}, "footer_links"),
    ({"theme": "purple"}, "theme"),
    ({"theme": None}, "theme"),
    ({"language": "de"}, "language"),
    ({"language": "FR"}, "language"),
    ({"uptime_days": 6}, "uptime_days"),
    ({"uptime_days": 366}, "uptime_days"),
    ({"uptime_days": "30"}, "uptime_days"),
    ({"uptime_days": 30.5}, "uptime_days"),
    ({"logo": 12}, "logo"),
    ({"logo": "https://evil.example/logo.png"}, "logo"),
    ({"logo": "data:image/png;base64,not base64!"}, "logo"),
    ({"logo": data_uri(b"GIF89a....", "image/png")}, "logo"),
    ({"logo": data_uri(b"\x89PNG\r\n\x1a\n", "image/jpeg")}, "logo"),
    ({"logo": data_uri(b"RIFF\x00\x00\x00\x00WAVE", "image/webp")}, "logo"),
    ({"logo": "data:image/png;base64,"}, "logo"),
])
def test_invalid_branding_is_422_naming_the_field(api, body, field):
    before = settings(api)
    assert_error(api.put("/status/settings", json=body), 422, field)
    assert settings(api) == before


@pytest.mark.parametrize("media_type", ["image/gif", "text/html", "application/octet-stream",
                                        "image/svg", ""])
def test_a_logo_of_another_type_is_415(api, media_type):
    error = assert_error(api.put("/status/settings", json={
        "logo": data_uri(b"GIF89a\x01\x00\x01\x00", media_type)}), 415, "logo")
    assert error["code"] == "unsupported_media_type"
    assert settings(api)["logo"] is None


def test_a_logo_over_256_kib_is_413(api):
    big = png() + b"\x00" * (256 * KIB)
    error = assert_error(api.put("/status/settings", json={"logo": data_uri(big, "image/png")}),
                         413, "logo")
    assert error["code"] == "payload_too_large"
    # Just under the cap is fine (the check is on the decoded bytes).
    fits = png() + b"\x00" * (256 * KIB - len(png()))
    assert ok(api.put("/status/settings", json={"logo": data_uri(fits, "image/png")}))["logo"] == {
        "type": "image/png", "size": 256 * KIB}


def test_a_png_logo_is_accepted_and_described_not_returned(api):
    image = png()
    changed = ok(api.put("/status/settings", json={"logo": data_uri(image, "image/png")}))
    assert changed["logo"] == {"type": "image/png", "size": len(image)}
    assert "base64" not in str(settings(api))


@pytest.mark.parametrize("media_type, data", [
    ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20),
    ("image/webp", b"RIFF\x1a\x00\x00\x00WEBPVP8L" + b"\x00" * 20),
])
def test_jpeg_and_webp_logos_by_their_signature(api, media_type, data):
    assert ok(api.put("/status/settings", json={"logo": data_uri(data, media_type)}))["logo"] == {
        "type": media_type, "size": len(data)}


def test_a_clean_svg_logo_is_accepted_base64_or_percent_encoded(api):
    assert ok(api.put("/status/settings", json={"logo": data_uri(SVG, "image/svg+xml")}))[
        "logo"] == {"type": "image/svg+xml", "size": len(SVG)}
    uri = "data:image/svg+xml;charset=utf-8," + quote(SVG.decode())
    assert ok(api.put("/status/settings", json={"logo": uri}))["logo"]["size"] == len(SVG)


@pytest.mark.parametrize("name", sorted(HOSTILE_SVGS))
def test_hostile_svgs_are_refused(api, name):
    error = assert_error(api.put("/status/settings", json={
        "logo": data_uri(HOSTILE_SVGS[name], "image/svg+xml")}), 422, "logo")
    assert error["fields"]["logo"]
    assert settings(api)["logo"] is None


def test_null_removes_the_logo(api):
    ok(api.put("/status/settings", json={"logo": data_uri(png(), "image/png")}))
    assert ok(api.put("/status/settings", json={"logo": None}))["logo"] is None
    assert settings(api)["logo"] is None


def test_a_read_token_cannot_change_branding(read_api):
    assert_error(read_api.put("/status/settings", json={"accent_color": "#000000"}), 403)
