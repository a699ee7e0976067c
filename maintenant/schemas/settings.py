"""Schemas of the page settings."""

import functools
import zoneinfo

from marshmallow import Schema, ValidationError, fields

from .common import Name, SafeString, StrictBool, StrictSchema, Text, UTCDateTime


@functools.cache
def known_zones():
    return frozenset(zoneinfo.available_timezones())


def iana_zone(value):
    # Membership, not ZoneInfo(value): that one opens files, so a folder name ("Europe") or an
    # over-long key raises OSError instead of saying the zone is unknown.
    if value not in known_zones():
        raise ValidationError("Not a known IANA time zone, e.g. Europe/Paris.")


class SettingsIn(StrictSchema):
    title = Name()
    description = Text(max_length=5000)
    timezone = SafeString(validate=iana_zone)
    auto_incident_drafts = StrictBool(metadata={
        "description": "Auto incidents start as drafts, public once published."})


class SettingsOut(Schema):
    title = fields.String()
    description = fields.String()
    timezone = fields.String()
    auto_incident_drafts = fields.Boolean()
    updated_at = UTCDateTime(allow_none=True, metadata={"description": "null until first changed."})
