"""Helpers shared by the operator API tests: the error envelope, times."""

from datetime import datetime, timedelta, timezone


def assert_error(response, status, *fields):
    """``response`` is the API's JSON error envelope with ``status``, naming each of ``fields``.

    Returns:
        The ``error`` object, for further assertions.
    """
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    for name in fields:
        assert name in error["fields"], f"{name!r} not named in {error['fields']!r}"
    return error


def iso(moment):
    """A time as the API is sent it: ISO 8601 with an offset."""
    return moment.isoformat()


def from_now(**delta):
    """An aware UTC time ``delta`` away from now, e.g. ``from_now(hours=-1)``."""
    return datetime.now(timezone.utc).replace(microsecond=0) + timedelta(**delta)


def ids(items):
    return [item["id"] for item in items]


def created(response):
    """The resource a create answered, which must be a 201."""
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    return response.get_json()


def ok(response):
    """The body of a 200 answer."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()


def new_group(api, name="Core", **fields):
    return created(api.post("/status/groups", json={"name": name, **fields}))


def new_component(api, name="API", **fields):
    return created(api.post("/status/components", json={"name": name, **fields}))


def new_incident(api, title="Elevated errors", severity="major", components=(), **fields):
    body = {"title": title, "severity": severity, "message": "We are looking into it.",
            "components": [c["id"] for c in components], **fields}
    return created(api.post("/status/incidents", json=body))


def new_window(api, title="Upgrade", starts=timedelta(days=1), lasts=timedelta(hours=1),
               components=(), **fields):
    """A maintenance window starting ``starts`` from now (negative: already started)."""
    starts_at = from_now() + starts
    body = {"title": title, "starts_at": iso(starts_at), "ends_at": iso(starts_at + lasts),
            "components": [c["id"] for c in components], **fields}
    return created(api.post("/status/maintenance", json=body))


def status_of(api, component):
    """A component's effective status as the API reports it now."""
    return ok(api.get(f"/status/components/{component['id']}"))["status"]


def pick(resource, *names):
    """Just the named fields of a resource, to compare with what was sent."""
    return {name: resource[name] for name in names}
