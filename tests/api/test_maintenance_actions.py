"""/api/v1/status/maintenance/{id}/complete and /cancel, and recurring windows."""

from datetime import datetime, timedelta

import pytest

from maintenant.extensions import db
from maintenant.models import OutboxEvent

from .helpers import (assert_error, from_now, ids, iso, new_component, new_window, ok,
                      status_of)


def complete(api, window):
    return api.post(f"/status/maintenance/{window['id']}/complete")


def cancel(api, window):
    return api.post(f"/status/maintenance/{window['id']}/cancel")


def event_kinds():
    return db.session.scalars(db.select(OutboxEvent.type).order_by(OutboxEvent.id)).all()


def weekly(api, **fields):
    return new_window(api, "Weekly restart", recurrence={"frequency": "weekly"}, **fields)


# Complete


def test_complete_ends_a_window_in_progress_now(api):
    component = new_component(api)
    window = new_window(api, starts=timedelta(minutes=-10), components=[component])
    assert status_of(api, component) == "maintenance"

    completed = ok(complete(api, window))

    assert completed["status"] == "completed"
    assert from_now(seconds=-5) <= datetime.fromisoformat(completed["ends_at"]) <= from_now(
        seconds=1)
    assert completed["starts_at"] == window["starts_at"]
    assert status_of(api, component) == "operational"
    assert ok(api.get(f"/status/maintenance/{window['id']}")) == completed
    assert event_kinds()[-1] == "maintenance_ended"


@pytest.mark.parametrize("starts, cancelled, status", [
    (timedelta(hours=1), False, "scheduled"),
    (timedelta(hours=-3), False, "completed"),
    (timedelta(hours=1), True, "cancelled"),
])
def test_complete_is_409_unless_in_progress(api, starts, cancelled, status):
    window = new_window(api, starts=starts, cancelled=cancelled)
    error = assert_error(complete(api, window), 409)
    assert error["code"] == "conflict" and status in error["message"]
    assert ok(api.get(f"/status/maintenance/{window['id']}")) == window


# Cancel


def test_cancel_cancels_a_window_that_has_not_started(api):
    component = new_component(api)
    window = new_window(api, starts=timedelta(hours=1), components=[component])

    cancelled = ok(cancel(api, window))

    assert (cancelled["cancelled"], cancelled["status"]) == (True, "cancelled")
    assert ids(ok(api.get("/status/maintenance?status=cancelled"))["items"]) == [window["id"]]
    assert status_of(api, component) == "operational"


@pytest.mark.parametrize("starts, cancelled", [
    (timedelta(minutes=-10), False), (timedelta(hours=-3), False), (timedelta(hours=1), True)])
def test_cancel_is_409_once_started_or_already_cancelled(api, starts, cancelled):
    window = new_window(api, starts=starts, cancelled=cancelled)
    error = assert_error(cancel(api, window), 409)
    assert error["code"] == "conflict"
    assert ok(api.get(f"/status/maintenance/{window['id']}")) == window


@pytest.mark.parametrize("action", ["complete", "cancel"])
def test_actions_on_an_unknown_window_are_404(api, action):
    assert_error(api.post(f"/status/maintenance/12345/{action}"), 404)


@pytest.mark.parametrize("action", ["complete", "cancel"])
def test_actions_need_a_write_token(api, read_api, action):
    window = new_window(api, starts=timedelta(minutes=-10) if action == "complete"
                        else timedelta(hours=1))
    assert_error(read_api.post(f"/status/maintenance/{window['id']}/{action}"), 403)
    assert_error(api.client.post(f"/api/v1/status/maintenance/{window['id']}/{action}"), 401)


def test_actions_ignore_a_body(api):
    window = new_window(api, starts=timedelta(hours=1))
    assert ok(api.post(f"/status/maintenance/{window['id']}/cancel", json={"x": 1}))["cancelled"]


# Recurrence


def test_a_one_off_window_has_no_recurrence(api):
    window = new_window(api)
    assert (window["recurrence"], window["series_id"]) == (None, None)


def test_recurrence_is_stored_and_returned(api):
    until = from_now(days=90)
    window = new_window(api, recurrence={"frequency": "monthly", "interval": 2,
                                         "until": iso(until)})
    assert window["recurrence"] == {"frequency": "monthly", "interval": 2,
                                    "until": until.isoformat()}
    assert ok(api.get(f"/status/maintenance/{window['id']}"))["recurrence"] == window["recurrence"]


def test_recurrence_interval_and_until_have_defaults(api):
    assert weekly(api)["recurrence"] == {"frequency": "weekly", "interval": 1, "until": None}


