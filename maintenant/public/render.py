"""How the public page is rendered: time and label filters, the embedded CSS, headers, ETags."""

import base64
import functools
import hashlib
import os
import zoneinfo
from datetime import datetime, timezone
from urllib.parse import quote

from babel.dates import get_month_names
from flask import current_app, render_template, request
from flask_babel import get_locale, gettext
from markupsafe import Markup

from .. import branding
from ..markdown import render_markdown
from ..services.settings import get_settings
from . import bp

PAGE_TEMPLATE = "status/page.html"
PAGE_CSS = "status/page.css"
LIVE_SCRIPT = "status/live.js"

# English month names, whatever the process's locale is; other languages take theirs from
# Babel's CLDR data (months()).
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def N_(message):
    """Mark ``message`` for translation (pybabel extracts it); it is translated when shown."""
    return message


# In English; label() and page_labels() translate them for the reader.
LABELS = {
    "operational": N_("Operational"),
    "degraded": N_("Degraded performance"),
    "partial_outage": N_("Partial outage"),
    "major_outage": N_("Major outage"),
    "maintenance": N_("Under maintenance"),
    "minor": N_("Minor"),
    "major": N_("Major"),
    "critical": N_("Critical"),
    "investigating": N_("Investigating"),
    "identified": N_("Identified"),
    "monitoring": N_("Monitoring"),
    "resolved": N_("Resolved"),
    "scheduled": N_("Scheduled"),
    "in_progress": N_("In progress"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
}
# The pill of an incident card, by severity: a whole phrase, since languages order it apart.
INCIDENT_PILLS = {
    "minor": N_("Minor incident"),
    "major": N_("Major incident"),
    "critical": N_("Critical incident"),
}
# The overall headlines (maintenant/status.py), translated on the page and by the live script.
HEADLINES = (N_("All Systems Operational"), N_("Degraded Performance"),
             N_("Partial System Outage"), N_("Major System Outage"), N_("Scheduled Maintenance"))
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}

# The favicon's colour follows the overall status; a data: URI keeps the page free of requests.
FAVICON_COLOURS = {
    "operational": "#1f883d",
    "degraded": "#b58100",
    "partial_outage": "#d4600f",
    "major_outage": "#cf222e",
    "maintenance": "#2f6fd6",
}


@functools.cache
def _zone(name):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        # A zone the tzdata here does not know must not take the page down.
        return timezone.utc


def _aware(value):
    """A UTC datetime from what the page state holds: an ISO 8601 string or a datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@bp.app_template_filter("local_time")
def local_time(value, zone_name, since=None):
    """A time as readers of the page read it, zone named: "27 Nov 2026, 14:03 CET".

    Args:
        since: the start of a span ending at ``value``; on the same local day only the time
            is shown ("14:00 CET"), so "27 Nov 2026, 12:00 CET – 14:00 CET" reads at a glance.
    """
    if value is None:
        return ""
    zone = _zone(zone_name)
    local = _aware(value).astimezone(zone)
    clock = f"{local:%H:%M} {local.tzname()}"
    if since is not None and _aware(since).astimezone(zone).date() == local.date():
        return clock
    return f"{local.day} {months()[local.month - 1]} {local.year}, {clock}"


def months():
    """Abbreviated month names in the reader's language (CLDR: "Nov", "nov.")."""
    locale = str(get_locale() or "en")
    return MONTHS if locale == "en" else _month_names(locale)


@functools.cache
def _month_names(locale):
    names = get_month_names("abbreviated", locale=locale)
    return tuple(names[month] for month in range(1, 13))


@bp.app_template_filter("utc_iso")
def utc_iso(value):
    """A time for <time datetime>: ISO 8601 in UTC, to the second."""
    if value is None:
        return ""
    return _aware(value).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@bp.app_template_filter("label")
def label(value):
    """The words the page shows for a status, severity or maintenance state."""
    if value in LABELS:
        return gettext(LABELS[value])
    return str(value).replace("_", " ").capitalize()


@bp.app_template_filter("bold")
def bold(value):
    """``<strong>value</strong>``, ``value`` escaped: for an operator or reader string that a
    translated sentence shows in bold (the sentence is translated whole, the value put in)."""
    return Markup("<strong>{}</strong>").format(value)


@bp.app_template_filter("incident_pill")
def incident_pill(severity):
    """"Major incident": an incident card's severity pill, in the reader's language."""
    if severity in INCIDENT_PILLS:
        return gettext(INCIDENT_PILLS[severity])
    return gettext("%(severity)s incident", severity=label(severity))


def page_labels():
    """Every label in the reader's language, for the live script (body data-labels)."""
    return {key: gettext(value) for key, value in LABELS.items()}


def live_text(resolved_days):
    """The words the live script writes, in the reader's language (body data-text).

    ``{name}`` marks where the script puts a value; the same phrases render the page itself,
    so what the script builds reads as what the server wrote.
    """
    return {
        "live": gettext("Live"),
        "connecting": gettext("Connecting…"),
        "reconnecting": gettext("Reconnecting…"),
        "updated": gettext("updated %(time)s", time="{time}"),
        "months": list(months()),
        "headlines": {message: gettext(message) for message in HEADLINES},
        "pills": {key: gettext(value) for key, value in INCIDENT_PILLS.items()},
        "affects": gettext("Affects:"),
        "updates": gettext("Updates, newest first"),
        "started_resolved": gettext("Started %(start)s, resolved %(end)s",
                                    start="{start}", end="{end}"),
        "started_ends": gettext("Started %(start)s, ends %(end)s", start="{start}", end="{end}"),
        "active_incidents": gettext("Active incidents"),
        "maintenance_in_progress": gettext("Maintenance in progress"),
        "upcoming_maintenance": gettext("Upcoming maintenance"),
        "no_components": gettext("No components yet"),
        "no_components_hint": gettext(
            "This page will show the status of each service once its operators add them."),
        "resolved_summary": gettext("Resolved in the last %(days)s days (%(count)s)",
                                    days=resolved_days, count="{count}"),
        "no_past": gettext("No incidents in the last %(days)s days.", days=resolved_days),
        "zone_note": gettext("Times are shown in %(zone)s.", zone="{zone}"),
    }


