"""Schemas of subscribers."""

from marshmallow import Schema, fields

from .common import ComponentRef, PageArgs, StrictSchema, UTCDateTime
from .subscriptions import EmailAddress


def mask_email(email):
    """``jane@example.com`` -> ``j***@example.com``: enough to recognise, not to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


class SubscriberListArgs(PageArgs):
    full = fields.Boolean(load_default=False)
    confirmed = fields.Boolean(load_default=None)


class SubscriberOut(Schema):
    id = fields.Integer()
    email = fields.String()
    confirmed = fields.Boolean(metadata={"description": "false: signed up, not confirmed yet."})
    created_at = UTCDateTime()
    confirmed_at = UTCDateTime(allow_none=True)
    components = fields.List(fields.Nested(ComponentRef), metadata={
        "description": "The components chosen; empty: everything."})
    undeliverable_at = UTCDateTime(allow_none=True, metadata={
        "description": "When the mail server rejected the address for good; no mail since."})


class SubscriberTestIn(StrictSchema):
    email = EmailAddress(required=True)


class SubscriberTestOut(Schema):
    email = fields.String()
    queued = fields.Boolean()


class MaskedSubscriberOut(SubscriberOut):
    email = fields.Function(lambda subscriber: mask_email(subscriber.email))
