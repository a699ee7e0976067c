"""/api/v1/status/maintenance"""

from datetime import datetime, timedelta

import pytest

from .helpers import (assert_error, created, from_now, ids, iso, new_component, new_window, ok,
                      pick, status_of)


def get_window(api, window):
    return ok(api.get(f"/status/maintenance/{window['id']}"))


def change(api, window, **body):
    return api.put(f"/status/maintenance/{window['id']}", json=body)


def body(**fields):
    starts_at = from_now(days=1)
    return {"title": "Upgrade", "starts_at": iso(starts_at),
            "ends_at": iso(starts_at + timedelta(hours=1)), "components": [], **fields}


def test_create_answers_201_with_the_window(api):
    component = new_component(api)
    starts_at = from_now(days=2)
    window = created(api.post("/status/maintenance", json={
        "title": "Database upgrade", "description": "Writes pause for a minute.",
        "starts_at": iso(starts_at), "ends_at": iso(starts_at + timedelta(hours=1)),
        "components": [component["id"]]}))
    assert pick(window, "title", "description", "components", "status", "cancelled") == {
        "title": "Database upgrade", "description": "Writes pause for a minute.",
        "components": [component["id"]], "status": "scheduled", "cancelled": False}
    assert datetime.fromisoformat(window["starts_at"]) == starts_at
    assert datetime.fromisoformat(window["ends_at"]) == starts_at + timedelta(hours=1)
    assert get_window(api, window) == window


def test_times_come_back_in_utc_whatever_offset_they_were_sent_with(api):
    window = created(api.post("/status/maintenance", json=body(
        starts_at="2030-06-01T10:00:00+02:00", ends_at="2030-06-01T11:30:00-05:00")))
    assert window["starts_at"] == "2030-06-01T08:00:00+00:00"
    assert window["ends_at"] == "2030-06-01T16:30:00+00:00"
    assert get_window(api, window)["starts_at"] == "2030-06-01T08:00:00+00:00"


def test_z_means_utc(api):
    window = created(api.post("/status/maintenance", json=body(
        starts_at="2030-06-01T10:00:00Z", ends_at="2030-06-01T11:00:00Z")))
    assert window["starts_at"] == "2030-06-01T10:00:00+00:00"


@pytest.mark.parametrize("fields, field", [
    ({"starts_at": "2030-06-01T10:00:00"}, "starts_at"),
    ({"ends_at": "2030-06-01 11:00:00"}, "ends_at"),
    ({"starts_at": "2030-06-01"}, "starts_at"),
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"starts_at": 1900000000}, "starts_at"),
    ({"starts_at": None}, "starts_at"),
    ({"starts_at": "0001-01-01T00:00:00+01:00"}, "starts_at"),
    ({"ends_at": "9999-12-31T23:59:59-01:00"}, "ends_at"),
    ({"starts_at": "2030-06-01T12:00:00Z", "ends_at": "2030-06-01T11:00:00Z"}, "ends_at"),
    ({"starts_at": "2030-06-01T12:00:00+02:00", "ends_at": "2030-06-01T10:00:00Z"}, "ends_at"),
    ({"title": ""}, "title"),
    ({"title": "x" * 301}, "title"),
    ({"components": [12345]}, "components"),
    ({"components": None}, "components"),
    ({"components": [1, 1]}, "components"),
    ({"cancelled": "no"}, "cancelled"),
    ({"status": "completed"}, "status"),
])
def test_invalid_bodies_are_422_naming_the_field(api, fields, field):
    new_component(api)
    assert_error(api.post("/status/maintenance", json=body(**fields)), 422, field)
    assert ok(api.get("/status/maintenance"))["total"] == 0


@pytest.mark.parametrize("missing", ["title", "starts_at", "ends_at", "components"])
def test_required_fields(api, missing):
    incomplete = body()
    del incomplete[missing]
    assert_error(api.post("/status/maintenance", json=incomplete), 422, missing)


