"""/api/v1/endpoints: endpoint monitors, their settings, pause, schedule and certificates."""

import json
from datetime import datetime, timedelta

import pytest
from openapi_spec_validator import validate

from maintenant.extensions import db, redis_client
from maintenant.models import Certificate, Container, Endpoint, MonitorTransition, utcnow

from .helpers import assert_error, created, ids, ok, pick
from .test_errors import NEVER_VALID, SOMETIMES_VALID, send_with, short_repr
from .test_openapi import assert_matches, body_schema, spec, success_response  # noqa: F401

FULL_BODY = {
    "name": "Checkout", "target": "https://shop.example.com/health", "method": "HEAD",
    "headers": {"Authorization": "Bearer abc", "X-Probe": "maintenant"},
    "follow_redirects": False, "verify_tls": False, "expected_statuses": "200,204,301-302",
    "keyword": "ok", "timeout_seconds": 2.5, "interval_seconds": 30, "failure_threshold": 3,
    "latency_threshold_ms": 800, "paused": False,
}
RESPONSE_FIELDS = {
    "id", "name", "paused", "status", "status_changed_at", "last_checked_at", "last_error",
    "interval_seconds", "failure_threshold", "created_at", "updated_at", "target", "method",
    "headers", "follow_redirects", "verify_tls", "expected_statuses", "keyword",
    "timeout_seconds", "latency_threshold_ms", "last_latency_ms",
}


def new_endpoint(api, name="API", target="https://api.example.com/health", **fields):
    return created(api.post("/endpoints", json={"name": name, "target": target, **fields}))


def scheduled(monitor_type, monitor_id):
    """The probe schedule's members for one monitor, e.g. ["endpoint:3:60"]."""
    members = redis_client.client.zrange(redis_client.key("probes:schedule"), 0, -1)
    prefix = f"{monitor_type}:{monitor_id}:"
    return [m.decode() for m in members if m.decode().startswith(prefix)]


# --- create and read --------------------------------------------------------------------------

def test_create_answers_201_with_the_endpoint(api):
    endpoint = created(api.post("/endpoints", json=FULL_BODY))
    assert endpoint["id"] > 0
    assert pick(endpoint, *FULL_BODY) == FULL_BODY
    assert set(endpoint) == RESPONSE_FIELDS | {"certificate_id"}
    assert endpoint["certificate_id"] is None
    assert (endpoint["status"], endpoint["last_checked_at"], endpoint["last_error"],
            endpoint["last_latency_ms"]) == ("unknown", None, None, None)
    assert datetime.fromisoformat(endpoint["created_at"]).utcoffset() == timedelta(0)
    fetched = ok(api.get(f"/endpoints/{endpoint['id']}"))
    assert set(fetched) == RESPONSE_FIELDS
    assert fetched == {k: v for k, v in endpoint.items() if k != "certificate_id"}


def test_create_fills_in_defaults(api):
    endpoint = new_endpoint(api)
    assert pick(endpoint, "method", "headers", "follow_redirects", "verify_tls",
                "expected_statuses", "keyword", "timeout_seconds", "interval_seconds",
                "failure_threshold", "latency_threshold_ms", "paused") == {
        "method": "GET", "headers": {}, "follow_redirects": True, "verify_tls": True,
        "expected_statuses": "200-399", "keyword": None, "timeout_seconds": 10.0,
        "interval_seconds": 60, "failure_threshold": 2, "latency_threshold_ms": None,
        "paused": False}


@pytest.mark.parametrize("target", [
    "http://example.com", "https://example.com:8443/path?q=1", "tcp://db.internal:5432",
    "tcp://10.0.0.5:1", "http://[::1]:8080/", "tcp://[2001:db8::1]:65535",
])
def test_accepted_targets(api, target):
    assert new_endpoint(api, target=target)["target"] == target


def test_list_is_ordered_by_name_then_id_and_pages(api):
    b1 = new_endpoint(api, "B")
    a = new_endpoint(api, "A")
    b2 = new_endpoint(api, "B")
    c = new_endpoint(api, "C")
    listing = ok(api.get("/endpoints"))
    assert ids(listing["items"]) == ids([a, b1, b2, c])
    assert listing["total"] == 4
    assert ids(ok(api.get("/endpoints?limit=2&offset=1"))["items"]) == ids([b1, b2])
    assert ok(api.get("/endpoints?offset=4")) == {"items": [], "total": 4}


