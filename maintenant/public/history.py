"""GET /status/history (past incidents, one month of the page's zone at a time) and
/status/incidents/<id> (one incident's permanent page, with its postmortem).

Public incidents only (services.incidents.public_incidents): a draft's page is a 404 like an
unknown id. Both pages are cached per process like the page (public/cache.py: dropped by
events, answered with an ETag and 304), share its CSS and CSP (no script), and speak the
reader's language.
"""

import functools
import re
from datetime import date, datetime, time, timezone

from flask import current_app, g, render_template, request
from babel.dates import format_date
from flask_babel import get_locale, gettext
from sqlalchemy.orm import selectinload

from ..errors import NotFound
from ..extensions import db
from ..i18n import chosen_language
from ..markdown import render_markdown
from ..models import Component, Incident, utcnow
from ..services.incidents import public_incidents
from ..services.lookups import MAX_ID
from ..services.page import public_incident
from ..services.settings import get_settings
from ..services.uptime import format_percent, to_zone
from . import bp
from .cache import register, rendered
from .render import branding_context, page_css, style_sources, with_html_headers

HISTORY = "history"
INCIDENT = "incident"
MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
# The oldest month the history pages (a bound on how many months the cache can hold).
FIRST_YEAR = 2000


class BadMonth(Exception):
    """?month= is not a month (YYYY-MM)."""


# Template filters


@functools.lru_cache(maxsize=4096)
def _day_label(day, locale):
    return format_date(day, "d MMM yyyy", locale=locale)


@bp.app_template_filter("day_label")
def day_label(day):
    """A date as the page's readers write it: "27 Nov 2026", "27 nov. 2026"."""
    return _day_label(day, str(get_locale() or "en"))


@bp.app_template_filter("month_label")
def month_label(month):
    """A (year, month) as a heading: "November 2026", "novembre 2026"."""
    return format_date(date(*month, 1), "LLLL yyyy", locale=str(get_locale() or "en"))


@bp.app_template_filter("percent")
def percent(value):
    return format_percent(value)


def _bar_words():
    """The words of the bars in the request's language, looked up once per request (a page
    has thousands of bars; each lookup through Flask-Babel costs tens of microseconds)."""
    words = g.get("uptime_words")
    if words is None:
        words = g.uptime_words = (str(get_locale() or "en"), gettext("no data"),
                                  gettext("%(percent)s uptime"), gettext("Incidents:"))
    return words


@bp.app_template_filter("bar_text")
def bar_text(bar):
    """An uptime bar's words (its title and hidden text), as plain text for autoescaping:
    "27 Nov 2026: 99.95% uptime · Incidents: Database failover"."""
    locale, no_data, uptime, incidents = _bar_words()
    text = f"{_day_label(bar.date, locale)}: " + (
        no_data if bar.uptime_percent is None
        else uptime % {"percent": format_percent(bar.uptime_percent)})
    if bar.incidents:
        text += f" · {incidents} " + ", ".join(title for _, title in bar.incidents)
    return text


# State


def month_start(year, month, zone):
    return datetime.combine(date(year, month, 1), time(), tzinfo=zone).astimezone(timezone.utc)


def shift(month, by):
    index = month[0] * 12 + month[1] - 1 + by
    return index // 12, index % 12 + 1


def visible_names():
    return dict(db.session.execute(db.select(Component.id, Component.name)
                                   .where(Component.visible.is_(True))).all())