def windows_in_every_state(api):
    return {
        "completed": new_window(api, "Done", starts=timedelta(days=-1)),
        "in_progress": new_window(api, "Now", starts=timedelta(minutes=-10)),
        "scheduled": new_window(api, "Later", starts=timedelta(days=1)),
        "cancelled": new_window(api, "Off", starts=timedelta(days=2), cancelled=True),
    }


def test_a_window_with_past_times_is_accepted_and_takes_its_status(api):
    windows = windows_in_every_state(api)
    assert {status: w["status"] for status, w in windows.items()} == {
        status: status for status in windows}


@pytest.mark.parametrize("status", ["scheduled", "in_progress", "completed", "cancelled"])
def test_list_filters_by_status(api, status):
    windows = windows_in_every_state(api)
    listing = ok(api.get(f"/status/maintenance?status={status}"))
    assert (ids(listing["items"]), listing["total"]) == ([windows[status]["id"]], 1)


def test_list_is_by_start_time_and_pages(api):
    later = new_window(api, "Later", starts=timedelta(days=3))
    sooner = new_window(api, "Sooner", starts=timedelta(days=1))
    earlier = new_window(api, "Earlier", starts=timedelta(days=-3))
    listing = ok(api.get("/status/maintenance"))
    assert (ids(listing["items"]), listing["total"]) == (ids([earlier, sooner, later]), 3)
    page = ok(api.get("/status/maintenance?limit=1&offset=1"))
    assert (ids(page["items"]), page["total"]) == ([sooner["id"]], 3)


@pytest.mark.parametrize("status", ["active", "IN_PROGRESS", "done"])
def test_list_refuses_unknown_statuses(api, status):
    assert_error(api.get(f"/status/maintenance?status={status}"), 422, "status")


def test_a_scheduled_window_can_change_anything(api):
    first, second = new_component(api, "API"), new_component(api, "Web")
    window = new_window(api, components=[first])
    starts_at = from_now(days=5)
    changed = ok(change(api, window, title="Moved", description="Now later.",
                        starts_at=iso(starts_at), ends_at=iso(starts_at + timedelta(hours=2)),
                        components=[second["id"]]))
    assert (changed["title"], changed["description"], changed["components"]) == (
        "Moved", "Now later.", [second["id"]])
    assert datetime.fromisoformat(changed["starts_at"]) == starts_at
    assert get_window(api, window) == changed


def test_put_is_partial(api):
    window = new_window(api, description="Keep me")
    changed = ok(change(api, window, title="Renamed"))
    assert changed == {**window, "title": "Renamed", "updated_at": changed["updated_at"]}


def test_a_put_that_ends_before_the_start_is_422(api):
    window = new_window(api, starts=timedelta(days=1))
    assert_error(change(api, window, ends_at=iso(from_now(hours=1))), 422, "ends_at")
    assert_error(change(api, window, starts_at=iso(from_now(days=3))), 422, "starts_at")
    assert get_window(api, window) == window


def test_a_window_in_progress_puts_its_components_in_maintenance(api):
    inside, outside = new_component(api, "API"), new_component(api, "Web")
    new_window(api, starts=timedelta(minutes=-5), components=[inside])
    assert (status_of(api, inside), status_of(api, outside)) == ("maintenance", "operational")


def test_a_window_in_progress_may_move_its_end(api):
    window = new_window(api, starts=timedelta(minutes=-10))
    new_end = from_now(hours=3)
    changed = ok(change(api, window, ends_at=iso(new_end)))
    assert datetime.fromisoformat(changed["ends_at"]) == new_end
    assert changed["status"] == "in_progress"


def test_a_window_in_progress_accepts_its_own_start_sent_back(api):
    window = new_window(api, starts=timedelta(minutes=-10))
    changed = ok(change(api, window, starts_at=window["starts_at"], ends_at=iso(from_now(hours=2)),
                        title="Longer"))
    assert changed["starts_at"] == window["starts_at"]


def test_a_window_in_progress_cannot_change_its_start(api):
    window = new_window(api, starts=timedelta(minutes=-10))
    response = change(api, window, starts_at=iso(from_now(minutes=-30)))
    error = assert_error(response, 409, "starts_at")
    assert error["code"] == "conflict"
    assert get_window(api, window) == window


