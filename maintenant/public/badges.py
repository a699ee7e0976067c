"""GET /status/badge.svg and /status/components/<id>/badge.svg: status badges to embed anywhere.

A flat, shields-like badge: the label (the page's title or the component's name) on grey, the
status on its colour, and with ``?uptime=1`` (or ``?style=uptime``) a component's 30-day
uptime. Text widths are estimated from DejaVu Sans at 11 px (close to Verdana, the font asked
for) and pinned with ``textLength``, so the text fits whatever font the viewer has. The status
is in words, in the <title> and in aria-label, never in colour alone. Badges are cached like
the page and answered with an ETag and ``Cache-Control: no-cache``: an embedding page or an
image proxy revalidates each time and gets a 304 until the status changes.
"""

import unicodedata
from datetime import timedelta
from xml.etree.ElementTree import Element, SubElement, tostring

from flask import current_app, request

from ..models import Component
from ..extensions import db
from ..services.components import list_components
from ..services.lookups import MAX_ID
from ..services.settings import get_settings
from ..services.statuses import effective_statuses, overall
from ..services.uptime import component_uptime, format_percent
from . import bp
from .cache import register
from .feeds import xml_text
from .views import serve

BADGE = "badge"
SVG_TYPE = "image/svg+xml; charset=utf-8"
# No script, no outside request: the SVG's own attributes style it.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
UPTIME_DAYS = 30
# The uptime moves with the clock; a badge showing it is rendered again at least this often.
UPTIME_LIFETIME = timedelta(minutes=5)
LABEL_MAX_CHARS = 40
HEIGHT = 20
PADDING = 5
LABEL_COLOUR = "#555"
# Each at least 4.5:1 against the white text (WCAG AA).
COLOURS = {
    "operational": "#1a7f37",
    "degraded": "#9a6700",
    "partial_outage": "#bc4c00",
    "major_outage": "#cf222e",
    "maintenance": "#0969da",
}
WORDS = {
    "operational": "operational",
    "degraded": "degraded",
    "partial_outage": "partial outage",
    "major_outage": "major outage",
    "maintenance": "maintenance",
}
NOT_FOUND_COLOUR = "#57606a"
FONT = "Verdana,Geneva,DejaVu Sans,sans-serif"
# Advance widths of DejaVu Sans at 11 px for " " (32) to "~" (126), read from its hmtx table.
ASCII_WIDTHS = (
    3.5, 4.41, 5.06, 9.22, 7.0, 10.45, 8.58, 3.02, 4.29, 4.29, 5.5, 9.22, 3.5, 3.97, 3.5, 3.71,
    7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 3.71, 3.71, 9.22, 9.22, 9.22, 5.84,
    11.0, 7.52, 7.55, 7.68, 8.47, 6.95, 6.33, 8.52, 8.27, 3.24, 3.24, 7.21, 6.13, 9.49, 8.23,
    8.66, 6.63, 8.66, 7.64, 6.98, 6.72, 8.05, 7.52, 10.88, 7.54, 6.72, 7.54, 4.29, 3.71, 4.29,
    9.22, 5.5, 5.5, 6.74, 6.98, 6.05, 6.98, 6.77, 3.87, 6.98, 6.97, 3.06, 3.06, 6.37, 3.06,
    10.72, 6.97, 6.73, 6.98, 6.98, 4.52, 5.73, 4.31, 6.97, 6.51, 9.0, 6.51, 6.51, 5.77, 7.0,
    3.71, 7.0, 9.22,
)
OTHER_WIDTH = 7.0
WIDE_WIDTH = 11.0


class UnknownComponent(Exception):
    """No component with that id is on the page (none, or hidden)."""


def char_width(char):
    code = ord(char)
    if 32 <= code <= 126:
        return ASCII_WIDTHS[code - 32]
    if unicodedata.combining(char):
        return 0.0
    return WIDE_WIDTH if unicodedata.east_asian_width(char) in ("W", "F") else OTHER_WIDTH


def text_width(text):
    """The estimated width of ``text`` in px at 11 px."""
    return round(sum(char_width(char) for char in text), 1)


def truncated(text, limit=LABEL_MAX_CHARS):
    text = " ".join(xml_text(text).split())  # one line: newlines and runs of spaces folded
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def uptime_text(percent):
    """The percentage as the page writes it ("99.95%"); "no data" when there is none."""
    return format_percent(percent) or "no data"


