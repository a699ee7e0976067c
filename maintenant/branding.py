"""The page's branding: logo checks, the accent colour's CSS and WCAG contrast.

A logo is stored as uploaded once it passes the checks below, and inlined in the page as a
``data:`` URI (the page makes no requests; its CSP allows ``img-src data:`` only):

- at most ``MAX_LOGO_BYTES`` (256 KiB);
- PNG, JPEG or WebP whose first bytes are that format's signature;
- SVG parsed with defusedxml (no DOCTYPE, no entities) and refused when it could run or load
  anything: ``<script>``, ``<foreignObject>`` and other embedding elements, any ``on*``
  attribute, an ``href``/``xlink:href`` that does not point inside the file (``#...``),
  ``javascript:`` or ``data:`` anywhere in an attribute, ``url(...)`` other than ``url(#...)``,
  ``@import`` in a ``<style>``, and processing instructions (``<?xml-stylesheet ...?>``).

Browsers never run scripts of an SVG shown by ``<img>``; the checks keep a logo safe also
when someone opens it on its own.
"""

import base64
import hashlib
import re
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from markupsafe import Markup

MAX_LOGO_BYTES = 256 * 1024
LOGO_TYPES = ("image/png", "image/jpeg", "image/webp", "image/svg+xml")
SVG_NAMESPACE = "http://www.w3.org/2000/svg"

# Elements that run code, embed other documents or pull in content.
FORBIDDEN_ELEMENTS = {"script", "foreignobject", "iframe", "embed", "object", "handler",
                      "listener", "audio", "video", "animation", "discard"}
HREF_ATTRIBUTES = {"href", "src"}
URL_FUNCTION = re.compile(r"url\s*\(\s*(['\"]?)\s*([^)'\"]*)", re.IGNORECASE)
# Processing instructions other than the XML declaration (xml-stylesheet loads a sheet).
PROCESSING_INSTRUCTION = re.compile(rb"<\?(?!xml[\s?])", re.IGNORECASE)

ACCENT = re.compile(r"^#[0-9a-fA-F]{6}$")
# Text on an accent background: white or black, whichever contrasts more. One of the two
# always reaches at least 4.58:1 (the square root of 21), so text on the accent is readable
# whatever colour the operator picks.
LIGHT_TEXT = "#ffffff"
DARK_TEXT = "#000000"


class LogoRefused(ValueError):
    """A logo that is not what it claims to be, or could run or load something."""


def _local(name):
    """An XML name without its namespace: ``{http://...}href`` -> ``href``."""
    return name.rpartition("}")[2].lower()


def _external_url(value):
    """Whether a CSS/attribute value references anything outside the file."""
    return any(not target.strip().startswith("#") for _, target in URL_FUNCTION.findall(value))


def check_svg(data):
    """Refuse an SVG that could run script or load anything (see the module docstring)."""
    if PROCESSING_INSTRUCTION.search(data):
        raise LogoRefused("SVG processing instructions (such as xml-stylesheet) are not allowed.")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except DefusedXmlException:
        raise LogoRefused("SVG with a DOCTYPE or entities is not allowed.") from None
    except (ParseError, ValueError):
        raise LogoRefused("Not a well-formed SVG document.") from None
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise LogoRefused("Not an SVG document (its root must be an svg element).")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = _local(element.tag)
        if tag in FORBIDDEN_ELEMENTS:
            raise LogoRefused(f"SVG with a <{tag}> element is not allowed.")
        if tag == "style":
            css = element.text or ""
            if "@import" in css.lower() or _external_url(css):
                raise LogoRefused("SVG styles must not import or reference other files.")
        for name, value in element.attrib.items():
            attribute, lowered = _local(name), value.lower()
            if attribute.startswith("on"):
                raise LogoRefused(f"SVG event attributes ({attribute}) are not allowed.")
            compact = re.sub(r"\s+", "", lowered)
            if "javascript:" in compact or "data:" in compact:
                raise LogoRefused("SVG attributes must not hold javascript: or data: URLs.")
            if attribute in HREF_ATTRIBUTES and not value.strip().startswith("#"):
                raise LogoRefused("SVG links must point inside the file (#id).")
            if _external_url(value) or "@import" in lowered:
                raise LogoRefused("SVG attributes must not reference other files.")


SIGNATURES = {
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "image/webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
}
FORMAT_NAMES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}


def check_logo(data, content_type):
    """Check an uploaded logo of an allowed ``content_type`` (LOGO_TYPES); raise LogoRefused."""
    if not data:
        raise LogoRefused("The logo is empty.")
    if content_type == "image/svg+xml":
        check_svg(data)
    elif not SIGNATURES[content_type](data):
        raise LogoRefused(f"The file is not a {FORMAT_NAMES[content_type]} image.")


def logo_data_uri(data, content_type):
    """The logo as a ``data:`` URI for ``<img src>``."""
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def relative_luminance(colour):
    """WCAG 2 relative luminance of ``#rrggbb`` (or ``#rgb``)."""
    if len(colour) == 4:
        colour = "#" + "".join(char * 2 for char in colour[1:])
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast_ratio(first, second):
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)),
                             reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_on(colour):
    """The text colour (white or black) that contrasts most with ``colour``."""
    if contrast_ratio(colour, LIGHT_TEXT) >= contrast_ratio(colour, DARK_TEXT):
        return LIGHT_TEXT
    return DARK_TEXT


def accent_css(colour):
    """The page's second style element for an accent colour, and its CSP source expression.

    Returns:
        (Markup css, "'sha256-...'"), or (None, None) with no accent. ``colour`` was validated
        as ``#rrggbb`` by the settings schema; it is checked again since it becomes CSS.
    """
    if not colour or not ACCENT.match(colour):
        return None, None
    colour = colour.lower()
    css = f":root{{--accent:{colour};--on-accent:{text_on(colour)}}}"
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return Markup(css), f"'sha256-{digest}'"