def history_state(now, _language, month):
    """The public incidents opened in ``month`` (year, month) of the page's zone, newest first.

    Raises:
        NotFound: a month after the current one, or before FIRST_YEAR.
    """
    settings = get_settings()
    zone = to_zone(settings.timezone)
    current = now.astimezone(zone)
    current = (current.year, current.month)
    if month > current or month[0] < FIRST_YEAR:
        raise NotFound("No history for that month.")
    start, end = (month_start(*month, zone), month_start(*shift(month, 1), zone))
    incidents = db.session.scalars(
        public_incidents().where(Incident.created_at >= start, Incident.created_at < end)
        .order_by(Incident.created_at.desc(), Incident.id.desc())
        .options(selectinload(Incident.updates), selectinload(Incident.components))).all()
    older = db.session.scalar(public_incidents().with_only_columns(Incident.id)
                              .where(Incident.created_at < start).limit(1))
    names = visible_names()
    return {
        "page": settings,
        "month": month,
        "previous": shift(month, -1) if older is not None and month[0] >= FIRST_YEAR else None,
        "next": shift(month, 1) if month < current else None,
        "incidents": [public_incident(incident, names) for incident in incidents],
    }


def incident_state(now, _language, incident_id):
    """One public incident with its timeline and postmortem.

    Raises:
        NotFound: no such public incident (unknown, deleted or a draft).
    """
    incident = db.session.scalar(
        public_incidents().where(Incident.id == incident_id)
        .options(selectinload(Incident.updates), selectinload(Incident.components)))
    if incident is None:
        raise NotFound("No such incident.")
    settings = get_settings()
    zone = to_zone(settings.timezone)
    local = incident.created_at.astimezone(zone)
    return {
        "page": settings,
        "incident": public_incident(incident, visible_names()),
        "postmortem": render_markdown(incident.postmortem or ""),
        "month": (local.year, local.month),
    }


# Responses


def html(template, status=200, **context):
    """A page in the status page's style and CSP (its CSS by hash; no script at all)."""
    css, style_hash = page_css()
    settings = context.setdefault("page", get_settings())
    brand, accent_hash = branding_context(settings)
    response = current_app.make_response((render_template(
        f"status/{template}", page_css=css, current_locale=get_locale(), **brand, **context),
        status))
    return with_html_headers(response, style_sources(style_hash, accent_hash))


def render_history(state):
    return html("history.html", **state)


def render_incident(state):
    return html("incident.html", **state)


register(HISTORY, render_history, load=history_state)
register(INCIDENT, render_incident, load=incident_state)


def problem(status, heading, message):
    response = html("missing.html", status, heading=heading, message=message)
    response.headers["Cache-Control"] = "no-cache"
    return response


def serve_cached(key, missing):
    """The cached page of ``key``; ``missing()`` (a 404 page) when its loader finds nothing."""
    try:
        entry = rendered(key)
    except NotFound:
        return missing()
    if entry.matches(request.headers.get("If-None-Match")):
        return entry.not_modified()
    return entry.response()


def no_such_incident():
    return problem(404, gettext("Not found"),
                   gettext("There is no incident with this number on this page."))


def no_such_month():
    return problem(404, gettext("Not found"),
                   gettext("This page has no history for that month."))


def parse_month(value, now):
    """``?month=YYYY-MM`` as (year, month); the current month of the page's zone when absent.

    Raises:
        BadMonth: anything else.
    """
    if value is None or value == "":
        local = now.astimezone(to_zone(get_settings().timezone))
        return local.year, local.month
    match = MONTH.fullmatch(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadMonth(value)
    return int(match.group(1)), int(match.group(2))


@bp.get("/history")
def history():
    try:
        month = parse_month(request.args.get("month"), utcnow())
    except BadMonth:
        return problem(400, gettext("Not a month"),
                       gettext("Ask for a month as YYYY-MM, for example 2026-11."))
    return serve_cached((HISTORY, chosen_language() or "default", month), no_such_month)


@bp.get("/incidents/<incident_id>")
def incident_page(incident_id):
    # Parsed here, not by an <int:> converter: a huge or odd id gets the page's own 404.
    if not (incident_id.isascii() and incident_id.isdigit() and len(incident_id) <= 10
            and 0 < int(incident_id) <= MAX_ID):
        return no_such_incident()
    return serve_cached((INCIDENT, chosen_language() or "default", int(incident_id)),
                        no_such_incident)