@bp.app_template_filter("zone_name")
def zone_name(value):
    """The zone the page's times are shown in, as the page will really use it."""
    zone = _zone(value)
    return zone.key if isinstance(zone, zoneinfo.ZoneInfo) else "UTC"


@functools.cache
def favicon(status):
    """A round favicon in the colour of ``status``, as a data: URI."""
    svg = ("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
           f"<circle cx='8' cy='8' r='7' fill='{FAVICON_COLOURS.get(status, '#57606a')}'/></svg>")
    return "data:image/svg+xml," + quote(svg, safe=":/='")


@functools.cache
def all_favicons():
    """Every status's favicon, for the script to swap as the overall status changes."""
    return {status: favicon(status) for status in FAVICON_COLOURS}


@functools.cache
def _load_inline(path):
    """A file embedded in the page as it is, and its CSP source expression."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if "</" in text:
        raise ValueError(f"{path} must not contain '</': it is embedded in an element of the page")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Markup(text), f"'sha256-{digest}'"


def _template_file(name):
    return os.path.join(current_app.root_path, current_app.template_folder, name)


def page_css():
    """The page's CSS and its CSP source expression, read and hashed once per process.

    The CSS is ours, not an operator's: it is marked safe so autoescaping cannot change a byte
    of it, since the browser checks those bytes against the hash in the CSP.
    """
    return _load_inline(_template_file(PAGE_CSS))


def live_script():
    """The page's one inline script (live updates) and its CSP source, once per process.

    Static, like the CSS: a hash rather than a nonce keeps the page cacheable.
    """
    return _load_inline(_template_file(LIVE_SCRIPT))


def branding_context(settings):
    """What the page's templates need of the branding settings, and the extra style's hash.

    Returns:
        (context, style hash or None): the accent's style element (None without an accent),
        the logo as a data: URI, the announcement as safe HTML, footer links and theme.
    """
    accent, accent_hash = branding.accent_css(settings.accent_color)
    logo = (branding.logo_data_uri(settings.logo, settings.logo_type)
            if settings.logo and settings.logo_type else None)
    return {
        "accent_css": accent,
        "logo": logo,
        "announcement": render_markdown(settings.announcement or ""),
        "footer_links": settings.footer_links or [],
        "theme": settings.theme if settings.theme in ("light", "dark") else "auto",
        "languages": LANGUAGE_NAMES,
    }, accent_hash


def style_sources(*hashes):
    """The CSP style-src of a page: the hashes of its style elements."""
    return " ".join(digest for digest in hashes if digest)


def content_security_policy(style_hash, script_hash):
    """The page's CSP: its own hashed style and script, data: images, requests to itself only.

    ``style_hash`` may name several sources (the static CSS and the accent's, style_sources).
    """
    return (f"default-src 'none'; script-src {script_hash}; style-src {style_hash}; "
            "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


def render_page(state):
    """The status page for ``state`` (see services.page.page_state), with its security headers."""
    css, style_hash = page_css()
    script, script_hash = live_script()
    # Already in the session's identity map (the state read it): no query of its own.
    brand, accent_hash = branding_context(get_settings())
    resolved_days = current_app.config["RESOLVED_INCIDENT_DAYS"]
    response = current_app.make_response(render_template(
        PAGE_TEMPLATE, state=state, page_css=css, live_js=script, labels=page_labels(),
        live_text=live_text(resolved_days), favicon=favicon(state["status"]),
        favicons=all_favicons(), current_locale=get_locale(), resolved_days=resolved_days,
        **brand))
    return with_html_headers(response, style_sources(style_hash, accent_hash), script_hash)


def with_html_headers(response, style_src, script_src="'none'"):
    """The headers every public HTML page carries: its CSP (its own hashed style and script
    only), the language it is in, and no sniffing, referrer or framing."""
    response.headers["Content-Security-Policy"] = content_security_policy(style_src, script_src)
    # The language comes from Accept-Language (or ?lang=): caches keep one copy per language.
    response.headers["Vary"] = "Accept-Language"
    response.headers["Content-Language"] = str(get_locale())
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


# HTML the app did not render itself (werkzeug's error pages: an unknown path, a body too
# large, a 500) has no style or script of ours, so it gets the strictest policy there is.
ERROR_PAGE_POLICY = ("default-src 'none'; base-uri 'none'; form-action 'none'; "
                     "frame-ancestors 'none'")


@bp.after_app_request
def guard_other_html(response):
    """Every HTML answer carries a CSP: the pages above set theirs, the rest get the strictest."""
    if response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = ERROR_PAGE_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def revalidated(response):
    """Tag ``response`` with a hash of its body and answer 304 when the client has it already."""
    response.add_etag()
    # no-cache: clients and proxies may keep the page but must revalidate it every time.
    response.cache_control.no_cache = True
    return response.make_conditional(request)
