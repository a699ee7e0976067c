"""Local servers for probe tests: HTTP whose answers change at run time, TCP, TLS.

Every server listens on 127.0.0.1 on an ephemeral port, runs in daemon threads of the test
process, can be stopped (new connections are then refused) and started again on the same
port. Use them as context managers:

    with LocalHttpServer() as server:
        server.answer(status=503)
        probe_endpoint(server.url)

or through the pytest fixtures at the end of this module. tests/monitors/conftest.py imports
them; a conftest elsewhere can import them the same way (`from monitors.servers import
http_server`), or the top-level conftest can name this module in `pytest_plugins`.
"""

import ipaddress
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"


# --- HTTP ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """How the HTTP server answers a request.

    Attributes:
        status: the status code.
        body: the body (sent with Content-Length; not sent to HEAD).
        headers: extra response headers.
        delay: seconds to wait before answering.
        hang: never answer; the connection stays open until the server stops.
        trickle: seconds between body bytes, sent one at a time after the headers.
        require_headers: request headers that must be present with these values; a request
            without them is answered 401.
    """

    status: int = 200
    body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    trickle: float | None = None
    require_headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    """A request the HTTP server received; `headers` is case-insensitive."""

    method: str
    path: str
    headers: object
    body: bytes


class LocalHttpServer:
    """An HTTP(S) server whose answers can be switched while it runs.

    Every path gets the default answer (200 "ok") unless `answer`, `redirect` or `hang`
    set one for it. Pass an `ssl_context` (see ServerCertificate.server_context) for HTTPS.
    """

    def __init__(self, ssl_context=None, port=0):
        self.ssl_context = ssl_context
        self.port = port
        self.requests = []
        self._answers = {None: Answer()}
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self._stopping = threading.Event()

    # Lifecycle

    def start(self):
        """Listen (on the same port as before after a stop) and serve in a thread."""
        if self._server is not None:
            return self
        self._stopping = threading.Event()
        self._server = _HttpServer((HOST, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"http-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Close the listening socket and every open connection: new ones are refused."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        self._thread.join(timeout=5)

    @property
    def running(self):
        return self._server is not None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # Addresses

    @property
    def url(self):
        """The server's root URL, e.g. http://127.0.0.1:41234/."""
        return self.url_for("/")

    def url_for(self, path):
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{HOST}:{self.port}{path}"

    # Behaviour

    def answer(self, status=200, body=b"ok", *, path=None, headers=None, delay=0.0,
               trickle=None, require_headers=None):
        """Answer requests (to `path`, or every other path when None) like this."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._set(path, Answer(status, body, dict(headers or {}), delay, False, trickle,
                               dict(require_headers or {})))

    def redirect(self, path, to, status=302):
        """Redirect requests to `path` to `to` (a path or a full URL)."""
        self._set(path, Answer(status, b"", {"Location": to}))

    def hang(self, path=None):
        """Accept requests (to `path`, or all) and never answer them."""
        self._set(path, Answer(hang=True))

    def reset(self):
        """Forget every answer and recorded request: 200 "ok" everywhere again."""
        with self._lock:
            self._answers = {None: Answer()}
            self.requests.clear()

    @property
    def last_request(self):
        with self._lock:
            return self.requests[-1] if self.requests else None

    def _set(self, path, answer):
        with self._lock:
            self._answers[path] = answer

    def _answer_for(self, path):
        with self._lock:
            return self._answers.get(path.split("?", 1)[0], self._answers[None])

    def _record(self, request):
        with self._lock:
            self.requests.append(request)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # many probes connect at once
    allow_reuse_address = True

    def __init__(self, address, handler, owner):
        self.owner = owner
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN, which can take seconds.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        try:
            if self.owner.ssl_context is not None:
                request.settimeout(5)
                try:
                    request = self.owner.ssl_context.wrap_socket(request, server_side=True)
                except (OSError, ValueError):
                    return
                with self._connections_lock:
                    self._connections.add(request)
            self.RequestHandlerClass(request, client_address, self)
        finally:
            with self._connections_lock:
                self._connections.discard(request)
            request.close()

    def close_connections(self):
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                socket.socket.shutdown(connection, socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # clients that hang up early are part of the tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle kept-alive connections do not live for ever

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (OSError, ValueError):
            self.close_connection = True

    def _respond(self):
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner._record(RecordedRequest(self.command, self.path, self.headers, body))
        answer = owner._answer_for(self.path)
        if answer.hang:
            owner._stopping.wait()
            self.close_connection = True
            return
        if answer.delay and owner._stopping.wait(answer.delay):
            self.close_connection = True
            return
        status, body, headers = answer.status, answer.body, answer.headers
        if any(self.headers.get(name) != value for name, value in answer.require_headers.items()):
            status, body, headers = 401, b"unauthorized", {}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD" or not body:
            return
        if answer.trickle is None:
            self.wfile.write(body)
            return
        self.wfile.flush()
        for index in range(len(body)):
            if owner._stopping.wait(answer.trickle):
                self.close_connection = True
                return
            self.wfile.write(body[index:index + 1])
            self.wfile.flush()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _respond

    def log_message(self, format, *args):
        pass


# --- TCP -----------------------------------------------------------------------------------

class LocalTcpServer:
    """A TCP listener that can be stopped (connection refused) and started again.

    `mode` says what it does with each connection, and can change while it runs:
    "hold" keeps it open and silent (the default); "close" closes it at once; "reset" reads
    what the client sends, then resets the connection; bytes are sent as a greeting (like
    an SSH banner), then the connection is held.
    """

    def __init__(self, mode="hold", port=0):
        self.mode = mode
        self.port = port
        self.accepted = 0
        self._listener = None
        self._thread = None
        self._stopping = threading.Event()
        self._held = []

    def start(self):
        if self._listener is not None:
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(1024)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, args=(listener, self._stopping),
                                        name=f"tcp-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._stopping.set()
        self._thread.join(timeout=5)
        listener.close()
        held, self._held = self._held, []
        for connection in held:
            connection.close()

    @property
    def address(self):
        return HOST, self.port

    def wait_for_connections(self, count, timeout=2.0):
        """True once `count` connections have been accepted in all (it accepts in a thread)."""
        deadline = time.monotonic() + timeout
        while self.accepted < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.accepted >= count

    @property
    def target(self):
        """The endpoint target for this listener: tcp://127.0.0.1:PORT."""
        return f"tcp://{HOST}:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _accept(self, listener, stopping):
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            mode = self.mode
            if mode == "close":
                connection.close()
            elif mode == "reset":
                threading.Thread(target=_read_then_reset, args=(connection,),
                                 daemon=True).start()
            else:
                if isinstance(mode, bytes):
                    try:
                        connection.sendall(mode)
                    except OSError:
                        pass
                self._held.append(connection)