def test_an_empty_list(api):
    assert ok(api.get("/endpoints")) == {"items": [], "total": 0}


# --- validation -------------------------------------------------------------------------------

def valid(**fields):
    """A valid body with ``fields`` added."""
    return {"name": "API", "target": "https://a.example", **fields}


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({}, "target"),
    ({"target": "https://a.example"}, "name"),
    ({"name": " ", "target": "https://a.example"}, "name"),
    ({"name": "API"}, "target"),
    ({"name": "API", "target": "ftp://example.com"}, "target"),
    ({"name": "API", "target": "example.com"}, "target"),
    ({"name": "API", "target": "https://"}, "target"),
    ({"name": "API", "target": "http:///path"}, "target"),
    ({"name": "API", "target": "udp://example.com:53"}, "target"),
    ({"name": "API", "target": "tcp://db.internal"}, "target"),
    ({"name": "API", "target": "tcp://db.internal:0"}, "target"),
    ({"name": "API", "target": "tcp://db.internal:65536"}, "target"),
    ({"name": "API", "target": "tcp://db.internal:5432/path"}, "target"),
    ({"name": "API", "target": "http://example.com:abc/"}, "target"),
    ({"name": "API", "target": "http://exa mple.com/"}, "target"),
    ({"name": "API", "target": "http://example.com/\r\nX: y"}, "target"),
    ({"name": "API", "target": ""}, "target"),
    ({"name": "API", "target": None}, "target"),
    ({"name": "API", "target": "https://" + "a" * 2000 + ".com"}, "target"),
    (valid(method="get"), "method"),
    (valid(method="TRACE"), "method"),
    (valid(headers={"X-A": "1\r\nX-B: 2"}), "headers"),
    (valid(headers={"X-A": "line\nbreak"}), "headers"),
    (valid(headers={"X-A": "nul\x00"}), "headers"),
    (valid(headers={"Bad Name": "1"}), "headers"),
    (valid(headers={"X-A:": "1"}), "headers"),
    (valid(headers={"": "1"}), "headers"),
    (valid(headers={"X-A": 1}), "headers"),
    (valid(headers={"X-A": "\u20ac"}), "headers"),
    (valid(headers={"X-A": "1", "x-a": "2"}), "headers"),
    (valid(headers={f"X-{n}": "1" for n in range(51)}), "headers"),
    (valid(headers=["X-A: 1"]), "headers"),
    (valid(expected_statuses=""), "expected_statuses"),
    (valid(expected_statuses="ok"), "expected_statuses"),
    (valid(expected_statuses="200-"), "expected_statuses"),
    (valid(expected_statuses="399-200"), "expected_statuses"),
    (valid(expected_statuses="99"), "expected_statuses"),
    (valid(expected_statuses="600"), "expected_statuses"),
    (valid(expected_statuses=200), "expected_statuses"),
    (valid(keyword=""), "keyword"),
    (valid(timeout_seconds=0.4), "timeout_seconds"),
    (valid(timeout_seconds=61), "timeout_seconds"),
    (valid(timeout_seconds="10"), "timeout_seconds"),
    (valid(timeout_seconds=True), "timeout_seconds"),
    (valid(interval_seconds=4), "interval_seconds"),
    (valid(interval_seconds=86401), "interval_seconds"),
    (valid(interval_seconds=60.5), "interval_seconds"),
    (valid(interval_seconds="60"), "interval_seconds"),
    (valid(failure_threshold=0), "failure_threshold"),
    (valid(failure_threshold=21), "failure_threshold"),
    (valid(latency_threshold_ms=0), "latency_threshold_ms"),
    (valid(latency_threshold_ms=600001), "latency_threshold_ms"),
    (valid(follow_redirects=1), "follow_redirects"),
    (valid(verify_tls="false"), "verify_tls"),
    (valid(paused=None), "paused"),
    (valid(status="up"), "status"),
    (valid(last_latency_ms=3), "last_latency_ms"),
    (valid(created_at="2026-01-01T00:00:00Z"), "created_at"),
    (valid(certificate_id=1), "certificate_id"),
    (valid(no_such_field=1), "no_such_field"),
])
def test_invalid_bodies_are_422_naming_the_field(api, body, field):
    assert_error(api.post("/endpoints", json=body), 422, field)
    assert ok(api.get("/endpoints"))["total"] == 0


