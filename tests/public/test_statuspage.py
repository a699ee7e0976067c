"""/api/v2: Statuspage's public format, checked field by field against its documented shapes.

The expected shapes below are written from Statuspage's documented examples (the /api page
every Statuspage page serves: summary, status, components, incidents, unresolved, scheduled
maintenances, upcoming, active) and the fields its live answers carry: every key, the type of
every value and every enum.
"""

import re
import time
from datetime import timedelta

import pytest

from factories import counting_queries, make_component, make_group, make_incident, \
    make_maintenance
from maintenant.events import get_broker, newest_event_id, stop_broker
from maintenant.extensions import db
from maintenant.models import utcnow
from maintenant.public import cache
from maintenant.services.components import get_component, update_component
from maintenant.services.incidents import post_incident_update
from maintenant.services.maintenance import cancel_maintenance

HOUR = timedelta(hours=1)
# ISO 8601 with an offset, as Statuspage writes times ("2014-05-14T14:22:39.441-06:00").
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


class Enum:
    def __init__(self, *values):
        self.values = values


class Nullable:
    def __init__(self, kind):
        self.kind = kind


class ListOf:
    def __init__(self, shape):
        self.shape = shape


URL = re.compile(r"^https?://")

PAGE = {"id": str, "name": str, "url": URL, "time_zone": str, "updated_at": TIME}
STATUS = {"indicator": Enum("none", "minor", "major", "critical"), "description": str}
COMPONENT_STATUS = Enum("operational", "degraded_performance", "partial_outage", "major_outage",
                        "under_maintenance")
COMPONENT = {
    "id": str, "name": str, "status": COMPONENT_STATUS, "created_at": TIME, "updated_at": TIME,
    "position": int, "description": Nullable(str), "showcase": bool,
    "start_date": Nullable(DATE), "group_id": Nullable(str), "page_id": str, "group": bool,
    "only_show_if_degraded": bool,
}
GROUP = {**COMPONENT, "components": ListOf(str)}
UPDATE = {
    "id": str, "status": Enum("investigating", "identified", "monitoring", "resolved",
                              "postmortem", "scheduled", "in_progress", "verifying",
                              "completed"),
    "body": str, "incident_id": str, "created_at": TIME, "updated_at": TIME,
    "display_at": TIME, "affected_components": Nullable(list), "deliver_notifications": bool,
    "custom_tweet": Nullable(str), "tweet_id": Nullable(str),
}
INCIDENT = {
    "id": str, "name": str,
    "status": Enum("investigating", "identified", "monitoring", "resolved", "postmortem"),
    "created_at": TIME, "updated_at": TIME, "monitoring_at": Nullable(TIME),
    "resolved_at": Nullable(TIME), "impact": Enum("none", "minor", "major", "critical"),
    "shortlink": URL, "started_at": TIME, "page_id": str, "incident_updates": ListOf(UPDATE),
    "components": ListOf(COMPONENT),
}
MAINTENANCE = {
    **INCIDENT,
    "status": Enum("scheduled", "in_progress", "verifying", "completed"),
    "impact": Enum("none", "minor", "major", "critical", "maintenance"),
    "scheduled_for": TIME, "scheduled_until": TIME,
}
ANY_COMPONENT = "component or group"
DOCUMENTS = {
    "summary": {"page": PAGE, "components": ListOf(ANY_COMPONENT),
                "incidents": ListOf(INCIDENT), "scheduled_maintenances": ListOf(MAINTENANCE),
                "status": STATUS},
    "status": {"page": PAGE, "status": STATUS},
    "components": {"page": PAGE, "components": ListOf(ANY_COMPONENT)},
    "incidents": {"page": PAGE, "incidents": ListOf(INCIDENT)},
    "incidents/unresolved": {"page": PAGE, "incidents": ListOf(INCIDENT)},
    "scheduled-maintenances": {"page": PAGE, "scheduled_maintenances": ListOf(MAINTENANCE)},
    "scheduled-maintenances/upcoming": {"page": PAGE,
                                        "scheduled_maintenances": ListOf(MAINTENANCE)},
    "scheduled-maintenances/active": {"page": PAGE,
                                      "scheduled_maintenances": ListOf(MAINTENANCE)},
}