def badge_svg(label, message, colour):
    """The badge as SVG bytes; ElementTree escapes the label and the message."""
    label_width = text_width(label) + 2 * PADDING
    message_width = text_width(message) + 2 * PADDING
    width = round(label_width + message_width, 1)
    title = f"{label}: {message}"
    svg = Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg", "width": f"{width:g}", "height": str(HEIGHT),
        "viewBox": f"0 0 {width:g} {HEIGHT}", "role": "img", "aria-label": title,
    })
    SubElement(svg, "title").text = title
    gradient = SubElement(svg, "linearGradient", id="s", x2="0", y2="100%")
    SubElement(gradient, "stop", {"offset": "0", "stop-color": "#bbb", "stop-opacity": ".1"})
    SubElement(gradient, "stop", {"offset": "1", "stop-opacity": ".1"})
    clip = SubElement(svg, "clipPath", id="r")
    SubElement(clip, "rect", width=f"{width:g}", height=str(HEIGHT), rx="3", fill="#fff")
    shapes = SubElement(svg, "g", {"clip-path": "url(#r)"})
    SubElement(shapes, "rect", width=f"{label_width:g}", height=str(HEIGHT), fill=LABEL_COLOUR)
    SubElement(shapes, "rect", x=f"{label_width:g}", width=f"{message_width:g}",
               height=str(HEIGHT), fill=colour)
    SubElement(shapes, "rect", width=f"{width:g}", height=str(HEIGHT), fill="url(#s)")
    texts = SubElement(svg, "g", {"fill": "#fff", "text-anchor": "middle", "font-family": FONT,
                                  "font-size": "11", "aria-hidden": "true"})
    for text, left, span in ((label, 0, label_width), (message, label_width, message_width)):
        centre = f"{left + span / 2:g}"
        length = f"{span - 2 * PADDING:g}"
        shadow = SubElement(texts, "text", {"x": centre, "y": "15", "fill": "#010101",
                                            "fill-opacity": ".3", "textLength": length})
        shadow.text = text
        SubElement(texts, "text", x=centre, y="14", textLength=length).text = text
    return tostring(svg, encoding="utf-8", xml_declaration=False)


def badge_state(now, component_id, with_uptime):
    """What a badge says. ``component_id`` None: the whole page."""
    if component_id is None:
        components = list_components()
        status, _ = overall(components, effective_statuses(components, now))
        return {"label": truncated(get_settings().title), "message": WORDS[status],
                "colour": COLOURS[status]}
    component = db.session.get(Component, component_id)
    if component is None or not component.visible:
        raise UnknownComponent(component_id)
    status = effective_statuses([component], now)[component.id]
    message = WORDS[status]
    if with_uptime:
        percent = component_uptime([component.id], UPTIME_DAYS, now=now)[component.id]
        message += " · " + uptime_text(percent)
    return {"label": truncated(component.name), "message": message, "colour": COLOURS[status]}


def svg_response(body, status=200):
    response = current_app.response_class(body, status=status, content_type=SVG_TYPE)
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def render_badge(state):
    return svg_response(badge_svg(state["label"], state["message"], state["colour"]))


def not_found():
    """A 404 that still draws in an <img>: "badge: not found"."""
    response = svg_response(badge_svg("badge", "not found", NOT_FOUND_COLOUR), status=404)
    response.headers["Cache-Control"] = "no-cache"
    return response


def wants_uptime():
    return (request.args.get("uptime", "").lower() in ("1", "true", "yes")
            or request.args.get("style") == "uptime")


register(BADGE, render_badge, load=badge_state)
register(BADGE + "-uptime", render_badge, load=badge_state, lifetime=UPTIME_LIFETIME)


@bp.get("/badge.svg")
def page_badge():
    return serve((BADGE, None, False))


@bp.get("/components/<int:component_id>/badge.svg")
def component_badge(component_id):
    if not 0 < component_id <= MAX_ID:
        return not_found()
    kind = BADGE + "-uptime" if wants_uptime() else BADGE
    try:
        return serve((kind, component_id, kind != BADGE))
    except UnknownComponent:
        return not_found()
