"""/api/v1/certificates: certificate monitors, days left, pause and the schedule."""

from datetime import timedelta

import pytest

from maintenant.extensions import db
from maintenant.models import Certificate, utcnow

from .helpers import assert_error, created, ids, ok, pick
from .test_endpoints import scheduled

RESPONSE_FIELDS = {
    "id", "name", "paused", "status", "status_changed_at", "last_checked_at", "last_error",
    "interval_seconds", "failure_threshold", "created_at", "updated_at", "host", "port",
    "server_name", "warning_days", "expires_at", "issuer", "subject", "days_left",
}


def new_certificate(api, name="Shop TLS", host="shop.example.com", **fields):
    return created(api.post("/certificates", json={"name": name, "host": host, **fields}))


def test_create_answers_201_with_the_certificate(api):
    sent = {"name": "Shop TLS", "host": "10.0.0.7", "port": 8443, "server_name": "shop.example.com",
            "warning_days": 14, "interval_seconds": 600, "failure_threshold": 1, "paused": False}
    certificate = created(api.post("/certificates", json=sent))
    assert set(certificate) == RESPONSE_FIELDS
    assert pick(certificate, *sent) == sent
    assert pick(certificate, "status", "expires_at", "issuer", "subject", "days_left") == {
        "status": "unknown", "expires_at": None, "issuer": None, "subject": None,
        "days_left": None}
    assert ok(api.get(f"/certificates/{certificate['id']}")) == certificate


def test_create_fills_in_defaults(api):
    certificate = new_certificate(api)
    assert pick(certificate, "port", "server_name", "warning_days", "interval_seconds",
                "failure_threshold", "paused") == {
        "port": 443, "server_name": None, "warning_days": 30, "interval_seconds": 3600,
        "failure_threshold": 2, "paused": False}


@pytest.mark.parametrize("host", ["example.com", "a-b.example.co.uk.", "localhost", "127.0.0.1",
                                  "::1", "2001:db8::5", "bücher.example"])
def test_accepted_hosts(api, host):
    assert new_certificate(api, host=host)["host"] == host


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({}, "host"),
    ({"name": "TLS"}, "host"),
    ({"name": "TLS", "host": ""}, "host"),
    ({"name": "TLS", "host": "https://example.com"}, "host"),
    ({"name": "TLS", "host": "example.com:443"}, "host"),
    ({"name": "TLS", "host": "exa mple.com"}, "host"),
    ({"name": "TLS", "host": "-bad.example.com"}, "host"),
    ({"name": "TLS", "host": "a..b"}, "host"),
    ({"name": "TLS", "host": "[::1]"}, "host"),
    ({"name": "TLS", "host": "x" * 64 + ".com"}, "host"),
    ({"name": "TLS", "host": "example.com", "port": 0}, "port"),
    ({"name": "TLS", "host": "example.com", "port": 65536}, "port"),
    ({"name": "TLS", "host": "example.com", "port": "443"}, "port"),
    ({"name": "TLS", "host": "example.com", "server_name": "bad name"}, "server_name"),
    ({"name": "TLS", "host": "example.com", "warning_days": 0}, "warning_days"),
    ({"name": "TLS", "host": "example.com", "warning_days": 366}, "warning_days"),
    ({"name": "TLS", "host": "example.com", "interval_seconds": 59}, "interval_seconds"),
    ({"name": "TLS", "host": "example.com", "days_left": 3}, "days_left"),
    ({"name": "TLS", "host": "example.com", "expires_at": "2030-01-01T00:00:00Z"}, "expires_at"),
])
def test_invalid_bodies_are_422_naming_the_field(api, body, field):
    assert_error(api.post("/certificates", json=body), 422, field)
    assert ok(api.get("/certificates"))["total"] == 0


def expiring(certificate_id, expires_at, status="valid"):
    row = db.session.get(Certificate, certificate_id)
    row.expires_at, row.status = expires_at, status
    row.issuer, row.subject = "CN=Test CA", "CN=shop.example.com"
    db.session.commit()


@pytest.mark.parametrize("expires_in, days_left", [
    (timedelta(days=40, hours=1), 40),
    (timedelta(days=3, hours=23), 3),
    (timedelta(hours=5), 0),
    (timedelta(hours=-5), -1),
    (timedelta(days=-2, hours=-1), -3),
])
def test_days_left_is_derived_from_expires_at_rounding_down(api, expires_in, days_left):
    certificate = new_certificate(api)
    expiring(certificate["id"], utcnow() + expires_in)
    fetched = ok(api.get(f"/certificates/{certificate['id']}"))
    assert fetched["days_left"] == days_left
    assert (fetched["issuer"], fetched["subject"]) == ("CN=Test CA", "CN=shop.example.com")


def test_a_new_host_forgets_what_the_old_one_served(api):
    certificate = new_certificate(api)
    expiring(certificate["id"], utcnow() + timedelta(days=3), status="expiring")
    changed = ok(api.put(f"/certificates/{certificate['id']}", json={"port": 8443}))
    assert pick(changed, "status", "expires_at", "issuer", "subject", "days_left") == {
        "status": "unknown", "expires_at": None, "issuer": None, "subject": None,
        "days_left": None}


def test_warning_days_keeps_what_was_read(api):
    certificate = new_certificate(api)
    expiring(certificate["id"], utcnow() + timedelta(days=3, hours=1), status="expiring")
    changed = ok(api.put(f"/certificates/{certificate['id']}", json={"warning_days": 2}))
    assert (changed["status"], changed["days_left"]) == ("expiring", 3)


def test_list_is_ordered_by_name_then_id(api):
    b = new_certificate(api, "B")
    a = new_certificate(api, "A")
    assert ids(ok(api.get("/certificates"))["items"]) == ids([a, b])


def test_schedule_follows_create_change_pause_and_delete(api):
    certificate = new_certificate(api)
    path = f"/certificates/{certificate['id']}"
    assert scheduled("certificate", certificate["id"]) == [f"certificate:{certificate['id']}:3600"]
    ok(api.put(path, json={"interval_seconds": 86400}))
    assert scheduled("certificate", certificate["id"]) == [f"certificate:{certificate['id']}:86400"]
    ok(api.put(path, json={"paused": True}))
    assert scheduled("certificate", certificate["id"]) == []
    ok(api.put(path, json={"paused": False}))
    assert scheduled("certificate", certificate["id"]) == [f"certificate:{certificate['id']}:86400"]
    assert api.delete(path).status_code == 204
    assert scheduled("certificate", certificate["id"]) == []
    assert_error(api.get(path), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_ids_are_404(api, method):
    assert_error(api.request(method, "/certificates/404", json={} if method == "PUT" else None),
                 404)


def test_a_read_token_cannot_write(api, read_api):
    certificate = new_certificate(api)
    assert ok(read_api.get("/certificates"))["total"] == 1
    assert_error(read_api.post("/certificates", json={"name": "X", "host": "x.test"}), 403)
    assert_error(read_api.put(f"/certificates/{certificate['id']}", json={"port": 1}), 403)
    assert_error(read_api.delete(f"/certificates/{certificate['id']}"), 403)
