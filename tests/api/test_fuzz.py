"""Property-based fuzzing of the whole operator API from /api/v1/openapi.json (schemathesis).

Every operation the document describes is called with generated requests, valid ones and
invalid ones, in-process through the WSGI app, with a write token; the path ids are drawn
mostly from objects seeded first, so the fuzzing reaches past the 404s. Every answer must be
documented (status code, content type, body schema), no answer may be a 5xx, and every 4xx
carries the error envelope. A second pass with a read-only token: every write is a 403.
A stateful pass follows the document's links (create -> get, change, delete, actions).

Generation is derandomized, so a run is reproducible; the number of cases is printed.
"""

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from conftest import Api, empty_tables
from maintenant.extensions import db
from maintenant.models import Alert, Container, Subscriber, utcnow
from maintenant.services.tokens import create_token

from . import test_openapi as openapi_tests
from .helpers import from_now, iso, new_component, new_group, new_incident, new_window

# Examples per operation and generation mode; about 60 operations -> over 2,000 cases.
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 12}
READ_ONLY_EXAMPLES = 5
STATEFUL_SCENARIOS = 60
MINIMUM_CASES = 1000
# Most generated path ids are random integers (404s); these draw a seeded id instead.
SEEDED_ID_SHARE = 0.8
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def fuzz_settings(max_examples, **extra):
    return settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture],
                    **extra)


def error_envelope(ctx, response, case):
    """A 4xx answers the one error envelope: {"error": {"code", "message", "fields"}}."""
    if not 400 <= response.status_code < 500:
        return None
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["fields"], dict), error
    return None


def exactly_as_documented(ctx, response, case):
    """A 2xx body has every documented property and no undocumented one (test_openapi's
    strict reading: marshmallow's schemas leave additionalProperties open)."""
    status = str(response.status_code)
    documented = case.operation.definition.raw["responses"].get(status, {})
    if not status.startswith("2") or "content" not in documented:
        return None
    spec = case.operation.schema.raw_schema
    openapi_tests.assert_matches(spec, documented["content"]["application/json"]["schema"],
                                 response.json())
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, error_envelope, exactly_as_documented]


def write_is_forbidden(ctx, response, case):
    """With a read-only token, every write answers 403."""
    if case.method.upper() in WRITES:
        assert response.status_code == 403, (case.method, case.path, response.status_code)
    return None


@pytest.fixture
def fuzz_app(app):
    # A mail server is configured (nothing listens: the worker would send, not the API), so
    # POST /status/subscribers/test queues its message instead of answering 503.
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=9)
    return app


@pytest.fixture
def schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


@pytest.fixture
def seeded(api):
    return seed(api)


def seed(api):
    """A few objects of each kind, in the states the actions need: their ids, keyed by path
    parameter."""
    groups = [new_group(api, f"Group {n}") for n in range(3)]
    components = [new_component(api, f"Component {n}", group_id=groups[n % 2]["id"])
                  for n in range(3)]
    incidents = [new_incident(api, components=components[:1]),
                 new_incident(api, "Draft", severity="minor", draft=True),
                 new_incident(api, "Done", severity="critical", status="resolved")]
    windows = [new_window(api, components=components[:2]),
               new_window(api, "Running", starts=timedelta(minutes=-10)),
               new_window(api, "Weekly", starts=timedelta(days=2),
                          recurrence={"frequency": "weekly", "interval": 1,
                                      "until": iso(from_now(days=60))})]
    endpoints = [api.post("/endpoints", json={"name": f"Site {n}",
                                              "target": f"https://e{n}.example"}).get_json()
                 for n in range(2)]
    heartbeats = [api.post("/heartbeats", json={"name": f"Backup {n}"}).get_json()
                  for n in range(2)]
    certificates = [api.post("/certificates", json={"name": f"TLS {n}",
                                                    "host": f"c{n}.example"}).get_json()
                    for n in range(2)]
    channels = [api.post("/alert-channels", json={"name": "Ops", "type": "webhook",
                                                  "url": "https://hooks.example/ops"}).get_json()]
    subscribers = [Subscriber(email=f"reader{n}@example.com", confirmed=bool(n))
                   for n in range(3)]
    containers = [Container(name=f"web{n}", container_name=f"web{n}", status="running",
                            created_at=utcnow(), updated_at=utcnow()) for n in range(2)]
    alerts = [Alert(monitor_type="endpoint", monitor_id=endpoints[0]["id"], monitor_name="Site",
                    from_status="up", to_status="down", status="no_channels")]
    db.session.add_all(subscribers + containers + alerts)
    db.session.commit()
    ids = {"group_id": groups, "component_id": components, "incident_id": incidents,
           "maintenance_id": windows, "endpoint_id": endpoints, "heartbeat_id": heartbeats,
           "certificate_id": certificates, "channel_id": channels, "subscriber_id": subscribers,
           "container_id": containers, "alert_id": alerts}
    ids = {name: [obj["id"] if isinstance(obj, dict) else obj.id for obj in objs]
           for name, objs in ids.items()}
    db.session.remove()
    return ids


