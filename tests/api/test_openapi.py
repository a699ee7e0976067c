"""/api/v1/openapi.json: a valid OpenAPI 3 document that describes the API as it answers."""

import copy
import re
from datetime import timedelta

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from factories import make_component, make_group, make_incident, make_maintenance
from maintenant.extensions import db
from maintenant.models import Alert, AlertChannel, Container, Subscriber, utcnow
from maintenant.services import monitor_config

PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
PATH_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@pytest.fixture
def spec(client):
    response = client.get(PREFIX + "/openapi.json")   # no token: the description is public
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def api_operations(app):
    """(METHOD, OpenAPI path) of every url rule under /api/v1 but the description itself."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/") or rule.endpoint == "api.openapi":
            continue
        path = PATH_PARAM.sub(r"{\1}", rule.rule[len(PREFIX):])
        operations |= {(method, path) for method in rule.methods - IGNORED_METHODS}
    return operations


def spec_operations(spec):
    return {(method.upper(), path) for path, item in spec["paths"].items()
            for method in item if method in {"get", "post", "put", "patch", "delete"}}


def resolve(spec, schema):
    """``schema`` with every $ref to a component replaced by the component itself."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return resolve(spec, spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
        return {key: resolve(spec, value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [resolve(spec, item) for item in schema]
    return schema


def exhaustive(schema):
    """A response schema read strictly: every property present, none undocumented."""
    schema = copy.deepcopy(schema)
    if isinstance(schema, dict):
        if "properties" in schema:
            schema.setdefault("required", sorted(schema["properties"]))
            schema.setdefault("additionalProperties", False)
        return {key: exhaustive(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [exhaustive(item) for item in schema]
    return schema


def success_response(spec, method, path):
    responses = spec["paths"][path][method.lower()]["responses"]
    [(status, response)] = [(int(code), r) for code, r in responses.items() if code.startswith("2")]
    return status, response


def is_action(spec, method, path):
    """A POST that acts on an object (e.g. /incidents/{id}/publish): no body, answers 200
    (202 when a worker does the rest, e.g. /alert-channels/{id}/test)."""
    operation = spec["paths"][path][method.lower()]
    return method == "POST" and "requestBody" not in operation and \
        success_response(spec, method, path)[0] in (200, 202)


def body_schema(spec, method, path):
    body = spec["paths"][path][method.lower()]["requestBody"]
    return resolve(spec, body["content"]["application/json"]["schema"])


def assert_matches(spec, schema, document):
    validator = OAS30Validator(exhaustive(resolve(spec, schema)),
                               format_checker=OAS30Validator.FORMAT_CHECKER)
    errors = [f"{list(error.absolute_path)}: {error.message}"
              for error in validator.iter_errors(document)]
    assert errors == []


@pytest.fixture
def objects(app):
    """One of each object, so that every path can be filled with a real id."""
    group = make_group("Core")
    component = make_component("API", group_id=group.id)
    incident = make_incident(severity="minor", components_=[component])
    window = make_maintenance(components_=[component], starts_in=timedelta(days=1))
    subscriber = Subscriber(email="reader@example.com", confirmed=True)
    db.session.add(subscriber)
    container = Container(name="web", container_name="web", status="running",
                          created_at=utcnow(), updated_at=utcnow())
    db.session.add(container)
    channel = AlertChannel(name="Ops", type="webhook", url="https://hooks.example/ops")
    alert = Alert(monitor_type="endpoint", monitor_id=1, monitor_name="API", from_status="up",
                  to_status="down", status="no_channels")
    db.session.add_all([channel, alert])
    db.session.commit()
    endpoint, _ = monitor_config.create_endpoint({"name": "API", "target": "https://a.example"})
    heartbeat = monitor_config.create_heartbeat({"name": "Backup"})
    certificate = monitor_config.create_certificate({"name": "TLS", "host": "a.example"})
    return {"group_id": group.id, "component_id": component.id, "incident_id": incident.id,
            "maintenance_id": window.id, "subscriber_id": subscriber.id,
            "endpoint_id": endpoint.id, "heartbeat_id": heartbeat.id,
            "certificate_id": certificate.id, "container_id": container.id,
            "alert_id": alert.id, "channel_id": channel.id}


def fill(path, ids):
    """An OpenAPI path with its parameters filled in: /status/groups/{group_id} -> .../1."""
    return path.format(**ids)


def test_the_document_is_valid_openapi_3(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert spec["servers"] == [{"url": "http://status.test/api/v1"}]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_api_route_is_described_with_its_method(app, spec):
    assert api_operations(app)                       # the walk found the API
    assert api_operations(app) - spec_operations(spec) == set()


def test_the_document_describes_no_route_the_api_lacks(app, spec):
    assert spec_operations(spec) - api_operations(app) == set()


def test_every_route_declares_its_path_parameters_and_bearer_auth(spec):
    for path, item in spec["paths"].items():
        names = re.findall(r"{([^}]+)}", path)
        for method, operation in item.items():
            declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            assert declared == names, (method, path)
            assert operation["security"] == [{"bearer": []}], (method, path)
            assert "401" in operation["responses"], (method, path)


def test_every_write_has_a_request_body_schema(app, spec):
    writes = [(method, path) for method, path in api_operations(app) if method in {"POST", "PUT"}]
    assert writes
    for method, path in writes:
        if is_action(spec, method, path):
            continue
        schema = body_schema(spec, method, path)
        assert schema["type"] == "object" and schema["properties"], (method, path)


def test_every_route_has_a_success_response(app, spec):
    for method, path in api_operations(app):
        status, response = success_response(spec, method, path)
        if method == "DELETE":
            assert (status, response.get("content")) == (204, None), path
        else:
            creates = method == "POST" and not is_action(spec, method, path)
            # 202: the work is queued for a worker (a test message), nothing is created here.
            assert status in ((201, 202) if creates else (200, 202)), (method, path)
            assert resolve(spec, response["content"]["application/json"]["schema"])["properties"], \
                (method, path)


def test_every_answer_matches_its_documented_schema(app, api, spec, objects):
    """GETs, and PUTs that change nothing, answer exactly what the document says."""
    checked = 0
    for method, path in sorted(api_operations(app)):
        if method not in {"GET", "PUT"}:
            continue
        response = api.request(method, fill(path, objects), json={} if method == "PUT" else None)
        status, documented = success_response(spec, method, path)
        assert response.status_code == status, (method, path, response.get_json())
        assert_matches(spec, documented["content"]["application/json"]["schema"],
                       response.get_json())
        checked += 1
    assert checked >= 10


def test_required_body_fields_are_the_ones_the_api_requires(app, api, spec, objects):
    for method, path in sorted(api_operations(app)):
        if method != "POST" or is_action(spec, method, path):
            continue
        response = api.post(fill(path, objects), json={})
        assert response.status_code == 422, path
        assert set(response.get_json()["error"]["fields"]) == \
            set(body_schema(spec, method, path).get("required", [])), path


def test_put_bodies_are_partial_and_closed(app, api, spec, objects):
    for method, path in sorted(api_operations(app)):
        if method != "PUT":
            continue
        schema = body_schema(spec, method, path)
        assert "required" not in schema, path
        assert all("default" not in field for field in schema["properties"].values()), path
        assert schema["additionalProperties"] is False, path
        response = api.put(fill(path, objects), json={"no_such_field": 1})
        assert response.status_code == 422, path
        assert "no_such_field" in response.get_json()["error"]["fields"], path


def test_errors_are_documented_with_the_envelope(api, spec, objects):
    response = api.get("/status/components/999999")
    assert response.status_code == 404
    documented = spec["paths"]["/status/components/{component_id}"]["get"]["responses"]["404"]
    assert_matches(spec, documented["content"]["application/json"]["schema"],
                   response.get_json())


def test_an_unavailable_service_is_documented(api, spec):
    """Found by tests/api/test_fuzz.py: with no mail server configured, a test message is a
    503, which the document did not list."""
    response = api.post("/status/subscribers/test", json={"email": "ops@example.com"})
    assert response.status_code == 503
    documented = spec["paths"]["/status/subscribers/test"]["post"]["responses"]["503"]
    assert_matches(spec, documented["content"]["application/json"]["schema"],
                   response.get_json())


def test_path_ids_are_documented_as_positive(spec):
    """Found by tests/api/test_fuzz.py: the router matches no negative id (a 404 before any
    token check), so the document says ids start at 1."""
    for path, item in spec["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["schema"] == {"type": "integer", "minimum": 1}, path
