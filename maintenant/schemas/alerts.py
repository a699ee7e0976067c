"""Schemas of alerts, alert channels and their deliveries."""

import re
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..models.alerts import ALERT_STATUSES, CHANNEL_TYPES
from ..status import MONITOR_TYPES
from .common import Choice, Name, PageArgs, SafeString, StrictBool, StrictSchema, UTCDateTime

MAX_URL_LENGTH = 2000
MAX_SECRET_LENGTH = 500
MAX_ADDRESSES = 50
# RFC 5321 caps a path at 256 octets, so an address is at most 254 characters.
MAX_EMAIL_LENGTH = 254
URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")
DELIVERY_STATUSES = ("pending", "sent", "failed")


def webhook_url(value):
    """An absolute http or https URL with a host: nothing else is ever requested."""
    if URL_FORBIDDEN.search(value):
        raise ValidationError("A URL has no spaces or control characters.")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises on a port that is not a number in range
    except ValueError:
        raise ValidationError("Not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError("Only http and https URLs.")
    if not parts.hostname:
        raise ValidationError("A URL needs a host.")


def single_line(value):
    if any(char in value for char in "\r\n\0"):
        raise ValidationError("Not a valid email address.")


def distinct_addresses(values):
    lowered = [value.lower() for value in values]
    if len(set(lowered)) != len(lowered):
        raise ValidationError("Lists each address once.")


class AlertChannelIn(StrictSchema):
    name = Name()
    type = Choice(CHANNEL_TYPES, required=True, metadata={
        "description": "webhook (needs url) or email (needs addresses)."})
    url = SafeString(validate=[validate.Length(max=MAX_URL_LENGTH), webhook_url], metadata={
        "description": "webhook: the http(s) URL that receives a JSON POST per alert."})
    secret = SafeString(allow_none=True, validate=validate.Length(min=1, max=MAX_SECRET_LENGTH),
                        metadata={"description": "webhook: signs each body, header "
                                                 "X-Maintenant-Signature: sha256=<hex HMAC>. "
                                                 "Never returned; null removes it."})
    addresses = fields.List(
        fields.Email(validate=[validate.Length(max=MAX_EMAIL_LENGTH), single_line]),
        validate=[validate.Length(min=1, max=MAX_ADDRESSES), distinct_addresses],
        metadata={"description": f"email: 1 to {MAX_ADDRESSES} recipients."})
    enabled = StrictBool(load_default=True)


class AlertChannelOut(Schema):
    id = fields.Integer()
    name = fields.String()
    type = fields.String(metadata={"enum": list(CHANNEL_TYPES)})
    url = fields.String(allow_none=True)
    has_secret = fields.Function(lambda channel: bool(channel.secret), metadata={
        "type": "boolean", "description": "Whether webhook bodies are signed."})
    addresses = fields.List(fields.String())
    enabled = fields.Boolean()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class QueryTime(UTCDateTime):
    """A time in a query string, where an unencoded ``+`` of the offset arrives as a space."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and re.search(r" \d\d:?\d\d$", value):
            value = value[:value.rindex(" ")] + "+" + value[value.rindex(" ") + 1:]
        return super()._deserialize(value, attr, data, **kwargs)


class AlertListArgs(PageArgs):
    monitor_type = Choice(MONITOR_TYPES, load_default=None)
    monitor_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    status = Choice(ALERT_STATUSES, load_default=None)
    since = QueryTime(load_default=None, metadata={"description": "Created at or after."})
    until = QueryTime(load_default=None, metadata={"description": "Created before."})

    @validates_schema
    def until_after_since(self, data, **kwargs):
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise ValidationError("Must be after since.", "until")


class AlertOut(Schema):
    id = fields.Integer()
    monitor_type = fields.String(metadata={"enum": list(MONITOR_TYPES)})
    monitor_id = fields.Integer()
    monitor_name = fields.String(metadata={"description": "The monitor's name at the time."})
    from_status = fields.String(allow_none=True)
    to_status = fields.String(metadata={"description": "The latest state this alert stands for."})
    reason = fields.String(allow_none=True)
    created_at = UTCDateTime()
    last_at = UTCDateTime(metadata={"description": "The last change folded into this alert."})
    count = fields.Integer(metadata={"description": "Changes this alert stands for (more than "
                                                    "one for a flapping monitor)."})
    status = fields.String(metadata={"enum": list(ALERT_STATUSES)})
    release_at = UTCDateTime(allow_none=True, metadata={
        "description": "A held (coalesced) alert is delivered at this time."})


class AlertDeliveryOut(Schema):
    id = fields.Integer()
    alert_id = fields.Integer(allow_none=True, metadata={"description": "null for a test."})
    channel_id = fields.Integer()
    status = fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    attempts = fields.Integer()
    next_attempt_at = UTCDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = UTCDateTime()
    sent_at = UTCDateTime(allow_none=True)


class AlertDetailOut(AlertOut):
    deliveries = fields.List(fields.Nested(AlertDeliveryOut))
