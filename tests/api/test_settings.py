"""/api/v1/status/settings"""

import pytest

from .helpers import assert_error, ok, pick

PAGE = ("title", "description", "timezone")


def settings(api):
    return ok(api.get("/status/settings"))


def test_defaults_before_anyone_changes_them(api):
    current = settings(api)
    assert pick(current, *PAGE) == {"title": "System Status", "description": "", "timezone": "UTC"}
    assert current["updated_at"] is None
    assert settings(api) == current


def test_a_change_stamps_updated_at(api):
    changed = ok(api.put("/status/settings", json={"title": "Acme"}))
    assert changed["updated_at"].endswith("+00:00")
    assert settings(api)["updated_at"] == changed["updated_at"]


def test_put_changes_only_what_it_names(api):
    changed = ok(api.put("/status/settings", json={"title": "Acme Status"}))
    assert pick(changed, *PAGE) == {"title": "Acme Status", "description": "", "timezone": "UTC"}
    ok(api.put("/status/settings", json={"timezone": "Europe/Paris"}))
    ok(api.put("/status/settings", json={"description": "How Acme is doing."}))
    current = settings(api)
    assert pick(current, *PAGE) == {
        "title": "Acme Status", "description": "How Acme is doing.", "timezone": "Europe/Paris"}


def test_put_answers_what_get_then_shows(api):
    changed = ok(api.put("/status/settings",
                         json={"title": "Acme", "timezone": "America/New_York"}))
    assert settings(api) == changed


def test_an_empty_put_changes_nothing_visible(api):
    ok(api.put("/status/settings", json={"title": "Acme"}))
    before = settings(api)
    after = ok(api.put("/status/settings", json={}))
    assert pick(after, *PAGE) == pick(before, *PAGE)


def test_a_read_token_can_read_the_settings(read_api):
    assert settings(read_api)["title"] == "System Status"


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "Europe", "europe/paris", "", " UTC",
                                      "../../etc/passwd", "/etc/localtime", "Europe/Paris/",
                                      "x" * 300, "UTC\u0000", 1, None, ["UTC"]])
def test_an_unknown_timezone_is_422_naming_timezone(api, timezone):
    assert_error(api.put("/status/settings", json={"timezone": timezone}), 422, "timezone")
    assert settings(api)["timezone"] == "UTC"


@pytest.mark.parametrize("body, field", [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": None}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"description": None}, "description"),
    ({"description": "x" * 5001}, "description"),
    ({"theme": "purple"}, "theme"),
    ({"updated_at": "2026-01-01T00:00:00Z"}, "updated_at"),
])
def test_invalid_settings_are_422_and_change_nothing(api, body, field):
    before = settings(api)
    assert_error(api.put("/status/settings", json=body), 422, field)
    assert settings(api) == before
