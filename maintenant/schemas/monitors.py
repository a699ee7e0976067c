"""Schemas of the four monitor kinds (endpoints, heartbeats, certificates, containers) and
their daily history."""

import ipaddress
import math
import re

from flask import current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from ..models import utcnow
from ..monitors.container import reported_state
from ..monitors.endpoint import parse_status_ranges, parse_target
from .common import Choice, Name, SafeString, StrictBool, StrictInt, StrictSchema, UTCDateTime
from .settings import iana_zone

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ENDPOINT_STATES = ("unknown", "up", "down", "degraded")
HEARTBEAT_STATES = ("new", "up", "down")
CERTIFICATE_STATES = ("unknown", "valid", "expiring", "expired", "invalid", "unreachable")
# Docker's states (and removed); "unknown" until the first discovery, also after a resume.
# A running container failing its healthcheck is "running", with health "unhealthy".
CONTAINER_STATES = ("unknown", "running", "restarting", "paused", "exited", "dead", "created",
                    "removed")

DAY = 86_400
MONTH = 31 * DAY
MAX_HEADERS = 50
# RFC 9110 token characters: what a header name may be made of.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Control characters other than tab end a header line or corrupt it (CR, LF, NUL...).
HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
HOST_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
TARGET_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


class StrictNumber(fields.Float):
    """A number sent as a JSON number: no "10", no true, no NaN or Infinity."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


def sentence(message):
    """A lower-case message from a parser, as an API error sentence."""
    message = str(message)
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def endpoint_target(value):
    if TARGET_FORBIDDEN.search(value):
        raise ValidationError("A target has no spaces or control characters.")
    try:
        parse_target(value)
    except ValueError as error:
        raise ValidationError(sentence(error)) from None


def status_ranges(value):
    try:
        parse_status_ranges(value)
    except ValueError as error:
        raise ValidationError(sentence(error)) from None


def header_name(value):
    if not HEADER_NAME.match(value):
        raise ValidationError("A header name is letters, digits and !#$%&'*+-.^_`|~ only.")


def header_value(value):
    if HEADER_VALUE_FORBIDDEN.search(value):
        raise ValidationError("A header value has no line breaks or control characters.")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValidationError("A header value is Latin-1 text (HTTP sends no other).") from None


def headers_rule(headers):
    if len(headers) > MAX_HEADERS:
        raise ValidationError(f"At most {MAX_HEADERS} headers.")
    names = [name.lower() for name in headers]
    if len(set(names)) != len(names):
        raise ValidationError("Each header name once (names are case-insensitive).")


def host_name(value):
    """A host name (letters, digits, hyphens, dots; IDN allowed) or an IP address."""
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    try:
        ascii_name = value.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name[:-1].split(".") if ascii_name.endswith(".") else ascii_name.split(".")
    if not ascii_name or len(ascii_name) > 253 or \
            not all(HOST_LABEL.match(label) for label in labels):
        raise ValidationError("Not a host name or IP address.")


def Interval(default, minimum, maximum):
    return StrictInt(load_default=default, validate=validate.Range(min=minimum, max=maximum),
                     metadata={"description": f"Seconds between two checks ({minimum} to "
                                              f"{maximum})."})


def FailureThreshold():
    return StrictInt(load_default=2, validate=validate.Range(min=1, max=20), metadata={
        "description": "Consecutive results that must disagree with the state to change it."})


def Paused():
    return StrictBool(load_default=False, metadata={
        "description": "A paused monitor is not checked and contributes nothing to statuses; "
                       "resuming it starts again from no result."})


# --- requests ---------------------------------------------------------------------------------

class EndpointChange(StrictSchema):
    """PUT of an endpoint (partial): every setting but track_certificate."""

    name = Name()
    target = SafeString(required=True, validate=[validate.Length(max=2000), endpoint_target],
                        metadata={"description": "http(s)://host[:port]/path or tcp://host:port."})
    method = Choice(METHODS, load_default="GET")
    headers = fields.Dict(
        keys=SafeString(validate=[validate.Length(min=1, max=256), header_name]),
        values=SafeString(validate=[validate.Length(max=8192), header_value]),
        load_default=dict, validate=headers_rule,
        metadata={"description": "Request headers sent with every check (e.g. for auth); each "
                                 "name once, whatever its case.",
                  "maxProperties": MAX_HEADERS})
    follow_redirects = StrictBool(load_default=True)
    verify_tls = StrictBool(load_default=True)
    expected_statuses = SafeString(
        load_default="200-399", validate=[validate.Length(min=1, max=200), status_ranges],
        metadata={"description": "Status codes that mean up, e.g. 200-399 or 200,204,301-302."})
    keyword = SafeString(allow_none=True, load_default=None,
                         validate=validate.Length(min=1, max=500),
                         metadata={"description": "Text the body must contain (case-sensitive)."})
    timeout_seconds = StrictNumber(load_default=10.0, validate=validate.Range(min=0.5, max=60))
    interval_seconds = Interval(60, 5, DAY)
    failure_threshold = FailureThreshold()
    latency_threshold_ms = StrictInt(
        allow_none=True, load_default=None, validate=validate.Range(min=1, max=600_000),
        metadata={"description": "A passing check slower than this is degraded."})
    paused = Paused()


class EndpointIn(EndpointChange):
    """POST of an endpoint."""

    track_certificate = StrictBool(load_default=False, metadata={
        "description": "With an https target, also create a certificate monitor for its host "
                       "and port, named \"<name> certificate\"; the answer's certificate_id "
                       "names it. Only on create."})

    @validates_schema
    def certificate_needs_https(self, data, **kwargs):
        if data.get("track_certificate") and \
                not data.get("target", "").lower().startswith("https://"):
            raise ValidationError("Only an https:// target has a certificate to track.",
                                  "track_certificate")


class HeartbeatIn(StrictSchema):
    """POST and PUT (partial) of a heartbeat; its ping token is always ours, never sent."""

    name = Name()
    interval_seconds = StrictInt(load_default=300, validate=validate.Range(min=5, max=MONTH),
                                 metadata={"description": "Seconds expected between two pings."})
    grace_seconds = StrictInt(load_default=60, validate=validate.Range(min=0, max=MONTH),
                              metadata={"description": "Extra seconds before a late ping is down."})
    paused = Paused()


class CertificateIn(StrictSchema):
    """POST and PUT (partial) of a certificate monitor."""

    name = Name()
    host = SafeString(required=True, validate=[validate.Length(min=1, max=255), host_name])
    port = StrictInt(load_default=443, validate=validate.Range(min=1, max=65535))
    server_name = SafeString(allow_none=True, load_default=None,
                             validate=[validate.Length(min=1, max=255), host_name],
                             metadata={"description": "Name asked for (SNI) and verified; "
                                                      "null means host."})
    warning_days = StrictInt(load_default=30, validate=validate.Range(min=1, max=365),
                             metadata={"description": "Ending within this many days is expiring."})
    interval_seconds = Interval(3600, 60, 7 * DAY)
    failure_threshold = FailureThreshold()
    paused = Paused()


class ContainerChange(StrictSchema):
    """PUT of a container monitor (partial): containers are discovered, only these change."""

    name = Name()
    paused = Paused()


class HistoryArgs(Schema):
    """``?days=&tz=`` of a monitor's daily history."""

    class Meta:
        unknown = EXCLUDE

    days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=366),
                          metadata={"description": "Days back, today included."})
    tz = SafeString(load_default="UTC", validate=iana_zone,
                    metadata={"description": "IANA time zone whose days the rows are."})


