"""/api/v1/status/groups"""

from datetime import datetime

import pytest

from .helpers import assert_error, created, ids, new_component, new_group, new_incident, ok, pick


def test_create_answers_201_with_the_group(api):
    sent = {"name": "Core platform", "description": "What everyone uses.", "sort_order": 3,
            "collapsed": True}
    group = created(api.post("/status/groups", json=sent))
    assert group["id"] > 0
    assert pick(group, *sent) == sent
    assert group["status"] == "operational"
    assert group["components"] == []
    assert datetime.fromisoformat(group["created_at"]).utcoffset().total_seconds() == 0
    assert ok(api.get(f"/status/groups/{group['id']}")) == group


def test_create_fills_in_defaults(api):
    group = new_group(api, "Core")
    assert (group["description"], group["sort_order"], group["collapsed"]) == ("", 0, False)


def test_list_is_ordered_by_sort_order_then_id(api):
    third = new_group(api, "C", sort_order=2)
    first = new_group(api, "A", sort_order=1)
    second = new_group(api, "B", sort_order=1)
    before_all = new_group(api, "Z", sort_order=-5)
    listing = ok(api.get("/status/groups"))
    assert ids(listing["items"]) == ids([before_all, first, second, third])
    assert listing["total"] == 4


def test_list_pages_with_limit_and_offset(api):
    groups = [new_group(api, f"G{n}", sort_order=n) for n in range(5)]
    page = ok(api.get("/status/groups?limit=2&offset=1"))
    assert ids(page["items"]) == ids(groups[1:3])
    assert page["total"] == 5
    assert ok(api.get("/status/groups?offset=5")) == {"items": [], "total": 5}


def test_an_empty_list(api):
    assert ok(api.get("/status/groups")) == {"items": [], "total": 0}


def test_put_changes_only_what_it_names(api):
    group = new_group(api, "Core", description="Keep me", sort_order=1)
    changed = ok(api.put(f"/status/groups/{group['id']}", json={"sort_order": 7}))
    assert pick(changed, "name", "description", "sort_order") == {
        "name": "Core", "description": "Keep me", "sort_order": 7}
    assert ok(api.get(f"/status/groups/{group['id']}"))["sort_order"] == 7


def test_put_with_an_empty_body_changes_nothing(api):
    group = new_group(api, "Core")
    assert ok(api.put(f"/status/groups/{group['id']}", json={})) == group


def test_delete_answers_204_and_forgets_the_group(api):
    group = new_group(api)
    response = api.delete(f"/status/groups/{group['id']}")
    assert response.status_code == 204
    assert response.data == b""
    assert_error(api.get(f"/status/groups/{group['id']}"), 404)
    assert_error(api.delete(f"/status/groups/{group['id']}"), 404)


def test_delete_keeps_its_components_ungrouped(api):
    group = new_group(api)
    members = [new_component(api, name, group_id=group["id"]) for name in ("API", "Web")]
    other_group = new_group(api, "Other")
    outsider = new_component(api, "DB", group_id=other_group["id"])
    assert api.delete(f"/status/groups/{group['id']}").status_code == 204
    for member in members:
        assert ok(api.get(f"/status/components/{member['id']}"))["group_id"] is None
    assert ok(api.get(f"/status/components/{outsider['id']}"))["group_id"] == other_group["id"]
    assert ok(api.get("/status/components"))["total"] == 3


def test_a_group_lists_its_components_in_order(api):
    group = new_group(api)
    second = new_component(api, "Web", group_id=group["id"], sort_order=2)
    first = new_component(api, "API", group_id=group["id"], sort_order=1)
    new_component(api, "Elsewhere")
    assert ids(ok(api.get(f"/status/groups/{group['id']}"))["components"]) == ids([first, second])


@pytest.mark.parametrize("overrides, expected", [
    ([], "operational"),
    ([None, None], "operational"),
    (["degraded", None], "degraded"),
    (["maintenance", "degraded"], "degraded"),
    (["maintenance", None], "maintenance"),
    (["partial_outage", "major_outage", "degraded"], "major_outage"),
])
def test_group_status_is_the_worst_of_its_components(api, overrides, expected):
    group = new_group(api)
    for n, override in enumerate(overrides):
        new_component(api, f"C{n}", group_id=group["id"], status_override=override)
    assert ok(api.get(f"/status/groups/{group['id']}"))["status"] == expected
    assert ok(api.get("/status/groups"))["items"][0]["status"] == expected


def test_group_status_ignores_hidden_components(api):
    group = new_group(api)
    new_component(api, "Shown", group_id=group["id"], status_override="degraded")
    hidden = new_component(api, "Hidden", group_id=group["id"], status_override="major_outage",
                           visible=False)
    assert ok(api.get(f"/status/groups/{group['id']}"))["status"] == "degraded"
    ok(api.put(f"/status/components/{hidden['id']}", json={"visible": True}))
    assert ok(api.get(f"/status/groups/{group['id']}"))["status"] == "major_outage"


def test_group_status_follows_incidents_on_its_components(api):
    group = new_group(api)
    component = new_component(api, group_id=group["id"])
    new_incident(api, severity="critical", components=[component])
    assert ok(api.get(f"/status/groups/{group['id']}"))["status"] == "major_outage"


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "\t\n"}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": None}, "name"),
    ({"name": 42}, "name"),
    ({"name": "Core", "colour": "red"}, "colour"),
    ({"name": "Core", "id": 5}, "id"),
    ({"name": "Core", "status": "degraded"}, "status"),
    ({"name": "Core", "sort_order": "3"}, "sort_order"),
    ({"name": "Core", "sort_order": 3.5}, "sort_order"),
    ({"name": "Core", "sort_order": 2**31}, "sort_order"),
    ({"name": "Core", "collapsed": "yes"}, "collapsed"),
    ({"name": "Core", "collapsed": 1}, "collapsed"),
    ({"name": "Core", "description": "x" * 2001}, "description"),
])
def test_invalid_bodies_are_422_naming_the_field(api, body, field):
    error = assert_error(api.post("/status/groups", json=body), 422, field)
    assert error["code"] == "validation_failed"
    assert ok(api.get("/status/groups"))["total"] == 0


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"sort_order": None}, "sort_order"),
    ({"collapsed": "no"}, "collapsed"),
    ({"components": []}, "components"),
])
def test_invalid_changes_are_422_and_change_nothing(api, body, field):
    group = new_group(api, "Core")
    assert_error(api.put(f"/status/groups/{group['id']}", json=body), 422, field)
    assert ok(api.get(f"/status/groups/{group['id']}")) == group


def test_the_longest_name_is_accepted(api):
    assert new_group(api, "x" * 200)["name"] == "x" * 200


def test_names_keep_unicode_and_markup_as_sent(api):
    name = "Ünïcødé ☃ 🚀 <b>bold</b> & co"
    assert ok(api.get(f"/status/groups/{new_group(api, name)['id']}"))["name"] == name
