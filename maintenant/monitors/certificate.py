"""Certificate monitors: open a TLS connection, read the leaf certificate, judge its dates.

`probe_certificate` is a pure function of its arguments (no database, no app context) and
is safe to call from many threads at once. The certificate is verified against the
system's trust store (or `cafile`) and the host name; when that fails, a second connection
without verification still reads the certificate, so its dates, issuer and subject are
reported and an expired certificate is told apart from an untrusted or misnamed one. The
certificate is parsed with `cryptography`: the ssl module gives nothing but the raw bytes
of a certificate it did not verify.
"""

from __future__ import annotations

import ssl
import time
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from cryptography import x509

from maintenant.monitors.base import ProbeResult
from maintenant.monitors.endpoint import describe_error, open_connection

VALID = "valid"
EXPIRING = "expiring"
EXPIRED = "expired"
INVALID = "invalid"
UNREACHABLE = "unreachable"
STATES = (VALID, EXPIRING, EXPIRED, INVALID, UNREACHABLE)

DEFAULT_WARNING_DAYS = 30
# OpenSSL's X509_V_ERR_CERT_HAS_EXPIRED
CERT_HAS_EXPIRED = 10


def probe_certificate(host, port=443, server_name=None, warning_days=DEFAULT_WARNING_DAYS,
                      timeout=10.0, now=None, cafile=None):
    """Check the TLS certificate a server presents.

    Args:
        host: the name or address to connect to.
        port: the TCP port.
        server_name: the name to ask for (SNI) and to verify; `host` when None.
        warning_days: a certificate that ends within this many days is "expiring".
        timeout: seconds for the whole check, name lookups and both connections included
            (a lookup that hangs is "name lookup timed out after N s": endpoint.resolve).
        now: the time to judge the dates against (aware; defaults to now, in UTC).
        cafile: a PEM file of CAs to trust instead of the system's (tests, private CAs).

    Returns:
        ProbeResult with state valid | expiring | expired | invalid | unreachable.
        latency_ms is the time to connect and complete the handshake. Whenever the
        certificate could be read, details holds `expires_at` and `not_before` (aware UTC
        datetimes), `days_left` (whole days, rounded toward zero: 0 in the day either side
        of the expiry, negative from a day after it), `issuer` and `subject`
        ("CN=..., O=...") and `dns_names`. The error of an expiring certificate says when it
        expires; an expired one says since when.
    """
    now = _aware(now) if now is not None else datetime.now(timezone.utc)
    deadline = time.monotonic() + timeout
    server_name = server_name or host
    started = time.perf_counter()
    try:
        der = _read_certificate(host, port, server_name, _verifying_context(cafile), deadline)
    except ssl.SSLCertVerificationError as exc:
        latency_ms = (time.perf_counter() - started) * 1000
        return _unverified(host, port, server_name, exc, deadline, now, latency_ms)
    except (OSError, ValueError) as exc:
        return ProbeResult(UNREACHABLE, error=describe_error(exc, timeout))
    latency_ms = (time.perf_counter() - started) * 1000
    try:
        details = certificate_details(x509.load_der_x509_certificate(der), now)
    except ValueError as exc:
        return ProbeResult(INVALID, latency_ms, f"the certificate could not be read: {exc}")
    expires_at = details["expires_at"]
    if expires_at <= now:
        return ProbeResult(EXPIRED, latency_ms, _expired_words(expires_at), details)
    if expires_at - now <= timedelta(days=warning_days):
        return ProbeResult(EXPIRING, latency_ms, _expiring_words(details), details)
    return ProbeResult(VALID, latency_ms, None, details)


def certificate_details(certificate, now):
    """What to keep of a certificate: its dates, names and days left at `now`."""
    expires_at = certificate.not_valid_after_utc
    return {
        "expires_at": expires_at,
        "not_before": certificate.not_valid_before_utc,
        "days_left": int((expires_at - now) / timedelta(days=1)),
        "issuer": readable_name(certificate.issuer),
        "subject": readable_name(certificate.subject),
        "dns_names": _dns_names(certificate),
    }


def readable_name(name):
    """A certificate name as people read it: "CN=R3, O=Let's Encrypt, C=US"."""
    return ", ".join(f"{attribute.rfc4514_attribute_name}={attribute.value}"
                     for attribute in reversed(list(name)))


def _unverified(host, port, server_name, error, deadline, now, latency_ms):
    """Judge a certificate that failed verification, from a second, unverified look."""
    details = {}
    try:
        der = _read_certificate(host, port, server_name, _unverifying_context(), deadline)
        details = certificate_details(x509.load_der_x509_certificate(der), now)
    except (OSError, ValueError):
        pass  # the first connection's error says enough
    expires_at = details.get("expires_at")
    if (expires_at is not None and expires_at <= now) or error.verify_code == CERT_HAS_EXPIRED:
        return ProbeResult(EXPIRED, latency_ms,
                           _expired_words(expires_at) if expires_at else "certificate expired",
                           details)
    return ProbeResult(INVALID, latency_ms, describe_error(error), details)


def _read_certificate(host, port, server_name, context, deadline):
    """The leaf certificate (DER) of a TLS connection made within the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the check's deadline passed")
    sock = open_connection(host, port, remaining)
    try:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the check's deadline passed")
        sock.settimeout(remaining)
        with context.wrap_socket(sock, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    finally:
        sock.close()
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return der


@lru_cache(maxsize=32)
def _verifying_context(cafile):
    """One context per trust store: loading one costs milliseconds."""
    return ssl.create_default_context(cafile=cafile)


@lru_cache(maxsize=1)
def _unverifying_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _expired_words(expires_at):
    return f"certificate expired on {expires_at:%Y-%m-%d %H:%M} UTC"


def _expiring_words(details):
    days = details["days_left"]
    when = "in less than a day" if days < 1 else f"in {days} day{'s' if days != 1 else ''}"
    return f"certificate expires {when}, on {details['expires_at']:%Y-%m-%d %H:%M} UTC"


def _dns_names(certificate):
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return extension.value.get_values_for_type(x509.DNSName)


def _aware(moment):
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