@pytest.mark.parametrize("recurrence", [
    {"frequency": "yearly"},
    {"frequency": "WEEKLY"},
    {"frequency": None},
    {"interval": 2},
    {"frequency": "weekly", "interval": 0},
    {"frequency": "weekly", "interval": -1},
    {"frequency": "weekly", "interval": "2"},
    {"frequency": "weekly", "interval": 1.5},
    {"frequency": "weekly", "interval": 1001},
    {"frequency": "weekly", "until": "2030-01-01T00:00:00"},
    {"frequency": "weekly", "until": "someday"},
    {"frequency": "weekly", "every": 2},
    "weekly",
    ["weekly"],
])
def test_invalid_recurrences_are_422(api, recurrence):
    assert_error(api.post("/status/maintenance", json={
        "title": "Upgrade", "starts_at": iso(from_now(days=1)),
        "ends_at": iso(from_now(days=1, hours=1)), "components": [],
        "recurrence": recurrence}), 422, "recurrence")
    assert ok(api.get("/status/maintenance"))["total"] == 0


def test_until_before_the_start_is_422(api):
    error = assert_error(api.post("/status/maintenance", json={
        "title": "Upgrade", "starts_at": iso(from_now(days=2)),
        "ends_at": iso(from_now(days=2, hours=1)), "components": [],
        "recurrence": {"frequency": "weekly", "until": iso(from_now(days=1))}}), 422,
        "recurrence")
    assert "until" in error["fields"]["recurrence"]


def test_a_window_longer_than_its_period_is_422(api):
    error = assert_error(api.post("/status/maintenance", json={
        "title": "Upgrade", "starts_at": iso(from_now(days=1)),
        "ends_at": iso(from_now(days=2, hours=1)), "components": [],
        "recurrence": {"frequency": "daily"}}), 422, "recurrence")
    assert "interval" in error["fields"]["recurrence"]


def test_a_put_that_moves_the_start_past_until_is_422(api):
    window = new_window(api, starts=timedelta(days=1),
                        recurrence={"frequency": "weekly", "until": iso(from_now(days=2))})
    response = api.put(f"/status/maintenance/{window['id']}", json={
        "starts_at": iso(from_now(days=3)), "ends_at": iso(from_now(days=3, hours=1))})
    assert_error(response, 422, "recurrence")


def test_a_put_replaces_the_recurrence_as_a_whole(api):
    window = new_window(api, recurrence={"frequency": "monthly", "interval": 3})
    changed = ok(api.put(f"/status/maintenance/{window['id']}",
                         json={"recurrence": {"frequency": "weekly"}}))
    assert changed["recurrence"] == {"frequency": "weekly", "interval": 1, "until": None}
    assert_error(api.put(f"/status/maintenance/{window['id']}",
                         json={"recurrence": {"interval": 2}}), 422, "recurrence")


def test_an_occurrence_that_starts_schedules_the_next(api):
    first = weekly(api, starts=timedelta(minutes=-10))  # in progress: acted on at once
    listing = ok(api.get("/status/maintenance"))["items"]
    assert len(listing) == 2
    second = listing[1]
    assert second["series_id"] == first["id"]
    assert datetime.fromisoformat(second["starts_at"]) == (
        datetime.fromisoformat(first["starts_at"]) + timedelta(days=7))
    assert (second["status"], second["recurrence"]) == ("scheduled", first["recurrence"])


def test_recurrence_null_on_the_upcoming_occurrence_stops_the_series(api):
    weekly(api, starts=timedelta(minutes=-10))
    upcoming = ok(api.get("/status/maintenance?status=scheduled"))["items"][0]
    stopped = ok(api.put(f"/status/maintenance/{upcoming['id']}", json={"recurrence": None}))
    assert stopped["recurrence"] is None


def test_the_recurrence_of_a_window_in_progress_is_409(api):
    window = weekly(api, starts=timedelta(minutes=-10))
    response = api.put(f"/status/maintenance/{window['id']}", json={"recurrence": None})
    assert_error(response, 409, "recurrence")
    # Sending it back unchanged is fine.
    assert ok(api.put(f"/status/maintenance/{window['id']}",
                      json={"recurrence": window["recurrence"], "title": "Renamed"}))


def test_cancelling_an_occurrence_skips_it_and_keeps_the_series(api):
    first = weekly(api, starts=timedelta(hours=1))
    ok(cancel(api, first))
    upcoming = ok(api.get("/status/maintenance?status=scheduled"))["items"]
    assert [w["series_id"] for w in upcoming] == [first["id"]]


def test_openapi_documents_the_actions_and_recurrence(api, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for action in ("complete", "cancel"):
        assert "post" in spec["paths"][f"/status/maintenance/{{maintenance_id}}/{action}"]
    schemas = spec["components"]["schemas"]
    assert "recurrence" in schemas["MaintenanceOut"]["properties"]
    assert "recurrence" in schemas["MaintenanceIn"]["properties"]
