"""The error envelope: bad bodies, unknown routes and ids, hostile input never a 500."""

import json

import pytest

from factories import make_component, make_group, make_incident, make_maintenance
from maintenant.services import monitor_config

from .helpers import assert_error, from_now, iso

MiB = 1024 * 1024


def post_raw(api, path, data, content_type="application/json"):
    return api.post(path, data=data, content_type=content_type)


@pytest.mark.parametrize("data", ['{"name": "Core"', "{'name': 'Core'}", "name=Core", "",
                                  b"\xff\xfe\x00garbage", '{"name": "Core"} trailing'])
def test_malformed_json_is_400(api, data):
    error = assert_error(post_raw(api, "/status/groups", data), 400)
    assert error["code"] == "bad_request"


def test_a_number_too_long_to_parse_is_refused_not_a_crash(api):
    response = post_raw(api, "/status/groups", '{"name": "Core", "sort_order": ' + "9" * 5000 + "}")
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


def test_deeply_nested_json_is_refused_not_a_crash(api):
    response = post_raw(api, "/status/groups", "[" * 200_000 + "]" * 200_000)
    assert_error(response, 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml", ""])
def test_a_body_that_is_not_json_is_415(api, content_type):
    response = post_raw(api, "/status/groups", '{"name": "Core"}', content_type)
    error = assert_error(response, 415)
    assert error["code"] == "unsupported_media_type"
    assert api.get("/status/groups").get_json()["total"] == 0


def test_json_with_a_charset_is_accepted(api):
    response = post_raw(api, "/status/groups", '{"name": "Café"}',
                        "application/json; charset=utf-8")
    assert response.status_code == 201
    assert response.get_json()["name"] == "Café"


def test_a_body_over_one_mib_is_413(api):
    body = json.dumps({"name": "Core", "description": "x" * MiB})
    error = assert_error(post_raw(api, "/status/groups", body), 413)
    assert error["code"] == "payload_too_large"


def test_a_body_just_under_one_mib_gets_validated(api):
    body = json.dumps({"name": "Core", "description": "x" * (MiB - 100)})
    assert_error(post_raw(api, "/status/groups", body), 422, "description")


@pytest.mark.parametrize("path", [
    "/api/v1/nothing", "/api/v1/status/widgets", "/api/v1/status/groups/abc",
    "/api/v1/status/groups/-1", "/api/v1/status/groups/1/components", "/api/v2/nothing",
    "/api/nothing", "/api",
])
def test_unknown_routes_under_api_are_json_404(api, path):
    response = api.client.get(path, headers=api.headers)
    error = assert_error(response, 404)
    assert error["code"] == "not_found"
    assert "<html" not in response.get_data(as_text=True).lower()


def test_unknown_routes_are_json_404_without_a_token_too(client):
    assert_error(client.get("/api/v1/nothing"), 404)


def test_a_double_slash_is_redirected_not_an_error(api):
    response = api.client.get("/api/v1//status/groups", headers=api.headers)
    assert response.status_code in (301, 308)
    assert response.headers["Location"].endswith("/api/v1/status/groups")


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/status/groups"), ("PUT", "/status/components"), ("PATCH", "/status/groups/1"),
    ("POST", "/status/settings"), ("PUT", "/status/incidents/1/updates"),
    ("POST", "/status/subscribers"),
])
def test_a_wrong_method_is_json_405(api, method, path):
    response = api.request(method, path, json={})
    error = assert_error(response, 405)
    assert error["code"] == "method_not_allowed"
    assert response.headers["Allow"]


@pytest.mark.parametrize("body", [[], [{"name": "Core"}], "Core", 42, None, True])
def test_a_body_that_is_not_an_object_is_422(api, body):
    error = assert_error(post_raw(api, "/status/groups", json.dumps(body)), 422)
    assert error["code"] == "validation_failed"
    assert error["fields"]


LISTS = ["/status/groups", "/status/components", "/status/incidents", "/status/maintenance",
         "/status/subscribers"]


# --- unknown ids in the path -------------------------------------------------------------------

ID_ROUTES = [
    ("GET", "/status/groups/{}", None),
    ("PUT", "/status/groups/{}", {"name": "Core"}),
    ("DELETE", "/status/groups/{}", None),
    ("GET", "/status/components/{}", None),
    ("PUT", "/status/components/{}", {"name": "API"}),
    ("DELETE", "/status/components/{}", None),
    ("GET", "/status/incidents/{}", None),
    ("PUT", "/status/incidents/{}", {"title": "Outage"}),
    ("DELETE", "/status/incidents/{}", None),
    ("GET", "/status/incidents/{}/updates", None),
    ("POST", "/status/incidents/{}/updates", {"status": "resolved", "message": "Fixed."}),
    ("GET", "/status/maintenance/{}", None),
    ("PUT", "/status/maintenance/{}", {"title": "Upgrade"}),
    ("DELETE", "/status/maintenance/{}", None),
    ("DELETE", "/status/subscribers/{}", None),
]


UNKNOWN_IDS = ["0", "12345", str(2**31), str(2**63), "99999999999999999999"]


@pytest.mark.parametrize("method, path, body", ID_ROUTES)
def test_an_unknown_id_in_the_path_is_404(api, method, path, body):
    for unknown_id in UNKNOWN_IDS:
        error = assert_error(api.request(method, path.format(unknown_id), json=body), 404)
        assert error["code"] == "not_found", unknown_id


