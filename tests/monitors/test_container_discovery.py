"""Container discovery: the real docker SDK against a fake engine on a unix socket, and
over TLS on a local port."""

import os
import shutil
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import ThreadingHTTPServer

import docker
import docker.tls
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from maintenant.monitors.container import (
    ContainerInfo,
    DockerUnavailable,
    container_condition,
    docker_host,
    docker_tls,
    list_containers,
    reported_state,
)
from maintenant.schemas.monitors import CONTAINER_STATES
from maintenant.status import MONITOR_CONTRIBUTION
from monitors import docker_api
from monitors.docker_api import FakeDockerEngine, fake_docker  # noqa: F401 (fixture)
from monitors.servers import LocalCertificateAuthority

# 1.47 words health only in the status text ("Up 5 minutes (healthy)"); 1.52 adds a
# Health field to each summary. Discovery must read both.
API_VERSIONS = ("1.47", "1.52")


@pytest.fixture(params=API_VERSIONS)
def engine(request):
    with FakeDockerEngine(api_version=request.param) as fake:
        yield fake


def by_name(infos):
    return {info.name: info for info in infos}


def container_requests(engine):
    return [path for _, path in engine.requests if "/containers/" in path]


def test_lists_every_container_in_every_state_with_one_request(engine):
    for state in ("running", "restarting", "paused", "exited", "dead", "created", "removing"):
        engine.add(f"app-{state}", state=state, image=f"example/{state}:1")

    infos = by_name(list_containers(engine.url))

    assert {name: info.state for name, info in infos.items()} == {
        "app-running": "running",
        "app-restarting": "restarting",
        "app-paused": "paused",
        "app-exited": "exited",
        "app-dead": "dead",
        "app-created": "created",
        "app-removing": "exited",
    }
    assert infos["app-dead"].image == "example/dead:1"
    assert infos["app-running"].container_id == engine.container("app-running")["Id"]
    assert len(infos["app-running"].container_id) == 64
    # The version check, then one listing: no request per container.
    assert container_requests(engine) == [
        f"/v{engine.api_version}/containers/json?limit=-1&all=1&size=0&trunc_cmd=0"
    ]


def test_every_listed_state_is_one_the_status_rules_know(engine):
    for state in ("running", "restarting", "paused", "exited", "dead", "created", "removing"):
        engine.add(f"app-{state}", state=state)
    engine.add("checked-bad", health="unhealthy")

    conditions = {container_condition(info) for info in list_containers(engine.url)}

    assert conditions <= set(MONITOR_CONTRIBUTION["container"])
    # ...and the API reports each as a state of the list.
    assert {reported_state(condition) for condition in conditions} <= set(CONTAINER_STATES)


def test_names_come_without_the_leading_slash(engine):
    engine.add("web")
    engine.add("db", extra_names=["/web/db"])  # a legacy link names it twice

    assert sorted(info.name for info in list_containers(engine.url)) == ["db", "web"]


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        (None, "running"),
        ("starting", "running"),
        ("healthy", "running"),
        ("unhealthy", "unhealthy"),
    ],
)
def test_health_of_a_running_container_decides_its_condition(engine, health, expected):
    engine.add("api", health=health)

    [info] = list_containers(engine.url)

    assert (info.state, info.health) == ("running", health)
    assert container_condition(info) == expected
    assert reported_state(container_condition(info)) == "running"


@pytest.mark.parametrize("state", ["paused", "exited", "restarting"])
def test_a_container_that_is_not_running_keeps_its_docker_state_whatever_its_health(
    engine, state
):
    engine.add("api", health="healthy")
    engine.set_state("api", state)

    [info] = list_containers(engine.url)

    assert container_condition(info) == state


def test_changes_between_listings_show_in_the_next_one(engine):
    engine.add("web", health="healthy")
    engine.add("worker")
    engine.add("cron")
    assert {i.name: container_condition(i) for i in list_containers(engine.url)} == {
        "web": "running",
        "worker": "running",
        "cron": "running",
    }

    engine.set_health("web", "unhealthy")
    engine.set_state("worker", "exited", exit_code=137)
    engine.remove("cron")

    infos = by_name(list_containers(engine.url))
    assert {name: container_condition(info) for name, info in infos.items()} == {
        "web": "unhealthy",
        "worker": "exited",
    }
    assert infos["worker"].exit_code == 137


