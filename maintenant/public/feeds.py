"""GET /status/feed.atom and /status/feed.rss: incidents and maintenance as Atom 1.0 and RSS 2.0.

Built with ElementTree, which escapes every text and attribute; what it does not do is done
here: characters XML 1.0 cannot carry are dropped, and the RSS description (HTML by custom) is
HTML-escaped first, so a title like ``<script>`` is shown, never run. Both feeds are cached like
the page (maintenant.public.cache) and answered with an ETag.

Entries: the FEED_LIMIT most recently updated public incidents (drafts never), each with its
latest update as content, and the FEED_LIMIT latest maintenance windows by start (upcoming, in
progress, completed and cancelled, a cancelled one saying so), newest change first.
"""

import re
import zoneinfo
from datetime import datetime, timezone
from email.utils import format_datetime
from urllib.parse import urlsplit
from uuid import NAMESPACE_URL, uuid5
from xml.etree.ElementTree import Element, SubElement, tostring

from flask import current_app
from markupsafe import escape
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Incident, MaintenanceWindow
from ..services.components import list_components
from ..services.incidents import public_incidents
from ..services.settings import get_settings
from . import bp
from .cache import register
from .views import serve

FEED_ATOM = "feed.atom"
FEED_RSS = "feed.rss"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_NS = "http://www.w3.org/2005/Atom"
# A feed reader polls for what is new; older news is on the page and in its history.
FEED_LIMIT = 50
GENERATOR = "maintenant"
# An empty feed still needs an <updated>: a fixed one keeps its ETag stable.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# What XML 1.0 cannot carry at all, even escaped (section 2.2): dropped from operator text.
NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# A tag URI's authority is a DNS name (RFC 4151); another host (an IPv6 address) gets urn:uuid.
DNS_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")

STATUS_WORDS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "completed": "Completed",
    "cancelled": "Cancelled",
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def xml_text(value):
    """Operator text as XML can carry it."""
    return NOT_XML.sub("", value or "")


def entry_id(base_url, kind, object_id, created_at):
    """A stable entry id: tag:host,date-created:kind/id (RFC 4151), else a urn:uuid of the URL."""
    host = urlsplit(base_url).hostname or ""
    if DNS_NAME.fullmatch(host):
        return f"tag:{host},{created_at:%Y-%m-%d}:{kind}/{object_id}"
    return f"urn:uuid:{uuid5(NAMESPACE_URL, f'{base_url}/{kind}/{object_id}')}"


def rfc3339(moment):
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat() \
        .replace("+00:00", "Z")


def rfc822(moment):
    return format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)


def zone_of(name):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return timezone.utc


def shown_time(moment, zone):
    """A time in the page's zone, named: "27 Nov 2026, 14:03 CET" (locale-independent)."""
    local = moment.astimezone(zone)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M} {local.tzname()}"


def affected_line(components, names):
    affected = [names[c.id] for c in components if c.id in names]
    return "Affects: " + ", ".join(affected) if affected else ""


def incident_entry(incident, names, base_url):
    """An incident as a feed entry: its latest update is the content."""
    latest = incident.updates[0] if incident.updates else None
    parts = []
    if latest is not None:
        parts.append(f"{STATUS_WORDS.get(latest.status, latest.status)}: {latest.message}")
    parts.append(affected_line(incident.components, names))
    updated = max([incident.updated_at] + ([latest.created_at] if latest is not None else []))
    return {
        "id": entry_id(base_url, "incident", incident.id, incident.created_at),
        "kind": "incident",
        "title": incident.title,
        "link": f"{base_url}/status/incidents/{incident.id}",
        "published": incident.created_at,
        "updated": updated,
        "text": "\n\n".join(part for part in parts if part),
    }


def maintenance_updated(window, now):
    """When a window last changed: an edit, or (the clock) its start or its end."""
    moments = [window.updated_at]
    if not window.cancelled:
        moments += [moment for moment in (window.starts_at, window.ends_at) if moment <= now]
    return max(moments)


def maintenance_entry(window, names, zone, base_url, now):
    """A maintenance window as a feed entry; a cancelled one stays, saying so."""
    status = window.status_at(now)
    span = f"{shown_time(window.starts_at, zone)} to {shown_time(window.ends_at, zone)}"
    heading = (f"Cancelled (was planned {span})." if status == "cancelled"
               else f"{STATUS_WORDS[status]}: {span}.")
    parts = [heading, window.description, affected_line(window.components, names)]
    return {
        "id": entry_id(base_url, "maintenance", window.id, window.created_at),
        "kind": "maintenance",
        "title": f"Maintenance: {window.title}",
        "link": f"{base_url}/status/#maintenance-{window.id}",
        "published": window.created_at,
        "updated": maintenance_updated(window, now),
        "text": "\n\n".join(part for part in parts if part),
    }


