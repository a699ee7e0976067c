"""Schemas of incidents and their timeline updates."""

from marshmallow import Schema, fields, validate

from ..status import INCIDENT_SEVERITIES, INCIDENT_STATUSES
from .common import (Choice, ComponentRef, IdList, Name, PageArgs, SafeString, StrictSchema,
                     UTCDateTime, not_blank)

MESSAGE = [validate.Length(min=1, max=10_000), not_blank]


class IncidentIn(StrictSchema):
    title = Name(max=300)
    severity = Choice(INCIDENT_SEVERITIES, required=True)
    message = SafeString(required=True, validate=MESSAGE)
    status = Choice(INCIDENT_STATUSES, load_default="investigating")
    components = IdList(load_default=list)


class IncidentChange(StrictSchema):
    """PUT: what may change on an incident outside its timeline."""

    title = Name(max=300)
    severity = Choice(INCIDENT_SEVERITIES)
    components = IdList()


class IncidentUpdateIn(StrictSchema):
    status = Choice(INCIDENT_STATUSES, required=True)
    message = SafeString(required=True, validate=MESSAGE)


class IncidentListArgs(PageArgs):
    status = Choice(("open", "resolved"), load_default=None)


class IncidentUpdateOut(Schema):
    id = fields.Integer()
    status = fields.String()
    message = fields.String()
    created_at = UTCDateTime()


class IncidentOut(Schema):
    id = fields.Integer()
    title = fields.String()
    severity = fields.String(metadata={"enum": list(INCIDENT_SEVERITIES)})
    status = fields.String(metadata={"enum": list(INCIDENT_STATUSES)})
    components = fields.Pluck(ComponentRef, "id", many=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    resolved_at = UTCDateTime(allow_none=True)
    updates = fields.List(fields.Nested(IncidentUpdateOut),
                          metadata={"description": "The timeline, newest first."})