# --- responses --------------------------------------------------------------------------------

def StateField(states):
    return fields.String(metadata={"enum": list(states), "description": "The current state."})


class MonitorOut(Schema):
    id = fields.Integer()
    name = fields.String()
    paused = fields.Boolean()
    status_changed_at = UTCDateTime(allow_none=True)
    last_checked_at = UTCDateTime(allow_none=True)
    last_error = fields.String(allow_none=True, metadata={
        "description": "What went wrong at the last check, in plain words."})
    interval_seconds = fields.Integer()
    failure_threshold = fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class EndpointOut(MonitorOut):
    status = StateField(ENDPOINT_STATES)
    target = fields.String()
    method = fields.String(metadata={"enum": list(METHODS)})
    headers = fields.Dict(keys=fields.String(), values=fields.String())
    follow_redirects = fields.Boolean()
    verify_tls = fields.Boolean()
    expected_statuses = fields.String()
    keyword = fields.String(allow_none=True)
    timeout_seconds = fields.Float()
    latency_threshold_ms = fields.Integer(allow_none=True)
    last_latency_ms = fields.Float(allow_none=True)


class EndpointCreatedOut(EndpointOut):
    """A new endpoint, with the certificate monitor track_certificate created."""

    certificate_id = fields.Integer(allow_none=True, metadata={
        "description": "The certificate monitor created by track_certificate, else null."})