def feed_state(now):
    """What both feeds show, in a fixed number of queries."""
    settings = get_settings()
    base_url = current_app.config["BASE_URL"]
    names = {c.id: c.name for c in list_components() if c.visible}
    incidents = db.session.scalars(
        public_incidents().order_by(Incident.updated_at.desc(), Incident.id.desc())
        .limit(FEED_LIMIT)
        .options(selectinload(Incident.updates), selectinload(Incident.components))
    ).all()
    windows = db.session.scalars(
        db.select(MaintenanceWindow)
        .order_by(MaintenanceWindow.starts_at.desc(), MaintenanceWindow.id.desc())
        .limit(FEED_LIMIT).options(selectinload(MaintenanceWindow.components))
    ).all()
    zone = zone_of(settings.timezone)
    entries = [incident_entry(incident, names, base_url) for incident in incidents]
    entries += [maintenance_entry(window, names, zone, base_url, now) for window in windows]
    entries.sort(key=lambda entry: (entry["updated"], entry["id"]), reverse=True)
    moments = [entry["updated"] for entry in entries]
    if settings.updated_at is not None:
        moments.append(settings.updated_at)
    return {
        "title": settings.title,
        "description": settings.description or f"Incidents and maintenance of {settings.title}",
        "base_url": base_url,
        "updated": max(moments, default=EPOCH),
        "entries": entries,
    }


def text_element(parent, tag, text, **attributes):
    element = SubElement(parent, tag, attributes)
    element.text = xml_text(text)
    return element


def atom_document(state):
    """The Atom 1.0 feed (RFC 4287), as bytes."""
    base_url = state["base_url"]
    feed = Element("feed", {"xmlns": ATOM_NS})
    text_element(feed, "id", f"{base_url}/status/feed.atom")
    text_element(feed, "title", state["title"], type="text")
    text_element(feed, "subtitle", state["description"], type="text")
    text_element(feed, "updated", rfc3339(state["updated"]))
    SubElement(feed, "link", rel="alternate", type="text/html", href=f"{base_url}/status/")
    SubElement(feed, "link", rel="self", type="application/atom+xml",
               href=f"{base_url}/status/feed.atom")
    text_element(SubElement(feed, "author"), "name", state["title"])
    text_element(feed, "generator", GENERATOR)
    for item in state["entries"]:
        entry = SubElement(feed, "entry")
        text_element(entry, "id", item["id"])
        text_element(entry, "title", item["title"], type="text")
        text_element(entry, "updated", rfc3339(item["updated"]))
        text_element(entry, "published", rfc3339(item["published"]))
        SubElement(entry, "link", rel="alternate", type="text/html", href=item["link"])
        SubElement(entry, "category", term=item["kind"])
        text_element(entry, "content", item["text"], type="text")
    return tostring(feed, encoding="utf-8", xml_declaration=True)


def html_paragraphs(text):
    """Plain text as HTML that shows it as written (RSS descriptions are read as HTML)."""
    return "".join("<p>" + "<br>".join(escape(line) for line in part.split("\n")) + "</p>"
                   for part in text.split("\n\n") if part)


def rss_document(state):
    """The RSS 2.0 feed, as bytes."""
    base_url = state["base_url"]
    rss = Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS})
    channel = SubElement(rss, "channel")
    text_element(channel, "title", state["title"])
    text_element(channel, "link", f"{base_url}/status/")
    # Read as HTML like the items' descriptions: an operator's "<b>" is shown, never applied.
    text_element(channel, "description", html_paragraphs(xml_text(state["description"])))
    SubElement(channel, "atom:link", rel="self", type="application/rss+xml",
               href=f"{base_url}/status/feed.rss")
    text_element(channel, "lastBuildDate", rfc822(state["updated"]))
    text_element(channel, "generator", GENERATOR)
    for entry in state["entries"]:
        item = SubElement(channel, "item")
        text_element(item, "title", entry["title"])
        text_element(item, "link", entry["link"])
        text_element(item, "guid", entry["id"], isPermaLink="false")
        # When it last changed: readers list by it; the guid keeps one item per incident.
        text_element(item, "pubDate", rfc822(entry["updated"]))
        text_element(item, "category", entry["kind"])
        text_element(item, "description", html_paragraphs(xml_text(entry["text"])))
    return tostring(rss, encoding="utf-8", xml_declaration=True)


def feed_response(body, content_type):
    response = current_app.response_class(body, content_type=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def render_atom(state):
    return feed_response(atom_document(state), ATOM_TYPE)


def render_rss(state):
    return feed_response(rss_document(state), RSS_TYPE)


register(FEED_ATOM, render_atom, load=feed_state)
register(FEED_RSS, render_rss, load=feed_state)


@bp.get("/feed.atom")
def atom_feed():
    return serve(FEED_ATOM)


@bp.get("/feed.rss")
def rss_feed():
    return serve(FEED_RSS)