def conforms(value, shape, where="$"):
    """Assert ``value`` has exactly the keys of ``shape``, each of the documented type."""
    if shape == ANY_COMPONENT:
        return conforms(value, GROUP if value.get("group") else COMPONENT, where)
    if isinstance(shape, dict):
        assert isinstance(value, dict), where
        assert set(value) == set(shape), f"{where}: {sorted(set(value) ^ set(shape))}"
        for key, inner in shape.items():
            conforms(value[key], inner, f"{where}.{key}")
    elif isinstance(shape, ListOf):
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            conforms(item, shape.shape, f"{where}[{index}]")
    elif isinstance(shape, Nullable):
        if value is not None:
            conforms(value, shape.kind, where)
    elif isinstance(shape, Enum):
        assert value in shape.values, f"{where}: {value!r}"
    elif isinstance(shape, re.Pattern):
        assert isinstance(value, str) and shape.match(value), f"{where}: {value!r}"
    elif shape is int:
        assert isinstance(value, int) and not isinstance(value, bool), where
    else:
        assert isinstance(value, shape), f"{where}: {value!r}"


def get(client, name, **headers):
    response = client.get(f"/api/v2/{name}.json", headers=headers)
    assert response.status_code in (200, 304), response.data
    return response


def doc(client, name):
    return get(client, name).get_json()


@pytest.fixture
def page(app):
    """Groups, components (one hidden), incidents in every state, a draft, maintenance."""
    core = make_group("Core")
    api = make_component("API", group_id=core.id, description="The REST API")
    db_ = make_component("Database", group_id=core.id)
    web = make_component("Web")
    hidden = make_component("Secret", visible=False)
    open_ = make_incident("Errors", "major", [api, hidden], message="Looking.")
    post_incident_update(open_, {"status": "monitoring", "message": "Fix out.", "notify": False})
    resolved = make_incident("Slow", "minor", [web], message="Slow.")
    post_incident_update(resolved, {"status": "resolved", "message": "Fine.", "notify": False})
    draft = make_incident("Draft", "critical", [web], message="secret draft text")
    draft.draft = True
    db.session.commit()
    upcoming = make_maintenance("Upgrade", [db_], starts_in=2 * HOUR, description="Short.")
    active = make_maintenance("Flush", [web], starts_in=-HOUR, lasts=2 * HOUR)
    done = make_maintenance("Old", [web], starts_in=-5 * HOUR)
    cancelled = make_maintenance("Called off", [web], starts_in=3 * HOUR)
    cancel_maintenance(cancelled)
    return {"core": core, "api": api, "db": db_, "web": web, "hidden": hidden, "open": open_,
            "resolved": resolved, "draft": draft, "upcoming": upcoming, "active": active,
            "done": done, "cancelled": cancelled}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_document_has_the_documented_shape(client, page, name):
    conforms(doc(client, name), DOCUMENTS[name])


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_document_has_the_documented_shape_on_an_empty_page(client, name):
    body = doc(client, name)
    conforms(body, DOCUMENTS[name])
    assert body["page"]["name"] == "System Status"


def test_the_page_object(client, page):
    body = doc(client, "status")
    assert body["page"]["url"] == "http://status.test/status/"
    assert body["page"]["time_zone"] == "UTC"
    assert re.fullmatch(r"[0-9a-f]{12}", body["page"]["id"])
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}


def test_components_groups_have_ids_of_their_own(client, page):
    components = doc(client, "components")["components"]
    by_id = {c["id"]: c for c in components}

    group = by_id[f"g{page['core'].id}"]
    assert group["group"] is True and group["name"] == "Core"
    assert group["components"] == [str(page["api"].id), str(page["db"].id)]
    api = by_id[str(page["api"].id)]
    assert api["group_id"] == f"g{page['core'].id}" and api["group"] is False
    assert api["description"] == "The REST API"
    assert api["status"] == "partial_outage"
    assert by_id[str(page["db"].id)]["description"] is None
    assert by_id[str(page["web"].id)]["group_id"] is None
    assert str(page["hidden"].id) not in by_id
    assert [c["position"] for c in components] == list(range(1, len(components) + 1))
    assert [c["id"] for c in components] == [
        f"g{page['core'].id}", str(page["api"].id), str(page["db"].id), str(page["web"].id)]
    # The group takes the worst status of its members.
    assert group["status"] == "partial_outage"
    page_id = doc(client, "status")["page"]["id"]
    assert {c["page_id"] for c in components} == {page_id}


