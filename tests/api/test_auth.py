"""Bearer-token auth and scopes on /api/v1."""

import pytest

from conftest import Api, make_config
from maintenant import create_app
from maintenant.extensions import db
from maintenant.services.tokens import revoke_token

from .helpers import assert_error


def status_routes(app):
    """(method, path) of every /api/v1/status route, with 1 for each id in the path."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/status/"):
            continue
        path = rule.rule.replace("/api/v1", "", 1)
        for argument in rule.arguments:
            path = path.replace(f"<int:{argument}>", "1")
        routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_the_status_routes_are_all_found(app):
    # Guards the route-wide tests below against finding nothing.
    assert len(status_routes(app)) >= 25


@pytest.mark.parametrize("authorization", [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Bearer not-a-token",
    "Basic dXNlcjpwYXNz",
    "Token {token}",
    "{token}",
    "Bearer {token}x",
    "Bearer {token_head}",
])
def test_requests_without_a_valid_bearer_token_get_401(client, write_token, authorization):
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.format(token=write_token,
                                                        token_head=write_token[:-1])
    response = client.get("/api/v1/status/groups", headers=headers)
    error = assert_error(response, 401)
    assert error["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_status_route_needs_a_token(app, client):
    for method, path in status_routes(app):
        response = client.open("/api/v1" + path, method=method, json={})
        assert response.status_code == 401, (method, path)
        assert "WWW-Authenticate" in response.headers


def test_the_scheme_is_case_insensitive(client, write_token):
    headers = {"Authorization": f"bearer {write_token}"}
    response = client.get("/api/v1/status/groups", headers=headers)
    assert response.status_code == 200


def test_a_revoked_token_is_refused(api):
    assert api.get("/status/groups").status_code == 200
    revoke_token("test-writer")
    assert_error(api.get("/status/groups"), 401)


def test_a_read_token_reads_every_list(app, read_api):
    for method, path in status_routes(app):
        if method == "GET" and not path.endswith("/1") and "/1/" not in path:
            assert read_api.get(path).status_code == 200, path


def test_a_read_token_cannot_write(app, api, read_api):
    group_id = api.post("/status/groups", json={"name": "Core"}).get_json()["id"]
    for method, path in status_routes(app):
        if method == "GET":
            continue
        path = path.replace("/1", f"/{group_id}")
        error = assert_error(read_api.request(method, path, json={"name": "Changed"}), 403)
        assert error["code"] == "forbidden", (method, path)
    groups = api.get("/status/groups").get_json()
    assert [g["name"] for g in groups["items"]] == ["Core"]


def test_a_read_token_is_refused_before_the_body_is_read(read_api):
    response = read_api.post("/status/groups", data="not json", content_type="text/plain")
    assert_error(response, 403)


@pytest.fixture
def boot_app(app, database_url):
    """An app configured with MAINTENANT_API_TOKEN=boot, on the test database."""
    boot = create_app(make_config(database_url, API_TOKEN="boot"))
    yield boot
    with boot.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_bootstrap_token_is_accepted_with_write_scope(boot_app):
    boot = Api(boot_app.test_client(), "boot")
    created = boot.post("/status/groups", json={"name": "Core"})
    assert created.status_code == 201
    assert boot.get(f"/status/groups/{created.get_json()['id']}").get_json()["name"] == "Core"
    assert boot.delete(f"/status/groups/{created.get_json()['id']}").status_code == 204


@pytest.mark.parametrize("token", ["boo", "boots", "BOOT", ""])
def test_only_the_exact_bootstrap_token_is_accepted(boot_app, token):
    response = Api(boot_app.test_client(), token).get("/status/groups")
    assert_error(response, 401)


def test_the_bootstrap_token_is_not_accepted_when_unset(client):
    # The test app runs without API_TOKEN: the word "boot" is just a bad token there.
    assert_error(Api(client, "boot").get("/status/groups"), 401)


def test_stored_tokens_still_work_with_a_bootstrap_token_set(boot_app, write_token):
    response = Api(boot_app.test_client(), write_token).get("/status/groups")
    assert response.status_code == 200


def test_the_api_description_needs_no_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert "/status/groups" in document["paths"]
