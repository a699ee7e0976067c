"""Every /api/v1 route against missing, wrong, revoked, malformed and read-only tokens.

tests/api/test_auth.py covers the /api/v1/status routes and the header variants on one route;
this walks the whole url_map, monitors and alerts included, and checks how tokens are kept.
"""

import hashlib
import hmac

import pytest

from conftest import Api, make_config
from maintenant import create_app
from maintenant.extensions import db

from api.helpers import assert_error, created

# Ids of objects the tests create, by the argument name in the route; others are 1.
PUBLIC = {"/api/v1/openapi.json"}


def api_routes(app):
    """(method, rule, arguments) of every /api/v1 route, HEAD and OPTIONS aside."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule, sorted(rule.arguments)))
    return routes


def fill(rule, ids=None):
    """``rule`` with each ``<int:name>`` replaced by ``ids[name]`` or 1."""
    path = rule
    for name in ("alert_id", "channel_id", "component_id", "group_id", "incident_id",
                 "maintenance_id", "endpoint_id", "heartbeat_id", "certificate_id",
                 "container_id", "subscriber_id"):
        path = path.replace(f"<int:{name}>", str((ids or {}).get(name, 1)))
    assert "<" not in path, f"an argument this test does not know: {rule}"
    return path


def call(client, method, path, authorization=None):
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.open(path, method=method, json={}, headers=headers)


@pytest.fixture
def objects(api):
    """One of each object the API can create, by the route argument naming it."""
    group = created(api.post("/status/groups", json={"name": "Core"}))
    component = created(api.post("/status/components", json={"name": "API"}))
    incident = created(api.post("/status/incidents", json={
        "title": "Down", "severity": "major", "message": "Looking.",
        "components": [component["id"]]}))
    endpoint = created(api.post("/endpoints", json={"name": "site",
                                                    "target": "http://127.0.0.1:9/"}))
    heartbeat = created(api.post("/heartbeats", json={"name": "backup"}))
    return {"group_id": group["id"], "component_id": component["id"],
            "incident_id": incident["id"], "endpoint_id": endpoint["id"],
            "heartbeat_id": heartbeat["id"]}


def test_the_matrix_covers_every_part_of_the_api(app):
    prefixes = {rule.split("/")[3] for _, rule, _ in api_routes(app)}
    assert {"status", "endpoints", "heartbeats", "certificates", "containers", "alerts",
            "alert-channels"} <= prefixes
    assert len(api_routes(app)) >= 60


def test_every_route_refuses_a_request_without_a_token(app, client):
    for method, rule, _ in api_routes(app):
        response = call(client, method, fill(rule))
        error = assert_error(response, 401)
        assert error["code"] == "unauthorized", (method, rule)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, rule)


@pytest.mark.parametrize("authorization", [
    "Bearer mt_wrong",
    "Bearer {token}x",
    "Bearer",
    "Basic x",
    "Basic dGVzdDp0ZXN0",
    "Bearer " + "a" * 10_240,
    "Bearer tökén-ünïcode",
    "Bearer {token} extra",
    "Bearer\t{token}",
    "Bearer {token}\x00",
    "{token}",
])
def test_every_route_refuses_a_wrong_or_malformed_token(app, client, write_token, authorization):
    authorization = authorization.format(token=write_token)
    for method, rule, _ in api_routes(app):
        response = call(client, method, fill(rule), authorization)
        assert_error(response, 401)
        assert "WWW-Authenticate" in response.headers, (method, rule)


def test_extra_spaces_after_the_scheme_are_allowed(client, write_token):
    # RFC 6750: credentials = "Bearer" 1*SP b64token. More spaces are one token, not a trick.
    response = client.get("/api/v1/endpoints", headers={"Authorization": f"bearer  {write_token}"})
    assert response.status_code == 200


def test_every_route_refuses_a_token_revoked_with_the_command(app, client, runner, objects):
    made = runner.invoke(args=["tokens", "create", "soon-gone"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    assert client.get("/api/v1/endpoints",
                      headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    revoked = runner.invoke(args=["tokens", "revoke", "soon-gone"])
    assert revoked.exit_code == 0, revoked.output
    for method, rule, _ in api_routes(app):
        response = call(client, method, fill(rule, objects), f"Bearer {secret}")
        assert_error(response, 401)


def test_a_read_only_token_gets_403_on_every_write_and_reads_everything(app, client, runner,
                                                                        api, objects):
    made = runner.invoke(args=["tokens", "create", "auditor", "--read-only"])
    assert made.exit_code == 0, made.output
    reader = Api(client, made.stdout.strip().splitlines()[0])
    before = {path: api.get(path).get_json() for path in
              ("/status/groups", "/status/components", "/status/incidents", "/endpoints",
               "/heartbeats")}
    writes = 0
    for method, rule, _ in api_routes(app):
        path = fill(rule, objects).replace("/api/v1", "", 1)
        response = reader.request(method, path, json={"name": "changed"})
        if method == "GET":
            assert response.status_code in (200, 404), (method, rule, response.status_code)
            assert response.status_code == 200 or "<int:" in rule, (method, rule)
        else:
            error = assert_error(response, 403)
            assert error["code"] == "forbidden"
            writes += 1
    assert writes >= 30
    # Nothing changed: the 403 came before any write.
    for path, body in before.items():
        assert api.get(path).get_json() == body, path


def test_the_api_description_is_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.")


def test_the_database_keeps_only_the_hash_of_a_token(app, runner):
    made = runner.invoke(args=["tokens", "create", "stored"])
    secret = made.stdout.strip().splitlines()[0]
    with db.engine.connect() as connection:
        columns = connection.execute(db.text("SELECT * FROM api_tokens")).keys()
        rows = [tuple(row) for row in connection.execute(db.text("SELECT * FROM api_tokens"))]
    assert len(rows) == 1
    assert not any(secret in str(value) for value in rows[0])
    assert not any(secret[3:20] in str(value) for value in rows[0])  # not even part of it
    assert hashlib.sha256(secret.encode()).hexdigest() in rows[0]
    assert [name for name in columns if "token" in name or "secret" in name] == ["token_hash"]


def test_a_token_is_looked_up_by_its_hash_never_by_its_text(app, client, write_token):
    from factories import counting_queries
    from sqlalchemy import event

    parameters = []

    def record(conn, cursor, statement, params, *args):
        parameters.append(repr(params))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with counting_queries():
            for token in (write_token, write_token + "x"):
                client.get("/api/v1/endpoints", headers={"Authorization": f"Bearer {token}"})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    sent = " ".join(parameters)
    assert write_token not in sent  # the plaintext never reaches the database
    assert hashlib.sha256(write_token.encode()).hexdigest() in sent
    assert hashlib.sha256((write_token + "x").encode()).hexdigest() in sent


@pytest.fixture
def boot_client(app, database_url):
    boot = create_app(make_config(database_url, API_TOKEN="bootstrap-secret"))
    yield boot.test_client()
    with boot.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("token,status", [("bootstrap-secret", 200), ("bootstrap-secreX", 401),
                                          ("b", 401)])
def test_the_bootstrap_token_is_compared_in_constant_time(boot_client, monkeypatch, token,
                                                          status):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    response = boot_client.get("/api/v1/endpoints", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status
    assert compared == [(token.encode(), b"bootstrap-secret")]
