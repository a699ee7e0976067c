"""Schemas of subscribers."""

from marshmallow import Schema, fields

from .common import PageArgs, UTCDateTime


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
    confirmed = fields.Boolean()
    created_at = UTCDateTime()


class MaskedSubscriberOut(SubscriberOut):
    email = fields.Function(lambda subscriber: mask_email(subscriber.email))
