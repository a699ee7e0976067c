"""flask commands: tokens create/list/revoke, and demo data."""

import pytest


def create(runner, name, *options):
    result = runner.invoke(args=["tokens", "create", name, *options])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[0].strip()


def components_with(client, token):
    return client.get("/api/v1/status/components",
                      headers={"Authorization": f"Bearer {token}"})


def test_created_token_authenticates(runner, client):
    token = create(runner, "me")

    response = components_with(client, token)

    assert response.status_code == 200
    assert response.get_json() == {"items": [], "total": 0}


def test_token_is_printed_alone_on_stdout(runner):
    result = runner.invoke(args=["tokens", "create", "ci"])

    assert result.exit_code == 0
    assert len(result.stdout.split()) == 1
    assert "not shown again" in result.stderr


def test_read_only_token_reads_but_cannot_write(runner, client):
    token = create(runner, "viewer", "--read-only")
    headers = {"Authorization": f"Bearer {token}"}

    assert client.get("/api/v1/status/components", headers=headers).status_code == 200
    response = client.post("/api/v1/status/groups", json={"name": "Core"}, headers=headers)

    assert response.status_code == 403
    assert response.get_json()["error"]["code"]


def test_list_shows_names_and_scopes_not_secrets(runner):
    writer = create(runner, "deploy-bot")
    reader = create(runner, "dashboard", "--read-only")

    result = runner.invoke(args=["tokens", "list"])

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["dashboard", "read"],
                                                         ["deploy-bot", "write"]]
    assert writer not in result.output and reader not in result.output


def test_revoked_token_no_longer_authenticates(runner, client):
    token = create(runner, "temporary")
    assert components_with(client, token).status_code == 200

    result = runner.invoke(args=["tokens", "revoke", "temporary"])

    assert result.exit_code == 0
    assert components_with(client, token).status_code == 401


def test_revoking_an_unknown_token_fails_cleanly(runner):
    result = runner.invoke(args=["tokens", "revoke", "nobody"])

    assert result.exit_code == 1
    assert "nobody" in result.output
    assert "Traceback" not in result.output


def test_duplicate_name_fails_cleanly(runner):
    create(runner, "me")

    result = runner.invoke(args=["tokens", "create", "me"])

    assert result.exit_code == 1
    assert "already exists" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture
def page(client):
    def get():
        response = client.get("/status/api")
        assert response.status_code == 200
        return response.get_json()
    return get


def page_component_names(state):
    names = [c["name"] for group in state["groups"] for c in group["components"]]
    return names + [c["name"] for c in state["components"]]


def test_demo_fills_an_empty_database(runner, page):
    assert page_component_names(page()) == []

    result = runner.invoke(args=["demo"])

    assert result.exit_code == 0, result.output
    state = page()
    assert len(page_component_names(state)) >= 5
    assert state["groups"]
    assert state["incidents"]


def test_demo_refuses_a_database_that_has_components(runner, page):
    assert runner.invoke(args=["demo"]).exit_code == 0
    before = page_component_names(page())

    result = runner.invoke(args=["demo"])

    assert result.exit_code == 1
    assert "already has components" in result.output
    assert "Traceback" not in result.output
    assert page_component_names(page()) == before
