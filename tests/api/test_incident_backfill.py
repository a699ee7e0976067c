"""Backfilled incidents (created_at in the past) and postmortems through /api/v1."""

from datetime import datetime, timedelta

from maintenant.extensions import db
from maintenant.models import OutboxEvent

from .helpers import assert_error, created, from_now, iso, new_component, ok


def created_event(incident_id):
    events = db.session.scalars(db.select(OutboxEvent).where(
        OutboxEvent.type == "incident_created").order_by(OutboxEvent.id.desc())).all()
    return next(event for event in events if event.payload["id"] == incident_id)


def test_a_past_created_at_backfills_the_incident_and_its_first_update(api, client):
    component = new_component(api)
    began = from_now(days=-40)
    incident = created(api.post("/status/incidents", json={
        "title": "Old outage", "severity": "critical", "status": "resolved",
        "message": "It was down for an hour.", "components": [component["id"]],
        "created_at": iso(began), "resolved_at": iso(began + timedelta(hours=1))}))
    assert datetime.fromisoformat(incident["created_at"]) == began
    assert datetime.fromisoformat(incident["updates"][0]["created_at"]) == began
    assert incident["status"] == "resolved"
    assert datetime.fromisoformat(incident["resolved_at"]) == began + timedelta(hours=1)
    # News of the past: recorded (pages learn of it), nobody is mailed.
    event = created_event(incident["id"])
    assert event.payload["id"] == incident["id"] and event.notify is False
    # It shows in its own month of the history, not this one.
    month = f"{began.year:04d}-{began.month:02d}"
    page = client.get(f"/status/history?month={month}").get_data(as_text=True)
    assert "Old outage" in page
    if (began.year, began.month) != (from_now().year, from_now().month):
        assert "Old outage" not in client.get("/status/history").get_data(as_text=True)
    assert client.get(f"/status/incidents/{incident['id']}").status_code == 200


def test_a_backfilled_resolved_incident_without_an_end_lasts_no_time(api):
    began = from_now(days=-3)
    incident = created(api.post("/status/incidents", json={
        "title": "Blip", "severity": "minor", "status": "resolved", "message": "Gone.",
        "created_at": iso(began)}))
    assert incident["resolved_at"] == incident["created_at"]


def test_a_backfilled_open_incident_is_news_and_mails_by_default(api):
    incident = created(api.post("/status/incidents", json={
        "title": "Since this morning", "severity": "major", "message": "Looking.",
        "created_at": iso(from_now(hours=-3))}))
    assert incident["resolved_at"] is None
    assert created_event(incident["id"]).notify is True


def test_notify_can_be_asked_for_a_backfill(api):
    incident = created(api.post("/status/incidents", json={
        "title": "Tell them", "severity": "major", "status": "resolved", "message": "Over.",
        "created_at": iso(from_now(days=-1)), "notify": True}))
    assert created_event(incident["id"]).notify is True


def test_a_future_created_at_is_a_422(api):
    response = api.post("/status/incidents", json={
        "title": "Later", "severity": "minor", "message": "m",
        "created_at": iso(from_now(hours=1))})
    assert_error(response, 422, "created_at")


def test_resolved_at_rules(api):
    base = {"title": "T", "severity": "minor", "message": "m"}
    began = from_now(days=-2)
    for body, field in [
        ({"status": "resolved", "created_at": iso(began), "resolved_at": iso(from_now(hours=1))},
         "resolved_at"),
        ({"status": "resolved", "created_at": iso(began),
          "resolved_at": iso(from_now(days=-3))}, "resolved_at"),
        ({"status": "investigating", "created_at": iso(began),
          "resolved_at": iso(from_now(days=-1))}, "resolved_at"),
        ({"status": "resolved", "resolved_at": iso(from_now(days=-1))}, "resolved_at"),
        ({"created_at": "2026-01-01T00:00:00"}, "created_at"),
        ({"created_at": "yesterday"}, "created_at"),
    ]:
        assert_error(api.post("/status/incidents", json={**base, **body}), 422, field)


def test_postmortem_on_create_and_put_and_in_the_response(api, client):
    incident = created(api.post("/status/incidents", json={
        "title": "T", "severity": "minor", "message": "m", "postmortem": "# First"}))
    assert incident["postmortem"] == "# First"
    changed = ok(api.put(f"/status/incidents/{incident['id']}",
                         json={"postmortem": "**Root cause**: <script>x</script>"}))
    assert changed["postmortem"] == "**Root cause**: <script>x</script>"
    page = client.get(f"/status/incidents/{incident['id']}").get_data(as_text=True)
    assert "<strong>Root cause</strong>: &lt;script&gt;x&lt;/script&gt;" in page
    assert ok(api.get(f"/status/incidents/{incident['id']}"))["postmortem"].startswith("**")
    plain = created(api.post("/status/incidents", json={
        "title": "T2", "severity": "minor", "message": "m"}))
    assert plain["postmortem"] == ""


def test_postmortem_is_length_capped(api):
    response = api.post("/status/incidents", json={
        "title": "T", "severity": "minor", "message": "m", "postmortem": "x" * 50_001})
    assert_error(response, 422, "postmortem")
    incident = created(api.post("/status/incidents", json={
        "title": "T", "severity": "minor", "message": "m"}))
    assert_error(api.put(f"/status/incidents/{incident['id']}", json={"postmortem": 5}), 422,
                 "postmortem")