def operations(schema):
    """Every operation, deletes last so that the other operations meet the seeded objects."""
    found = [result.ok() for result in schema.get_all_operations()]
    order = {"GET": 0, "PUT": 1, "POST": 2, "DELETE": 3}
    return sorted(found, key=lambda op: (order[op.method.upper()], op.path))


def cases(operation, seeded, mode):
    """Generated cases for ``operation``; its path ids mostly drawn from the seeded objects."""
    generated = operation.as_strategy(generation_mode=mode)
    names = [parameter.name for parameter in operation.path_parameters]
    if not names or not mode.is_positive:
        return generated
    real_ids = st.fixed_dictionaries({name: st.sampled_from(seeded[name]) for name in names})
    with_real_ids = real_ids.flatmap(
        lambda ids: operation.as_strategy(generation_mode=mode, path_parameters=ids))
    return st.integers(0, 9).flatmap(
        lambda n: with_real_ids if n < SEEDED_ID_SHARE * 10 else generated)


def fuzz(operation, strategy, headers, checks, max_examples, counts):
    @fuzz_settings(max_examples)
    @given(case=strategy)
    def run(case):
        counts[operation.label] = counts.get(operation.label, 0) + 1
        try:
            case.call_and_validate(headers=headers, checks=checks)
        finally:
            db.session.remove()

    run()


def test_every_operation_answers_as_documented(schema, seeded, write_token):
    headers = {"Authorization": f"Bearer {write_token}"}
    counts = {}
    for operation in operations(schema):
        for mode, examples in EXAMPLES.items():
            fuzz(operation, cases(operation, seeded, mode), headers, CHECKS, examples, counts)
    total = sum(counts.values())
    print(f"\nschemathesis: {total} cases across {len(counts)} operations")
    assert len(counts) >= 60
    assert total >= MINIMUM_CASES


def test_a_read_only_token_is_refused_every_write(schema, seeded, read_token):
    headers = {"Authorization": f"Bearer {read_token}"}
    counts = {}
    for operation in operations(schema):
        fuzz(operation, cases(operation, seeded, GenerationMode.POSITIVE), headers,
             [*CHECKS, write_is_forbidden], READ_ONLY_EXAMPLES, counts)
    print(f"\nschemathesis, read-only token: {sum(counts.values())} cases")
    assert sum(counts.values()) >= READ_ONLY_EXAMPLES * len(counts)


def test_linked_operations_follow_what_was_created(schema, client):
    """Stateful: the document's links take a created object's id to its get, change,
    delete and actions (publish, updates, complete, cancel, history, test)."""
    headers = {}
    steps = []

    class Workflow(schema.as_state_machine()):
        def setup(self):
            # Every scenario starts from the same database, so that generation replays.
            # (No transaction of this session may stay open: PostgreSQL's TRUNCATE waits on it.)
            db.session.remove()
            empty_tables()
            headers["Authorization"] = f"Bearer {create_token('fuzz')[1]}"
            seed(Api(client, headers["Authorization"].split()[1]))

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def after_call(self, response, case):
            steps.append((case.method.upper(), case.operation.path, response.status_code))
            db.session.remove()

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=headers)

    Workflow.run(settings=fuzz_settings(STATEFUL_SCENARIOS, stateful_step_count=8))
    followed = {(method, path) for method, path, status in steps if status < 300}
    print(f"\nschemathesis, stateful: {len(steps)} calls in {STATEFUL_SCENARIOS} scenarios, "
          f"{len(followed)} operations answered 2xx")
    # Links led from creates to operations on the created objects.
    assert len({path for _, path in followed if "{" in path}) >= 2, sorted(followed)