def test_exit_codes_come_from_the_listing_for_stopped_containers(engine):
    engine.add("killed", state="exited", exit_code=137)
    engine.add("crashing", state="restarting", exit_code=2)
    engine.add("done", state="exited")
    engine.add("up")

    infos = by_name(list_containers(engine.url))

    assert infos["killed"].exit_code == 137
    assert infos["crashing"].exit_code == 2
    assert infos["done"].exit_code == 0
    assert infos["up"].exit_code is None


def test_inspects_only_the_containers_asked_about(engine):
    engine.add("web")
    engine.add("db", state="exited", exit_code=1)
    engine.add("fresh", state="created")
    before = datetime.now(timezone.utc) - timedelta(seconds=1)

    infos = by_name(list_containers(engine.url, inspect=lambda info: info.name != "fresh"))

    assert len(container_requests(engine)) == 1 + 2
    web, db, fresh = infos["web"], infos["db"], infos["fresh"]
    assert web.started_at.tzinfo is not None and web.started_at >= before
    assert web.finished_at is None and web.exit_code is None
    assert db.finished_at.utcoffset() == timedelta(0) and db.finished_at >= before
    assert db.exit_code == 1
    assert fresh.started_at is None and fresh.finished_at is None  # listed, not inspected


def test_times_are_none_for_a_container_that_never_ran(engine):
    engine.add("fresh", state="created")

    [info] = list_containers(engine.url, inspect=lambda info: True)

    assert (info.state, info.started_at, info.finished_at, info.exit_code) == (
        "created", None, None, None)


def test_a_container_removed_before_its_inspection_is_left_out(fake_docker):
    fake_docker.add("stays")
    fake_docker.add("goes")

    def remove_goes_then_inspect(info):
        if info.name == "goes":
            fake_docker.remove("goes")
        return True

    infos = list_containers(fake_docker.url, inspect=remove_goes_then_inspect)

    assert [info.name for info in infos] == ["stays"]


def test_a_failing_inspection_keeps_the_listing(fake_docker):
    fake_docker.add("web", state="exited", exit_code=3)

    def break_engine_then_inspect(info):
        fake_docker.error = (500, "inspect failed")
        return True

    [info] = list_containers(fake_docker.url, inspect=break_engine_then_inspect)

    assert (info.name, info.state, info.exit_code, info.finished_at) == ("web", "exited", 3, None)


def test_an_engine_with_no_containers_lists_none(fake_docker):
    assert list_containers(fake_docker.url) == []


def test_missing_socket_is_unavailable_in_plain_words(tmp_path):
    url = f"unix://{tmp_path}/docker.sock"
    started = time.monotonic()

    with pytest.raises(DockerUnavailable) as raised:
        list_containers(url)

    assert str(raised.value) == f"cannot reach the Docker engine at {url}: no such socket"
    assert time.monotonic() - started < 2


def test_socket_nobody_listens_on_is_connection_refused():
    with FakeDockerEngine() as fake:
        # A socket file left behind by an engine that died: it exists, nobody accepts.
        fake.stop()
        leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        leftover.bind(fake.socket_path)
        leftover.close()
        started = time.monotonic()

        with pytest.raises(DockerUnavailable) as raised:
            list_containers(fake.url)

    assert str(raised.value) == (
        f"cannot reach the Docker engine at {fake.url}: connection refused")
    assert time.monotonic() - started < 2


def test_engine_that_went_away_is_unavailable_until_it_comes_back(fake_docker):
    fake_docker.add("web")
    fake_docker.stop()

    with pytest.raises(DockerUnavailable, match="no such socket"):
        list_containers(fake_docker.url)

    fake_docker.start()
    assert [info.name for info in list_containers(fake_docker.url)] == ["web"]