@pytest.mark.parametrize("ours, theirs, indicator, description", [
    ("operational", "operational", "none", "All Systems Operational"),
    ("degraded", "degraded_performance", "minor", "Degraded Performance"),
    ("partial_outage", "partial_outage", "major", "Partial System Outage"),
    ("major_outage", "major_outage", "critical", "Major System Outage"),
    ("maintenance", "under_maintenance", "minor", "Scheduled Maintenance"),
])
def test_each_status_maps_to_statuspage(client, ours, theirs, indicator, description):
    component = make_component("API")
    make_component("Web")
    update_component(get_component(component.id), {"status_override": ours})

    components = {c["name"]: c for c in doc(client, "components")["components"]}
    assert components["API"]["status"] == theirs
    assert components["Web"]["status"] == "operational"
    assert doc(client, "status")["status"] == {"indicator": indicator, "description": description}
    assert doc(client, "summary")["status"]["indicator"] == indicator


@pytest.mark.parametrize("severity", ["minor", "major", "critical"])
def test_incident_impact_is_its_severity(client, severity):
    make_incident("X", severity)
    assert doc(client, "incidents")["incidents"][0]["impact"] == severity


def test_incidents_and_their_updates(client, page):
    incidents = {i["id"]: i for i in doc(client, "incidents")["incidents"]}
    assert set(incidents) == {str(page["open"].id), str(page["resolved"].id)}

    open_ = incidents[str(page["open"].id)]
    assert (open_["name"], open_["status"], open_["impact"]) == ("Errors", "monitoring", "major")
    assert open_["shortlink"] == f"http://status.test/status/incidents/{page['open'].id}"
    assert open_["resolved_at"] is None
    assert open_["monitoring_at"] == open_["incident_updates"][0]["created_at"]
    assert [(u["status"], u["body"]) for u in open_["incident_updates"]] == [
        ("monitoring", "Fix out."), ("investigating", "Looking.")]
    assert {u["incident_id"] for u in open_["incident_updates"]} == {open_["id"]}
    assert [c["name"] for c in open_["components"]] == ["API"]  # the hidden one is left out

    resolved = incidents[str(page["resolved"].id)]
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert resolved["monitoring_at"] is None

    unresolved = doc(client, "incidents/unresolved")["incidents"]
    assert [i["id"] for i in unresolved] == [str(page["open"].id)]
    assert [i["id"] for i in doc(client, "summary")["incidents"]] == [str(page["open"].id)]


def test_scheduled_maintenances(client, page):
    everything = {m["id"]: m for m in doc(client, "scheduled-maintenances")
                  ["scheduled_maintenances"]}
    ids = {key: f"m{page[key].id}" for key in ("upcoming", "active", "done", "cancelled")}
    # Statuspage has no "cancelled": a cancelled window is left out.
    assert set(everything) == {ids["upcoming"], ids["active"], ids["done"]}
    assert [everything[ids[k]]["status"] for k in ("upcoming", "active", "done")] == [
        "scheduled", "in_progress", "completed"]
    upcoming = everything[ids["upcoming"]]
    assert upcoming["impact"] == "maintenance"
    assert upcoming["scheduled_for"].startswith(f"{page['upcoming'].starts_at:%Y-%m-%dT%H:%M}")
    assert upcoming["shortlink"] == \
        f"http://status.test/status/#maintenance-{page['upcoming'].id}"
    assert [(u["status"], u["body"]) for u in upcoming["incident_updates"]] == [
        ("scheduled", "Short.")]
    assert [c["name"] for c in upcoming["components"]] == ["Database"]
    done = everything[ids["done"]]
    assert [u["status"] for u in done["incident_updates"]] == [
        "completed", "in_progress", "scheduled"]
    assert done["resolved_at"] == done["scheduled_until"]
    assert everything[ids["active"]]["components"][0]["status"] == "under_maintenance"

    def listed(name):
        return [m["id"] for m in doc(client, name)["scheduled_maintenances"]]

    assert listed("scheduled-maintenances/upcoming") == [ids["upcoming"]]
    assert listed("scheduled-maintenances/active") == [ids["active"]]
    assert sorted(listed("summary")) == sorted([ids["upcoming"], ids["active"]])


def test_drafts_never_appear(client, page):
    for name in DOCUMENTS:
        body = get(client, name).get_data(as_text=True)
        assert "secret draft text" not in body and '"Draft"' not in body
        incidents = get(client, name).get_json().get("incidents", [])
        assert str(page["draft"].id) not in {i["id"] for i in incidents}