# --- hostile values in bodies ------------------------------------------------------------------

@pytest.fixture
def world(app):
    """One of everything, for bodies and paths that name ids."""
    group = make_group()
    component = make_component(group_id=group.id)
    incident = make_incident(components_=[component])
    window = make_maintenance(components_=[component])
    endpoint, _ = monitor_config.create_endpoint({"name": "API", "target": "https://a.example"})
    return {"group": group.id, "component": component.id, "incident": incident.id,
            "maintenance": window.id, "endpoint": endpoint.id}


def valid_bodies(world):
    """{(method, path): a valid body} for every route that takes a body."""
    component_body = {"group_id": world["group"], "name": "API", "description": "REST",
                      "sort_order": 1, "visible": True, "monitor_type": "endpoint",
                      "monitor_id": world["endpoint"],
                      "status_override": "degraded"}
    group_body = {"name": "Core", "description": "Core", "sort_order": 1, "collapsed": True}
    incident_body = {"title": "Outage", "severity": "major", "message": "Looking.",
                     "status": "identified", "components": [world["component"]]}
    window_body = {"title": "Upgrade", "description": "", "starts_at": iso(from_now(days=1)),
                   "ends_at": iso(from_now(days=1, hours=1)), "components": [world["component"]],
                   "cancelled": False}
    return {
        ("POST", "/status/groups"): group_body,
        ("PUT", f"/status/groups/{world['group']}"): group_body,
        ("POST", "/status/components"): component_body,
        ("PUT", f"/status/components/{world['component']}"): component_body,
        ("POST", "/status/incidents"): incident_body,
        ("PUT", f"/status/incidents/{world['incident']}"):
            {"title": "Outage", "severity": "critical", "components": [world["component"]]},
        ("POST", f"/status/incidents/{world['incident']}/updates"):
            {"status": "monitoring", "message": "Watching."},
        ("POST", "/status/maintenance"): window_body,
        ("PUT", f"/status/maintenance/{world['maintenance']}"): window_body,
        ("PUT", "/status/settings"):
            {"title": "Acme", "description": "Ours", "timezone": "Europe/Paris"},
    }


def test_the_valid_bodies_are_accepted(api, world):
    for (method, path), body in valid_bodies(world).items():
        assert api.request(method, path, json=body).status_code in (200, 201), (method, path)


# No field of any body accepts these.
NEVER_VALID = [
    {"nested": "object"}, [{"id": 1}], [[1]], 2**64, -(2**70), 10**400, 1.5, float("inf"),
    float("nan"), "\u0000", "Core\u0000", "\ud800", "x" * 20_000,
    list(range(1, 70_001)),  # more ids than PostgreSQL binds in one statement
]
# Some fields accept these; none may answer a 500.
SOMETIMES_VALID = [None, True, False, 0, -1, 1, "", " ", [], "Ünïcødé ☃ 🚀 مرحبا",
                   "<script>x</script>", "2026-01-01T10:00:00+02:00", "2026-01-01T10:00:00"]


def short_repr(value):
    text = repr(value)
    return text if len(text) <= 30 else text[:20] + f"...({len(text)} chars)"


def send_with(api, method, path, body, field, value):
    # json.dumps writes inf/nan as Infinity/NaN, which Python's parser (and so Flask's) accepts.
    return api.request(method, path, data=json.dumps({**body, field: value}),
                       content_type="application/json")


@pytest.mark.parametrize("value", NEVER_VALID, ids=short_repr)
def test_values_no_field_accepts_are_422_naming_the_field(api, world, value):
    for (method, path), body in valid_bodies(world).items():
        for field in body:
            response = send_with(api, method, path, body, field, value)
            assert response.status_code == 422, (method, path, field, response.get_json())
            assert_error(response, 422, field)


@pytest.mark.parametrize("value", SOMETIMES_VALID, ids=short_repr)
def test_odd_values_are_accepted_or_422_never_a_500(api, world, value):
    for (method, path), body in valid_bodies(world).items():
        for field in body:
            response = send_with(api, method, path, body, field, value)
            # 409: an earlier value may have started the window, whose start is then frozen.
            assert response.status_code in (200, 201, 409, 422), (method, path, field,
                                                                  response.get_json())
            if response.status_code == 422:
                # A rule across fields (monitor_id needs monitor_type) may name the other one.
                assert set(assert_error(response, 422)["fields"]) & set(body)
    for path in [*LISTS, "/status/settings"]:
        assert api.get(path).status_code == 200, path


def test_null_in_every_field_at_once_is_422(api, world):
    for (method, path), body in valid_bodies(world).items():
        response = api.request(method, path, json=dict.fromkeys(body))
        error = assert_error(response, 422)
        assert set(error["fields"]) <= set(body)


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=100000", "offset=-1",
                                   "offset=99999999999999999999", "limit=1.5", "limit=%00"])
def test_bad_paging_arguments_are_422(api, query):
    field = query.partition("=")[0]
    for path in LISTS:
        error = assert_error(api.get(f"{path}?{query}"), 422, field)
        assert error["message"] == "The query string is not valid."


def test_a_bad_filter_is_422_naming_the_query_string_not_the_body(api):
    error = assert_error(api.get("/status/incidents?status=closed"), 422, "status")
    assert "query string" in error["message"]
