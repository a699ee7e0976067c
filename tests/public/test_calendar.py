"""GET /status/maintenance.ics: the maintenance calendar, read by a real iCalendar parser."""

from datetime import timedelta

import icalendar
import pytest

from maintenant.extensions import db
from maintenant.public.calendar import escape_text, fold
from maintenant.services.maintenance import cancel_maintenance, change_maintenance

from factories import make_component, make_maintenance

HOUR = timedelta(hours=1)


def feed(client, **headers):
    response = client.get("/status/maintenance.ics", headers=headers)
    assert response.status_code in (200, 304)
    return response


def events(client):
    calendar = icalendar.Calendar.from_ical(feed(client).data)
    return calendar, {int(str(e["UID"]).split("@")[0].split("-")[1]): e
                      for e in calendar.walk("VEVENT")}


def test_the_feed_lists_upcoming_and_in_progress_windows(client):
    api = make_component("API")
    later = make_maintenance("Database upgrade", [api], starts_in=2 * HOUR, lasts=HOUR,
                             description="Writes pause for a minute.")
    running = make_maintenance("Cache flush", [api], starts_in=-HOUR, lasts=2 * HOUR)
    make_maintenance("Done", [api], starts_in=-3 * HOUR)
    cancelled = make_maintenance("Called off", [api], starts_in=HOUR)
    cancel_maintenance(cancelled)

    calendar, by_id = events(client)

    assert (str(calendar["VERSION"]), str(calendar["PRODID"])) == (
        "2.0", "-//maintenant//Maintenance calendar//EN")
    assert sorted(by_id) == sorted([later.id, running.id])
    event = by_id[later.id]
    assert str(event["UID"]) == f"maintenance-{later.id}@status.test"
    assert event.decoded("DTSTART") == later.starts_at.replace(microsecond=0)
    assert event.decoded("DTEND") == later.ends_at.replace(microsecond=0)
    assert str(event["SUMMARY"]) == "Database upgrade"
    assert str(event["DESCRIPTION"]) == "Writes pause for a minute.\n\nAffects: API"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["URL"]) == f"http://status.test/status/#maintenance-{later.id}"
    assert event.decoded("DTSTAMP").tzinfo is not None
    assert int(event["SEQUENCE"]) == 0


def test_the_feed_is_calendar_text_with_crlf_lines(client):
    make_maintenance("Upgrade", starts_in=HOUR)
    response = feed(client)
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.data
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    for line in body.split(b"\r\n"):
        assert len(line) <= 75
    assert b"DTSTART:" in body and b"Z\r\n" in body


def test_operator_text_is_escaped_and_long_lines_are_folded(client):
    title = 'Upgrade; part 1, "db" \\ <script>alert(1)</script> ' + "é" * 80
    description = "Line one\r\nLine two; with, punctuation\\\nThird\x07 line"
    hidden = make_component("Secret backend", visible=False)
    shown = make_component("Web, mobile; API")
    window = make_maintenance(title, [hidden, shown], description=description)

    body = feed(client).data
    for line in body.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")  # folding never cuts a character in two
    event = events(client)[1][window.id]

    assert str(event["SUMMARY"]) == title
    assert str(event["DESCRIPTION"]) == (
        "Line one\nLine two; with, punctuation\\\nThird line\n\nAffects: Web, mobile; API")
    assert b"Secret backend" not in body


def test_an_edit_raises_the_sequence(client):
    window = make_maintenance("Upgrade", starts_in=HOUR)
    change_maintenance(window, {"title": "Moved"})
    # The sequence counts seconds since creation, so every later edit has a higher one.
    window.updated_at = window.created_at + timedelta(seconds=90)
    db.session.commit()

    event = events(client)[1][window.id]
    assert (str(event["SUMMARY"]), int(event["SEQUENCE"])) == ("Moved", 90)


def test_the_feed_answers_304_to_its_etag(client):
    make_maintenance("Upgrade", starts_in=HOUR)
    first = feed(client)
    etag = first.headers["ETag"]

    again = feed(client, **{"If-None-Match": etag})
    assert again.status_code == 304

    make_maintenance("Another", starts_in=2 * HOUR)
    changed = feed(client, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_an_empty_feed_is_a_valid_calendar(client):
    calendar = icalendar.Calendar.from_ical(feed(client).data)
    assert calendar.walk("VEVENT") == []


def test_the_page_links_to_the_feed(client):
    assert b'href="/status/maintenance.ics"' in client.get("/status/").data


@pytest.mark.parametrize("text, escaped", [
    ("a,b;c\\d", "a\\,b\\;c\\\\d"),
    ("one\r\ntwo\rthree\nfour", "one\\ntwo\\nthree\\nfour"),
    ("bell\x07tab\t", "belltab\t"),
])
def test_escape_text(text, escaped):
    assert escape_text(text) == escaped


def test_fold_cuts_at_75_octets_between_characters():
    line = "SUMMARY:" + "€" * 40  # 8 + 120 octets
    folded = fold(line)
    parts = folded[:-2].split(b"\r\n")
    assert all(len(part) <= 75 for part in parts)
    assert all(part.startswith(b" ") for part in parts[1:])
    assert b"".join(part[1:] if i else part for i, part in enumerate(parts)).decode() == line