@contextmanager
def unanswered_port():
    """Yield a port on 127.0.0.1 where new connections hang, neither accepted nor refused.

    The listener never accepts and its queue is kept full, so the kernel drops further
    connection attempts: a probe's connect times out, as against a firewalled host.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers = []
    try:
        listener.bind((HOST, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex((HOST, port))
            fillers.append(filler)
        time.sleep(0.05)  # let the queue fill
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _read_then_reset(connection):
    connection.settimeout(2)
    try:
        connection.recv(65536)
    except OSError:
        pass
    # A zero linger time makes close() send a reset instead of a clean end.
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    connection.close()


# --- Certificates --------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerCertificate:
    """A leaf certificate and its key, as PEM files."""

    name: str
    cert_file: str
    key_file: str
    hostnames: tuple
    not_before: datetime
    not_after: datetime

    def server_context(self):
        """A server-side TLS context presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


class LocalCertificateAuthority:
    """A certificate authority made for the tests (EC P-256 keys: quick to generate)."""

    def __init__(self, directory, name="maintenant test CA"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "maintenant tests"),
                               x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(timezone.utc)
        public_key = self.key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=365))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = str(self.directory / "ca.pem")
        Path(self.ca_file).write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, name, hostnames=("localhost", HOST), not_before=None, not_after=None):
        """Sign a server certificate for `hostnames` (names or IP addresses).

        Valid from a day ago for 90 days unless `not_before`/`not_after` say otherwise.
        """
        now = datetime.now(timezone.utc)
        not_before = not_before or now - timedelta(days=1)
        not_after = not_after or now + timedelta(days=90)
        key = ec.generate_private_key(ec.SECP256R1())
        alt_names = [_alt_name(hostname) for hostname in hostnames]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "maintenant tests"),
                x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_file = self.directory / f"{name}.pem"
        key_file = self.directory / f"{name}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return ServerCertificate(name, str(cert_file), str(key_file), tuple(hostnames),
                                 not_before, not_after)


def _alt_name(hostname):
    try:
        return x509.IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        return x509.DNSName(hostname)


@dataclass(frozen=True)
class CertificateSet:
    """The certificates the probe tests use, all signed by `authority`.

    valid: 90 days left; expiring: 5 days (and an hour) left; expired: ended a day ago;
    wrong_host: valid, but only for wrong.example. The others are for localhost and
    127.0.0.1.
    """

    authority: LocalCertificateAuthority
    valid: ServerCertificate
    expiring: ServerCertificate
    expired: ServerCertificate
    wrong_host: ServerCertificate

    @property
    def ca_file(self):
        """The PEM file to trust (`cafile=` / `ca_certs=`) to verify them."""
        return self.authority.ca_file


def make_certificates(directory):
    """A test CA and its four server certificates, written under `directory`."""
    authority = LocalCertificateAuthority(directory)
    now = datetime.now(timezone.utc)
    return CertificateSet(
        authority=authority,
        valid=authority.issue("valid"),
        # The extra hour keeps "5 whole days left" true for the length of a test run.
        expiring=authority.issue("expiring", not_after=now + timedelta(days=5, hours=1)),
        expired=authority.issue("expired", not_before=now - timedelta(days=30),
                                not_after=now - timedelta(days=1)),
        wrong_host=authority.issue("wrong-host", hostnames=("wrong.example",)),
    )


# --- Fixtures ------------------------------------------------------------------------------

@pytest.fixture
def http_server():
    """A running LocalHttpServer answering 200 "ok"."""
    with LocalHttpServer() as server:
        yield server


@pytest.fixture
def tcp_server():
    """A running LocalTcpServer holding connections."""
    with LocalTcpServer() as server:
        yield server


@pytest.fixture(scope="session")
def certificates(tmp_path_factory):
    """The test CA and its certificates (CertificateSet), made once per run."""
    return make_certificates(tmp_path_factory.mktemp("certificates"))


@pytest.fixture
def tls_server(certificates):
    """Start HTTPS servers presenting a certificate: `tls_server(certificates.expired)`.

    With no argument the server presents `certificates.valid`. All stop after the test.
    """
    servers = []

    def start(certificate=None):
        certificate = certificate or certificates.valid
        server = LocalHttpServer(ssl_context=certificate.server_context()).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def https_server(tls_server):
    """A running HTTPS LocalHttpServer with the valid certificate (trust certificates.ca_file)."""
    return tls_server()