def test_the_timeout_takes_a_fraction(api):
    assert new_endpoint(api, timeout_seconds=0.5)["timeout_seconds"] == 0.5


def test_a_header_value_may_hold_a_tab_and_latin_1(api):
    headers = {"X-A": "a\tb", "X-B": "caf\u00e9"}
    assert new_endpoint(api, headers=headers)["headers"] == headers


@pytest.mark.parametrize("body, field", [
    ({"target": "tcp://db.internal"}, "target"),
    ({"target": None}, "target"),
    ({"name": None}, "name"),
    ({"interval_seconds": 1}, "interval_seconds"),
    ({"expected_statuses": "2xx"}, "expected_statuses"),
    ({"headers": {"X-A": "a\rb"}}, "headers"),
    ({"track_certificate": True}, "track_certificate"),
    ({"status": "up"}, "status"),
])
def test_invalid_changes_are_422_and_change_nothing(api, body, field):
    endpoint = new_endpoint(api)
    path = f"/endpoints/{endpoint['id']}"
    assert_error(api.put(path, json=body), 422, field)
    assert ok(api.get(path)) == {k: v for k, v in endpoint.items() if k != "certificate_id"}


@pytest.mark.parametrize("method, path", [
    ("GET", "/endpoints/999"), ("PUT", "/endpoints/999"), ("DELETE", "/endpoints/999"),
    ("GET", "/endpoints/999/history"), ("GET", "/endpoints/0"),
    ("GET", "/endpoints/99999999999999999999"),
])
def test_unknown_ids_are_404(api, method, path):
    error = assert_error(api.request(method, path, json={} if method == "PUT" else None), 404)
    assert error["code"] == "not_found"


def test_a_heartbeat_id_is_not_an_endpoint(api):
    heartbeat = created(api.post("/heartbeats", json={"name": "Backup"}))
    assert_error(api.get(f"/endpoints/{heartbeat['id'] + 1}"), 404)


def test_body_errors_use_the_envelope(api):
    assert_error(api.post("/endpoints", data="{", headers={"Content-Type": "application/json"}),
                 400)
    assert_error(api.post("/endpoints", data="name=x"), 415)


# --- auth -------------------------------------------------------------------------------------

def test_a_read_token_reads_but_cannot_write(api, read_api):
    endpoint = new_endpoint(api)
    path = f"/endpoints/{endpoint['id']}"
    assert ok(read_api.get("/endpoints"))["total"] == 1
    assert ok(read_api.get(path))["id"] == endpoint["id"]
    assert ok(read_api.get(path + "/history"))["total"] == 90
    assert_error(read_api.post("/endpoints", json={"name": "X", "target": "http://x.test"}), 403)
    assert_error(read_api.put(path, json={"name": "X"}), 403)
    assert_error(read_api.delete(path), 403)
    assert ok(api.get(path))["name"] == "API"


def test_a_read_token_sees_header_names_but_not_their_values(api, read_api):
    endpoint = new_endpoint(api, headers={"Authorization": "Bearer s3cret"})
    path = f"/endpoints/{endpoint['id']}"
    assert ok(read_api.get(path))["headers"] == {"Authorization": "***"}
    assert ok(read_api.get("/endpoints"))["items"][0]["headers"] == {"Authorization": "***"}
    assert ok(api.get(path))["headers"] == {"Authorization": "Bearer s3cret"}


def test_no_token_is_401(client):
    assert_error(client.get("/api/v1/endpoints"), 401)
    assert_error(client.post("/api/v1/endpoints", json={}), 401)


# --- change -----------------------------------------------------------------------------------

