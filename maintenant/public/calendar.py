"""GET /status/maintenance.ics: upcoming and in-progress maintenance as an iCalendar feed.

Written by hand (RFC 5545): the feed is a few properties per window, and what matters is
done here in one place: TEXT escaping, CRLF line ends and folding at 75 octets.
"""

import re
from datetime import timezone
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import MaintenanceWindow, utcnow
from ..services.components import list_components
from ..services.settings import get_settings
from . import bp
from .render import revalidated

PRODID = "-//maintenant//Maintenance calendar//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# A calendar client shows what is ahead; a page with more windows planned than this is rare.
FEED_LIMIT = 500
LINE_OCTETS = 75
# Control characters are not allowed in TEXT (RFC 5545 3.3.11); newlines are escaped instead.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_text(value):
    """A TEXT value: backslash, semicolon and comma escaped, newlines as ``\\n``."""
    value = CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def fold(line):
    """One content line folded at 75 octets (never inside a UTF-8 character), CRLF ended."""
    data = line.encode("utf-8")
    parts, start, limit = [], 0, LINE_OCTETS
    while len(data) - start > limit:
        end = start + limit
        while data[end] & 0xC0 == 0x80:  # a continuation byte: cut before its character
            end -= 1
        parts.append(data[start:end])
        start, limit = end, LINE_OCTETS - 1  # a folded line starts with a space
    parts.append(data[start:])
    return b"\r\n ".join(parts) + b"\r\n"


def utc_stamp(moment):
    """A DATE-TIME in UTC, the form every client reads: 20300115T220000Z."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def host_of(base_url):
    return urlsplit(base_url).hostname or "maintenant"


def description_of(window, names):
    affected = [names[c.id] for c in window.components if c.id in names]
    text = window.description or ""
    if affected:
        text = (text + "\n\n" if text else "") + "Affects: " + ", ".join(affected)
    return text


def vevent(window, names, base_url):
    """The content lines of one window."""
    host = host_of(base_url)
    revision = int((window.updated_at - window.created_at).total_seconds())
    lines = [
        "BEGIN:VEVENT",
        f"UID:maintenance-{window.id}@{host}",
        # No METHOD in the feed, so DTSTAMP is when the window was last revised: the feed's
        # bytes (and its ETag) stay the same until something changes.
        f"DTSTAMP:{utc_stamp(window.updated_at)}",
        f"CREATED:{utc_stamp(window.created_at)}",
        f"LAST-MODIFIED:{utc_stamp(window.updated_at)}",
        f"SEQUENCE:{max(revision, 0)}",
        f"DTSTART:{utc_stamp(window.starts_at)}",
        f"DTEND:{utc_stamp(window.ends_at)}",
        f"SUMMARY:{escape_text(window.title)}",
    ]
    description = description_of(window, names)
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    lines += [
        f"STATUS:{'CANCELLED' if window.cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        f"URL:{base_url}/status/#maintenance-{window.id}",
        "END:VEVENT",
    ]
    return lines


def calendar_feed(windows, names, title, base_url):
    """The whole feed, as bytes."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{escape_text(title + ' maintenance')}"]
    for window in windows:
        lines += vevent(window, names, base_url)
    lines.append("END:VCALENDAR")
    return b"".join(fold(line) for line in lines)


def upcoming_windows(now):
    """Windows not cancelled that have not ended, soonest first."""
    window = MaintenanceWindow
    return db.session.scalars(
        db.select(window).where(window.cancelled.is_(False), window.ends_at > now)
        .order_by(window.starts_at, window.id).limit(FEED_LIMIT)
        .options(selectinload(window.components))
    ).all()


@bp.get("/maintenance.ics")
def maintenance_calendar():
    names = {c.id: c.name for c in list_components() if c.visible}
    body = calendar_feed(upcoming_windows(utcnow()), names, get_settings().title,
                         current_app.config["BASE_URL"])
    response = current_app.response_class(body, content_type=CONTENT_TYPE)
    response.headers["Content-Disposition"] = 'inline; filename="maintenance.ics"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return revalidated(response)
