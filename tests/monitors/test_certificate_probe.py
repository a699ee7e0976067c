"""probe_certificate against real local TLS servers with certificates made by the test."""

import time
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.x509.oid import NameOID

from maintenant.monitors.certificate import probe_certificate, readable_name

from .servers import HOST, LocalTcpServer, unanswered_port
from .slow_names import slow_names  # noqa: F401 (a fixture)

MARGIN = 0.5


def probe(server, certificates, **kwargs):
    kwargs.setdefault("cafile", certificates.ca_file)
    kwargs.setdefault("timeout", 2)
    return probe_certificate(HOST, server.port, **kwargs)


def test_valid_certificate(https_server, certificates):
    result = probe(https_server, certificates)

    assert result.state == "valid"
    assert result.error is None
    assert result.latency_ms > 0
    details = result.details
    assert details["expires_at"] == certificates.valid.not_after.replace(microsecond=0)
    assert details["expires_at"].tzinfo == timezone.utc
    assert details["days_left"] in (89, 90)
    assert details["subject"] == "CN=localhost, O=maintenant tests"
    assert details["issuer"] == "CN=maintenant test CA, O=maintenant tests"
    assert details["dns_names"] == ["localhost"]


def test_the_server_name_is_verified_instead_of_the_host(https_server, certificates):
    assert probe(https_server, certificates, server_name="localhost").state == "valid"


def test_expiring_within_the_warning_days(tls_server, certificates):
    server = tls_server(certificates.expiring)

    result = probe(server, certificates, warning_days=30)

    assert result.state == "expiring"
    assert result.details["days_left"] == 5
    assert result.error.startswith("certificate expires in 5 days, on ")


def test_expiring_outside_the_warning_days_is_valid(tls_server, certificates):
    server = tls_server(certificates.expiring)

    result = probe(server, certificates, warning_days=3)

    assert result.state == "valid"
    assert result.details["days_left"] == 5


def test_expired(tls_server, certificates):
    server = tls_server(certificates.expired)

    result = probe(server, certificates)

    assert result.state == "expired"
    assert result.details["days_left"] == -1
    assert result.details["expires_at"] == certificates.expired.not_after.replace(microsecond=0)
    assert result.details["subject"] == "CN=localhost, O=maintenant tests"
    expected_day = f"{certificates.expired.not_after:%Y-%m-%d}"
    assert result.error.startswith(f"certificate expired on {expected_day}")


def test_expired_and_untrusted_is_expired(tls_server, certificates):
    server = tls_server(certificates.expired)

    result = probe(server, certificates, cafile=None)

    assert result.state == "expired"


def test_wrong_hostname_is_invalid_with_the_certificate_still_read(tls_server, certificates):
    server = tls_server(certificates.wrong_host)

    result = probe(server, certificates, server_name="localhost")

    assert result.state == "invalid"
    assert result.error == ("TLS certificate verify failed: Hostname mismatch, "
                            "certificate is not valid for 'localhost'.")
    assert result.details["subject"] == "CN=wrong.example, O=maintenant tests"
    assert result.details["days_left"] in (89, 90)


def test_the_right_server_name_makes_it_valid(tls_server, certificates):
    server = tls_server(certificates.wrong_host)

    assert probe(server, certificates, server_name="wrong.example").state == "valid"


def test_unknown_ca_is_invalid(https_server, certificates):
    result = probe(https_server, certificates, cafile=None)

    assert result.state == "invalid"
    assert result.error == \
        "TLS certificate verify failed: unable to get local issuer certificate"
    assert result.details["issuer"] == "CN=maintenant test CA, O=maintenant tests"


def test_nothing_listening_is_unreachable(http_server, certificates):
    http_server.stop()

    result = probe(http_server, certificates)

    assert result.state == "unreachable"
    assert result.error == "connection refused"
    assert result.details == {}


def test_a_plain_http_server_is_unreachable(http_server, certificates):
    result = probe(http_server, certificates)

    assert result.state == "unreachable"
    assert result.error == "TLS handshake failed: wrong version number"


def test_a_tcp_server_that_hangs_up_is_unreachable(certificates):
    with LocalTcpServer("reset") as server:
        result = probe(server, certificates)

    assert result.state == "unreachable"
    assert result.error == "connection reset"


def test_a_silent_tcp_server_is_unreachable_within_the_timeout(tcp_server, certificates):
    started = time.perf_counter()
    result = probe(tcp_server, certificates, timeout=0.3)
    elapsed = time.perf_counter() - started

    assert result.state == "unreachable"
    assert result.error == "timed out after 0.3 s"
    assert elapsed < 0.3 + MARGIN


def test_a_connect_that_hangs_is_unreachable_within_the_timeout(certificates):
    with unanswered_port() as port:
        started = time.perf_counter()
        result = probe_certificate(HOST, port, timeout=0.3, cafile=certificates.ca_file)
        elapsed = time.perf_counter() - started

    assert result.state == "unreachable"
    assert result.error == "timed out after 0.3 s"
    assert elapsed < 0.3 + MARGIN


def test_a_name_lookup_that_hangs_is_unreachable_within_the_timeout(slow_names,
                                                                   https_server, certificates):
    name = slow_names.add("hanging-tls.test")
    started = time.perf_counter()
    result = probe_certificate(name, https_server.port, timeout=0.3, cafile=certificates.ca_file)
    elapsed = time.perf_counter() - started

    assert result.state == "unreachable"
    assert result.error == "name lookup timed out after 0.3 s"
    assert elapsed < 0.3 + MARGIN


def test_a_looked_up_host_is_asked_for_and_verified_by_name(slow_names, tls_server,
                                                            certificates):
    server = tls_server(certificates.wrong_host)  # valid for wrong.example only
    name = slow_names.add("wrong.example", delay=0.1)

    result = probe_certificate(name, server.port, timeout=2, cafile=certificates.ca_file)

    assert result.state == "valid", result.error
    assert result.details["subject"] == "CN=wrong.example, O=maintenant tests"


def test_a_host_name_is_verified_not_its_address(tls_server, certificates):
    server = tls_server(certificates.wrong_host)

    result = probe_certificate("localhost", server.port, timeout=2, cafile=certificates.ca_file)

    assert result.state == "invalid"
    assert result.error == ("TLS certificate verify failed: Hostname mismatch, "
                            "certificate is not valid for 'localhost'.")


def test_dates_are_judged_at_the_given_time(https_server, certificates):
    expires_at = certificates.valid.not_after.replace(microsecond=0)

    ten_days_before = probe(https_server, certificates, now=expires_at - timedelta(days=10))
    after = probe(https_server, certificates, now=expires_at + timedelta(hours=1))
    naive = probe(https_server, certificates,
                  now=(expires_at - timedelta(days=40)).replace(tzinfo=None))

    assert (ten_days_before.state, ten_days_before.details["days_left"]) == ("expiring", 10)
    assert (after.state, after.details["days_left"]) == ("expired", 0)
    assert (naive.state, naive.details["days_left"]) == ("valid", 40)


def test_readable_name_puts_the_common_name_first():
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Let's Encrypt"),
        x509.NameAttribute(NameOID.COMMON_NAME, "R3"),
    ])

    assert readable_name(name) == "CN=R3, O=Let's Encrypt, C=US"


def test_now_defaults_to_the_current_time(https_server, certificates):
    result = probe(https_server, certificates)
    expected = (certificates.valid.not_after - datetime.now(timezone.utc)).days

    assert result.details["days_left"] in (expected, expected + 1)