def test_put_changes_only_what_it_names(api):
    endpoint = new_endpoint(api, keyword="healthy", headers={"X-A": "1"})
    changed = ok(api.put(f"/endpoints/{endpoint['id']}",
                         json={"method": "POST", "latency_threshold_ms": 250, "keyword": None}))
    assert pick(changed, "method", "latency_threshold_ms", "keyword", "headers", "target") == {
        "method": "POST", "latency_threshold_ms": 250, "keyword": None, "headers": {"X-A": "1"},
        "target": endpoint["target"]}
    assert changed["updated_at"] >= endpoint["updated_at"]
    assert changed["created_at"] == endpoint["created_at"]
    assert ok(api.get(f"/endpoints/{endpoint['id']}")) == changed


def test_put_with_an_empty_or_same_body_changes_nothing(api):
    endpoint = new_endpoint(api)
    expected = {k: v for k, v in endpoint.items() if k != "certificate_id"}
    assert ok(api.put(f"/endpoints/{endpoint['id']}", json={})) == expected
    assert ok(api.put(f"/endpoints/{endpoint['id']}",
                      json={"name": "API", "interval_seconds": 60})) == expected


def set_state(monitor_id, status, **fields):
    """Put an endpoint in a state directly, as probes would have."""
    endpoint = db.session.get(Endpoint, monitor_id)
    endpoint.status = status
    for name, value in fields.items():
        setattr(endpoint, name, value)
    db.session.commit()


def test_a_new_target_starts_again_from_no_result(api):
    endpoint = new_endpoint(api)
    set_state(endpoint["id"], "down", last_error="connection refused", last_latency_ms=3.0)
    changed = ok(api.put(f"/endpoints/{endpoint['id']}",
                         json={"target": "https://api2.example.com/health"}))
    assert (changed["status"], changed["last_error"], changed["last_latency_ms"]) == \
        ("unknown", None, None)
    reasons = db.session.scalars(db.select(MonitorTransition.reason).where(
        MonitorTransition.monitor_id == endpoint["id"])).all()
    assert reasons == ["target changed"]


def test_other_changes_keep_the_state(api):
    endpoint = new_endpoint(api)
    set_state(endpoint["id"], "down", last_error="HTTP 503")
    changed = ok(api.put(f"/endpoints/{endpoint['id']}", json={"expected_statuses": "200-503"}))
    assert (changed["status"], changed["last_error"]) == ("down", "HTTP 503")


def test_pause_and_resume(api):
    endpoint = new_endpoint(api)
    set_state(endpoint["id"], "down", last_error="HTTP 500")
    paused = ok(api.put(f"/endpoints/{endpoint['id']}", json={"paused": True}))
    assert (paused["paused"], paused["status"]) == (True, "down")
    resumed = ok(api.put(f"/endpoints/{endpoint['id']}", json={"paused": False}))
    assert (resumed["paused"], resumed["status"], resumed["last_error"]) == (False, "unknown", None)


# --- delete -----------------------------------------------------------------------------------

def test_delete_answers_204_and_forgets_the_endpoint(api):
    endpoint = new_endpoint(api)
    response = api.delete(f"/endpoints/{endpoint['id']}")
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(api.get(f"/endpoints/{endpoint['id']}"), 404)
    assert_error(api.delete(f"/endpoints/{endpoint['id']}"), 404)
    assert ok(api.get("/endpoints"))["total"] == 0


# --- the probe schedule -----------------------------------------------------------------------

def test_a_new_endpoint_is_scheduled_once(api):
    endpoint = new_endpoint(api, interval_seconds=30)
    assert scheduled("endpoint", endpoint["id"]) == [f"endpoint:{endpoint['id']}:30"]


def test_a_new_interval_replaces_the_schedule_entry(api):
    endpoint = new_endpoint(api, interval_seconds=30)
    ok(api.put(f"/endpoints/{endpoint['id']}", json={"interval_seconds": 45}))
    assert scheduled("endpoint", endpoint["id"]) == [f"endpoint:{endpoint['id']}:45"]
    ok(api.put(f"/endpoints/{endpoint['id']}", json={"name": "Renamed"}))
    assert scheduled("endpoint", endpoint["id"]) == [f"endpoint:{endpoint['id']}:45"]