def test_slow_engine_is_cut_off_by_the_timeout(fake_docker):
    fake_docker.add("web")
    fake_docker.delay = 1

    started = time.monotonic()
    with pytest.raises(DockerUnavailable) as raised:
        list_containers(fake_docker.url, timeout=0.2)

    assert str(raised.value).endswith(": timed out after 0.2 s")
    assert time.monotonic() - started < 1


def test_engine_refusing_the_listing_is_unavailable_not_empty(fake_docker):
    fake_docker.add("web")
    fake_docker.error = (500, "containerd is not running")

    with pytest.raises(DockerUnavailable) as raised:
        list_containers(fake_docker.url)

    assert str(raised.value) == (
        f"the Docker engine at {fake_docker.url} answered HTTP 500: containerd is not running")


def test_docker_host_is_docker_host_when_set(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2375")

    assert docker_host() == "tcp://10.0.0.5:2375"
    assert docker_host({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}) == (
        "unix:///run/user/1000/docker.sock")


def test_docker_host_falls_back_to_the_local_socket(monkeypatch, fake_docker):
    monkeypatch.delenv("DOCKER_HOST", raising=False)

    assert docker_host(default_socket=fake_docker.socket_path) == fake_docker.url
    assert docker_host({"DOCKER_HOST": ""}, default_socket=fake_docker.socket_path) == (
        fake_docker.url)


def test_docker_host_is_none_without_an_engine(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    not_a_socket = tmp_path / "docker.sock"
    not_a_socket.write_text("")

    assert docker_host(default_socket=str(tmp_path / "missing.sock")) is None
    assert docker_host(default_socket=str(not_a_socket)) is None
    if not os.path.exists("/var/run/docker.sock"):
        assert docker_host({}) is None


def test_container_condition_without_an_engine():
    def info(state, health=None):
        return ContainerInfo("web", "0" * 64, "nginx", state, health)

    assert container_condition(info("running")) == "running"
    assert container_condition(info("running", "starting")) == "running"
    assert container_condition(info("running", "healthy")) == "running"
    assert container_condition(info("running", "unhealthy")) == "unhealthy"
    assert container_condition(info("paused", "unhealthy")) == "paused"
    assert container_condition(info("dead")) == "dead"


@pytest.mark.parametrize(("condition", "status"), [
    ("unknown", "unknown"), ("running", "running"), ("unhealthy", "running"),
    ("restarting", "restarting"), ("paused", "paused"), ("exited", "exited"), ("dead", "dead"),
    ("created", "created"), ("removed", "removed"),
])
def test_the_api_reports_each_condition_as_a_docker_state(condition, status):
    assert reported_state(condition) == status


def test_the_sdks_own_calls_work_against_the_fake(fake_docker):
    """Keeps the fake honest for other tests: the SDK's high-level API reads it too."""
    fake_docker.add("web", health="healthy")
    fake_docker.add("db", state="exited", exit_code=1)
    client = docker.DockerClient(base_url=fake_docker.url, timeout=5)
    try:
        assert client.ping() is True
        assert client.version()["ApiVersion"] == fake_docker.api_version
        listed = {c.name: (c.status, c.health) for c in client.containers.list(all=True)}
        assert listed == {"web": ("running", "healthy"), "db": ("exited", "unknown")}
        assert [c.name for c in client.containers.list()] == ["web"]
        assert client.containers.get("db").attrs["State"]["ExitCode"] == 1
        with pytest.raises(docker.errors.NotFound):
            client.containers.get("nope")
    finally:
        client.close()


# --- a tcp:// engine that requires TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) -------------------

def write_client_certificate(authority, directory):
    """DOCKER_CERT_PATH as `docker context` or docker-machine leave it: ca.pem, and cert.pem
    and key.pem for a client certificate signed by ``authority``."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "maintenant")]))
        .issuer_name(authority.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(authority.key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    shutil.copy(authority.ca_file, directory / "ca.pem")
    return directory


@contextmanager
def served_over_tls(engine, server_certificate, client_ca_file):
    """The fake engine's API on 127.0.0.1 over TLS, asking for a client certificate signed by
    ``client_ca_file``, as dockerd with --tlsverify does; yields its tcp:// address."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_certificate.cert_file, server_certificate.key_file)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(client_ca_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), docker_api._Handler)
    server.daemon_threads = True
    server.handle_error = lambda request, client_address: None  # refused handshakes are the test
    server.engine, server.connections = engine, set()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def tls_engine(certificates, tmp_path):
    """(fake engine, its tcp:// address over TLS, a DOCKER_CERT_PATH the engine trusts)."""
    cert_path = write_client_certificate(certificates.authority, tmp_path / "docker-certs")
    with FakeDockerEngine() as engine, \
            served_over_tls(engine, certificates.valid, certificates.ca_file) as url:
        yield engine, url, str(cert_path)


def test_a_tls_engine_is_listed_with_the_docker_tls_settings(tls_engine, monkeypatch, tmp_path):
    engine, url, cert_path = tls_engine
    engine.add("web", health="unhealthy")
    # Many hosts point requests at other CAs (docker/docker-py#2433): the engine's CA wins.
    other = LocalCertificateAuthority(tmp_path / "system-ca", name="the system's CA")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other.ca_file)
    monkeypatch.setenv("CURL_CA_BUNDLE", other.ca_file)

    tls = docker_tls({"DOCKER_HOST": url, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": cert_path})
    [info] = list_containers(url, tls=tls)

    assert (info.name, info.state, info.health) == ("web", "running", "unhealthy")
    assert container_requests(engine) == [
        f"/v{engine.api_version}/containers/json?limit=-1&all=1&size=0&trunc_cmd=0"]


def test_the_tls_settings_are_the_sdks(tmp_path, certificates):
    cert_path = write_client_certificate(certificates.authority, tmp_path / "certs")

    tls = docker_tls({"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(cert_path)})

    assert isinstance(tls, docker.tls.TLSConfig)
    assert tls.cert == (str(cert_path / "cert.pem"), str(cert_path / "key.pem"))
    assert (tls.ca_cert, tls.verify) == (str(cert_path / "ca.pem"), True)
    # DOCKER_CERT_PATH alone: TLS with the client certificate, the engine's not verified;
    # an empty DOCKER_TLS_VERIFY means no, as for the docker CLI.
    for environ in ({"DOCKER_CERT_PATH": str(cert_path)},
                    {"DOCKER_CERT_PATH": str(cert_path), "DOCKER_TLS_VERIFY": ""}):
        assert docker_tls(environ).verify is False


def test_no_tls_settings_no_tls(monkeypatch):
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")  # the SDK would read os.environ for {}
    assert docker_tls({}) is None
    assert docker_tls({"DOCKER_HOST": "tcp://10.0.0.5:2375"}) is None
    monkeypatch.delenv("DOCKER_TLS_VERIFY")
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    assert docker_tls() is None


def test_missing_certificate_files_are_said_in_plain_words(tmp_path):
    with pytest.raises(DockerUnavailable) as raised:
        docker_tls({"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})

    assert str(raised.value).startswith(
        "the Docker TLS settings (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) cannot be used: "
        f"{tmp_path} needs ca.pem, cert.pem and key.pem (")


def test_an_engine_whose_certificate_is_not_trusted_is_unavailable(tls_engine, tmp_path):
    _, url, _ = tls_engine
    stranger = LocalCertificateAuthority(tmp_path / "other-ca", name="another CA")
    cert_path = write_client_certificate(stranger, tmp_path / "other-certs")

    with pytest.raises(DockerUnavailable) as raised:
        list_containers(url, tls=docker_tls({"DOCKER_TLS_VERIFY": "1",
                                             "DOCKER_CERT_PATH": str(cert_path)}))

    assert str(raised.value).startswith(
        f"cannot reach the Docker engine at {url}: TLS certificate not trusted (")


def test_a_tls_engine_without_the_tls_settings_is_unavailable_not_empty(tls_engine):
    engine, url, _ = tls_engine
    engine.add("web")

    with pytest.raises(DockerUnavailable) as raised:
        list_containers(url, timeout=2)

    # A real dockerd answers plain HTTP with a 400 that says so; this fake hangs up.
    assert str(raised.value).startswith(f"cannot reach the Docker engine at {url}: ")