class HeartbeatOut(MonitorOut):
    status = StateField(HEARTBEAT_STATES)
    grace_seconds = fields.Integer()
    ping_url = fields.Method("get_ping_url", metadata={
        "type": "string", "description": "GET or POST it to say up; append /fail to say down, "
                                         "/start to record a start. Keep it secret."})
    last_ping_at = UTCDateTime(allow_none=True)
    last_start_at = UTCDateTime(allow_none=True)

    def get_ping_url(self, heartbeat):
        return f"{current_app.config['BASE_URL']}/ping/{heartbeat.token}"


class CertificateOut(MonitorOut):
    status = StateField(CERTIFICATE_STATES)
    host = fields.String()
    port = fields.Integer()
    server_name = fields.String(allow_none=True)
    warning_days = fields.Integer()
    expires_at = UTCDateTime(allow_none=True)
    issuer = fields.String(allow_none=True)
    subject = fields.String(allow_none=True)
    days_left = fields.Method("get_days_left", allow_none=True, metadata={
        "type": "integer",
        "description": "Whole days until expires_at (negative once expired); null when unknown."})

    def get_days_left(self, certificate):
        if certificate.expires_at is None:
            return None
        return math.floor((certificate.expires_at - utcnow()).total_seconds() / DAY)


class ContainerOut(MonitorOut):
    """A container monitor: Docker's state in ``status``, its healthcheck's in ``health``.

    The monitor stores one condition (``unhealthy`` for a running container failing its
    healthcheck, see monitors.container); it is shown here as Docker words it.
    """

    status = fields.Function(lambda container: reported_state(container.status), metadata={
        "type": "string", "enum": list(CONTAINER_STATES),
        "description": "The current state, as Docker names it (confirmed after "
                       "failure_threshold discoveries); a running container failing its "
                       "healthcheck is running, with health unhealthy, and makes its "
                       "component degraded."})
    container_name = fields.String()
    container_id = fields.String(allow_none=True)
    image = fields.String(allow_none=True)
    health = fields.String(allow_none=True, metadata={
        "description": "starting | healthy | unhealthy, as the last discovery saw it; null "
                       "without a healthcheck."})
    last_seen_at = UTCDateTime(allow_none=True)


class HistoryDayOut(Schema):
    date = fields.Date(metadata={"description": "A day in the requested time zone."})
    uptime_percent = fields.Float(allow_none=True, metadata={
        "description": "(up + degraded) / (up + degraded + down) seconds x 100, to 3 decimals: "
                       "degraded counts as up. null when the day has no data."})
    up_seconds = fields.Float()
    degraded_seconds = fields.Float()
    down_seconds = fields.Float()
    checks = fields.Integer()
    failures = fields.Integer()
    latency_mean_ms = fields.Float(allow_none=True)
    latency_p95_ms = fields.Float(allow_none=True, metadata={
        "description": "Upper bound of the latency bucket holding the 95th percentile."})


class MonitorHistoryOut(Schema):
    items = fields.List(fields.Nested(HistoryDayOut), metadata={
        "description": "One row per day, oldest first, today last. An hour counts in the day "
                       "it starts in."})
    total = fields.Integer()
    timezone = fields.String()