def test_a_window_in_progress_cannot_change_its_components(api):
    component = new_component(api)
    window = new_window(api, starts=timedelta(minutes=-10))
    assert_error(change(api, window, components=[component["id"]]), 409, "components")


@pytest.mark.parametrize("end", [timedelta(minutes=-3), timedelta(minutes=-9), timedelta(hours=-1)])
def test_a_window_in_progress_cannot_end_in_the_past(api, end):
    window = new_window(api, starts=timedelta(minutes=-10))
    assert_error(change(api, window, ends_at=iso(from_now() + end)), 422, "ends_at")
    assert get_window(api, window) == window


@pytest.mark.parametrize("sent", [timedelta(0), timedelta(seconds=-20)])
def test_a_window_in_progress_can_be_ended_now(api, sent):
    # "Now" on the operator's clock is a moment ago when it arrives: it still means now.
    component = new_component(api)
    window = new_window(api, starts=timedelta(minutes=-10), components=[component])
    ended = ok(change(api, window, ends_at=iso(from_now() + sent)))
    assert ended["status"] == "completed"
    assert datetime.fromisoformat(ended["ends_at"]) >= from_now(seconds=-1)
    assert status_of(api, component) == "operational"


def test_a_window_in_progress_cannot_be_cancelled(api):
    window = new_window(api, starts=timedelta(minutes=-10))
    assert_error(change(api, window, cancelled=True), 409, "cancelled")


def test_a_window_in_progress_accepts_its_components_in_another_order(api):
    first, second = new_component(api, "API"), new_component(api, "Web")
    window = new_window(api, starts=timedelta(minutes=-10), components=[first, second])
    changed = ok(change(api, window, components=[second["id"], first["id"]], title="Same parts"))
    assert sorted(changed["components"]) == sorted([first["id"], second["id"]])


def test_a_completed_window_keeps_its_times(api):
    window = new_window(api, starts=timedelta(days=-1))
    assert_error(change(api, window, starts_at=iso(from_now(days=-2))), 409, "starts_at")
    assert_error(change(api, window, ends_at=iso(from_now(days=1))), 409, "ends_at")
    assert get_window(api, window) == window
    assert ok(change(api, window, title="Renamed afterwards"))["title"] == "Renamed afterwards"
    assert_error(change(api, window, cancelled=True), 409, "cancelled")


def test_cancelling_a_window_makes_it_cancelled(api):
    component = new_component(api)
    window = new_window(api, starts=timedelta(hours=1), components=[component])
    cancelled = ok(change(api, window, cancelled=True))
    assert (cancelled["cancelled"], cancelled["status"]) == (True, "cancelled")
    assert ids(ok(api.get("/status/maintenance?status=cancelled"))["items"]) == [window["id"]]
    assert ok(api.get("/status/maintenance?status=scheduled"))["items"] == []


def test_a_cancelled_window_puts_nothing_in_maintenance(api):
    component = new_component(api)
    window = new_window(api, starts=timedelta(minutes=-10), components=[component], cancelled=True)
    assert window["status"] == "cancelled"
    assert status_of(api, component) == "operational"


def test_delete_answers_204_and_frees_the_components(api):
    component = new_component(api)
    window = new_window(api, starts=timedelta(minutes=-10), components=[component])
    response = api.delete(f"/status/maintenance/{window['id']}")
    assert response.status_code == 204
    assert response.data == b""
    assert_error(api.get(f"/status/maintenance/{window['id']}"), 404)
    assert status_of(api, component) == "operational"


@pytest.mark.parametrize("fields, field", [
    ({"title": None}, "title"),
    ({"starts_at": "2030-06-01T10:00:00"}, "starts_at"),
    ({"components": [12345]}, "components"),
    ({"cancelled": None}, "cancelled"),
    ({"id": 3}, "id"),
])
def test_invalid_changes_are_422_and_change_nothing(api, fields, field):
    window = new_window(api)
    assert_error(change(api, window, **fields), 422, field)
    assert get_window(api, window) == window
