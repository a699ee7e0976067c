"""Schemas of the page settings."""

import zoneinfo

from marshmallow import Schema, ValidationError, fields

from .common import Name, StrictSchema, Text, UTCDateTime


def iana_zone(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError("Not a known IANA time zone, e.g. Europe/Paris.") from None


class SettingsIn(StrictSchema):
    title = Name()
    description = Text(max_length=5000)
    timezone = fields.String(validate=iana_zone)


class SettingsOut(Schema):
    title = fields.String()
    description = fields.String()
    timezone = fields.String()
    updated_at = UTCDateTime()