def test_a_paused_endpoint_is_off_the_schedule_until_resumed(api):
    endpoint = new_endpoint(api)
    ok(api.put(f"/endpoints/{endpoint['id']}", json={"paused": True}))
    assert scheduled("endpoint", endpoint["id"]) == []
    ok(api.put(f"/endpoints/{endpoint['id']}", json={"interval_seconds": 90}))
    assert scheduled("endpoint", endpoint["id"]) == []
    ok(api.put(f"/endpoints/{endpoint['id']}", json={"paused": False}))
    assert scheduled("endpoint", endpoint["id"]) == [f"endpoint:{endpoint['id']}:90"]


def test_an_endpoint_created_paused_is_not_scheduled(api):
    endpoint = new_endpoint(api, paused=True)
    assert scheduled("endpoint", endpoint["id"]) == []


def test_a_deleted_endpoint_leaves_the_schedule(api):
    endpoint = new_endpoint(api)
    other = new_endpoint(api, "Other")
    assert api.delete(f"/endpoints/{endpoint['id']}").status_code == 204
    assert scheduled("endpoint", endpoint["id"]) == []
    assert scheduled("endpoint", other["id"]) == [f"endpoint:{other['id']}:60"]


# --- track_certificate ------------------------------------------------------------------------

def test_track_certificate_creates_a_certificate_monitor(api):
    endpoint = new_endpoint(api, "Shop", target="https://Shop.Example.com:8443/health",
                            track_certificate=True)
    assert endpoint["certificate_id"] is not None
    certificate = ok(api.get(f"/certificates/{endpoint['certificate_id']}"))
    assert pick(certificate, "name", "host", "port", "server_name", "warning_days", "status",
                "paused") == {
        "name": "Shop certificate", "host": "shop.example.com", "port": 8443,
        "server_name": None, "warning_days": 30, "status": "unknown", "paused": False}
    assert scheduled("certificate", certificate["id"]) == [f"certificate:{certificate['id']}:3600"]
    assert "track_certificate" not in ok(api.get(f"/endpoints/{endpoint['id']}"))


def test_track_certificate_defaults_to_port_443_and_fits_the_name(api):
    endpoint = new_endpoint(api, "N" * 200, target="https://example.com", track_certificate=True)
    certificate = ok(api.get(f"/certificates/{endpoint['certificate_id']}"))
    assert certificate["port"] == 443
    assert len(certificate["name"]) == 200 and certificate["name"].endswith(" certificate")


@pytest.mark.parametrize("target", ["http://example.com", "tcp://example.com:443"])
def test_track_certificate_needs_an_https_target(api, target):
    body = {"name": "API", "target": target, "track_certificate": True}
    assert_error(api.post("/endpoints", json=body), 422, "track_certificate")
    assert ok(api.get("/certificates"))["total"] == 0
    assert ok(api.get("/endpoints"))["total"] == 0


def test_track_certificate_false_creates_nothing(api):
    endpoint = new_endpoint(api, track_certificate=False)
    assert endpoint["certificate_id"] is None
    assert ok(api.get("/certificates"))["total"] == 0


# --- the API description ----------------------------------------------------------------------

MONITOR_OPERATIONS = {
    (method, path.format(kind=kind, noun=kind[:-1]))
    for kind in ("endpoints", "heartbeats", "certificates", "containers")
    for method, path in [("GET", "/{kind}"), ("GET", "/{kind}/{{{noun}_id}}"),
                         ("PUT", "/{kind}/{{{noun}_id}}"), ("DELETE", "/{kind}/{{{noun}_id}}"),
                         ("GET", "/{kind}/{{{noun}_id}}/history")]
} | {("POST", "/endpoints"), ("POST", "/heartbeats"), ("POST", "/certificates")}


def test_the_api_description_lists_every_monitor_route(spec):
    documented = {(method.upper(), path) for path, item in spec["paths"].items()
                  for method in item}
    assert MONITOR_OPERATIONS <= documented
    assert ("POST", "/containers") not in documented
    validate(spec)