def test_every_answer_is_open_to_any_origin(client, page):
    etag = get(client, "summary").headers["ETag"]
    answers = [
        get(client, "summary"),
        get(client, "summary", **{"If-None-Match": etag}),
        client.get("/api/v2/nothing.json"),
        client.post("/api/v2/summary.json"),
    ]
    assert [a.status_code for a in answers] == [200, 304, 404, 405]
    for answer in answers:
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answers[2].get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_a_preflight_is_answered(client, name):
    response = client.options(f"/api/v2/{name}.json", headers={
        "Origin": "https://example.com", "Access-Control-Request-Method": "GET"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {
        "GET", "HEAD", "OPTIONS"}


def test_no_token_is_needed_and_the_answer_is_cacheable(client, page):
    first = get(client, "summary")
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Cache-Control"] == "no-cache"
    again = get(client, "summary", **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    update_component(get_component(page["web"].id), {"status_override": "major_outage"})
    changed = get(client, "summary", **{"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.get_json()["status"]["indicator"] == "critical"


def test_head_works(client):
    assert client.head("/api/v2/status.json").status_code == 200


def test_v2_is_not_in_the_operator_api_description(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert not [path for path in spec["paths"] if "v2" in path or path.endswith(".json")]


@pytest.mark.parametrize("name", ["summary", "incidents", "scheduled-maintenances"])
def test_a_document_renders_in_a_fixed_number_of_queries(app, name):
    group = make_group("Core")
    api = make_component("API", group_id=group.id)
    make_incident("One", "minor", [api])
    make_maintenance("One", [api])
    with counting_queries() as few:
        cache.render(f"statuspage/{name}")
    for n in range(5):
        other = make_group(f"G{n}")
        web = make_component(f"Web {n}", group_id=other.id)
        incident = make_incident(f"More {n}", "major", [api, web])
        post_incident_update(incident, {"status": "identified", "message": "x", "notify": False})
        make_maintenance(f"More {n}", [api, web], starts_in=-HOUR * n)
    with counting_queries() as many:
        cache.render(f"statuspage/{name}")
    assert len(many) == len(few)


# Cached like the page


@pytest.fixture
def live(app):
    """The app's broker, subscribed: the page cache may be used."""
    broker = get_broker()
    assert broker.wait_until_healthy(5)
    yield broker
    stop_broker(app)


def settled(broker):
    """Wait until the broker has heard every event so far: none will drop the cache later."""
    deadline = time.monotonic() + 5
    while broker.last_event_id < newest_event_id():
        assert time.monotonic() < deadline, "the broker never heard the events"
        time.sleep(0.01)


CACHED_PATHS = [f"/api/v2/{name}.json" for name in DOCUMENTS] + [
    "/status/feed.atom", "/status/feed.rss", "/status/badge.svg", "/status/components/1/badge.svg",
    "/status/components/1/badge.svg?uptime=1"]


@pytest.mark.parametrize("path", CACHED_PATHS)
def test_a_second_request_runs_no_query_until_something_changes(client, live, path):
    component = make_component("API")
    make_incident("Slow", "minor", [component])
    settled(live)
    first = client.get(path)
    with counting_queries() as statements:
        second = client.get(path)
    assert statements == []
    assert second.data == first.data and second.headers["ETag"] == first.headers["ETag"]

    update_component(get_component(component.id), {"status_override": "major_outage",
                                                    "name": "API v2"})
    assert client.get(path).headers["ETag"] != first.headers["ETag"]


def test_a_window_starting_moves_it_from_upcoming_to_active(client, live, monkeypatch):
    offset = [timedelta()]
    monkeypatch.setattr(cache, "utcnow", lambda: utcnow() + offset[0])
    window = make_maintenance("Upgrade", [make_component("API")], starts_in=HOUR)
    settled(live)

    def listed(name):
        return [m["id"] for m in doc(client, name)["scheduled_maintenances"]]

    assert listed("scheduled-maintenances/upcoming") == [f"m{window.id}"]
    assert listed("scheduled-maintenances/active") == []

    offset[0] = 90 * timedelta(minutes=1)
    assert listed("scheduled-maintenances/upcoming") == []
    assert listed("scheduled-maintenances/active") == [f"m{window.id}"]
    assert doc(client, "components")["components"][0]["status"] == "under_maintenance"