def test_monitor_answers_match_their_documented_schemas(api, spec):
    endpoint = new_endpoint(api, target="https://a.example", track_certificate=True)
    status, documented = success_response(spec, "POST", "/endpoints")
    assert status == 201
    assert_matches(spec, documented["content"]["application/json"]["schema"], endpoint)
    certificate = db.session.get(Certificate, endpoint["certificate_id"])
    certificate.expires_at = utcnow()
    now = utcnow()
    container = Container(name="web", container_name="web", status="running", created_at=now,
                          updated_at=now)
    db.session.add(container)
    db.session.commit()
    heartbeat = created(api.post("/heartbeats", json={"name": "Backup"}))
    filled = {"endpoint_id": endpoint["id"], "heartbeat_id": heartbeat["id"],
              "certificate_id": certificate.id, "container_id": container.id}
    for method, path in sorted(MONITOR_OPERATIONS):
        if method not in {"GET", "PUT"}:
            continue
        response = api.request(method, path.format(**filled),
                               json={"paused": False} if method == "PUT" else None)
        status, documented = success_response(spec, method, path)
        assert response.status_code == status, (method, path, response.get_json())
        assert_matches(spec, documented["content"]["application/json"]["schema"],
                       response.get_json())


@pytest.mark.parametrize("path, required", [
    ("/endpoints", {"name", "target"}), ("/heartbeats", {"name"}),
    ("/certificates", {"name", "host"}),
])
def test_documented_required_fields_are_the_required_ones(api, spec, path, required):
    assert set(body_schema(spec, "POST", path)["required"]) == required
    assert set(assert_error(api.post(path, json={}), 422)["fields"]) == required


# --- hostile input, as tests/api/test_errors.py sends the status routes -------------------------

def monitor_bodies(api):
    """{(method, path): a valid body} for every monitor route that takes a body."""
    endpoint = new_endpoint(api)
    heartbeat = created(api.post("/heartbeats", json={"name": "Backup"}))
    certificate = created(api.post("/certificates", json={"name": "TLS", "host": "a.example"}))
    now = utcnow()
    container = Container(name="web", container_name="web", status="running", created_at=now,
                          updated_at=now)
    db.session.add(container)
    db.session.commit()
    endpoint_body = dict(FULL_BODY)
    heartbeat_body = {"name": "Backup", "interval_seconds": 600, "grace_seconds": 30,
                      "paused": False}
    certificate_body = {"name": "TLS", "host": "a.example", "port": 8443,
                        "server_name": "b.example", "warning_days": 10, "interval_seconds": 600,
                        "failure_threshold": 3, "paused": False}
    return {
        ("POST", "/endpoints"): {**endpoint_body, "track_certificate": False},
        ("PUT", f"/endpoints/{endpoint['id']}"): endpoint_body,
        ("POST", "/heartbeats"): heartbeat_body,
        ("PUT", f"/heartbeats/{heartbeat['id']}"): heartbeat_body,
        ("POST", "/certificates"): certificate_body,
        ("PUT", f"/certificates/{certificate['id']}"): certificate_body,
        ("PUT", f"/containers/{container.id}"): {"name": "Web", "paused": False},
    }


# Values a field of these kinds does accept, though no status route field does.
ACCEPTED_HERE = {("timeout_seconds", "1.5"), ("headers", '{"nested": "object"}')}


def test_the_monitor_bodies_are_accepted(api):
    for (method, path), body in monitor_bodies(api).items():
        response = api.request(method, path, json=body)
        assert response.status_code in (200, 201), (method, path, response.get_json())


@pytest.mark.parametrize("value", NEVER_VALID, ids=short_repr)
def test_values_no_monitor_field_accepts_are_422_naming_the_field(api, value):
    for (method, path), body in monitor_bodies(api).items():
        for field in body:
            if (field, json.dumps(value)) in ACCEPTED_HERE:
                continue
            response = send_with(api, method, path, body, field, value)
            assert response.status_code == 422, (method, path, field, response.get_json())
            assert_error(response, 422, field)


@pytest.mark.parametrize("value", SOMETIMES_VALID, ids=short_repr)
def test_odd_values_in_monitor_bodies_never_answer_500(api, value):
    for (method, path), body in monitor_bodies(api).items():
        for field in body:
            response = send_with(api, method, path, body, field, value)
            assert response.status_code in (200, 201, 422), (method, path, field,
                                                             response.get_json())
            if response.status_code == 422:
                assert set(assert_error(response, 422)["fields"]) & set(body)
