"""Schemas of incidents and their timeline updates."""

from marshmallow import Schema, fields, validate

from ..status import INCIDENT_SEVERITIES, INCIDENT_STATUSES
from .common import (Choice, ComponentRef, IdList, Name, PageArgs, SafeString, StrictBool,
                     StrictSchema, UTCDateTime, not_blank)

MESSAGE = [validate.Length(min=1, max=10_000), not_blank]


class IncidentIn(StrictSchema):
    title = Name(max=300)
    severity = Choice(INCIDENT_SEVERITIES, required=True)
    message = SafeString(required=True, validate=MESSAGE)
    status = Choice(INCIDENT_STATUSES, load_default="investigating")
    components = IdList(load_default=list)
    draft = StrictBool(load_default=False, metadata={
        "description": "Start as a draft: not public until POST /status/incidents/{id}/publish."})
    notify = StrictBool(load_default=True, metadata={
        "description": "false: subscribers get no email about it."})


class IncidentChange(StrictSchema):
    """PUT: what may change on an incident outside its timeline."""

    title = Name(max=300)
    severity = Choice(INCIDENT_SEVERITIES)
    components = IdList()


class IncidentUpdateIn(StrictSchema):
    status = Choice(INCIDENT_STATUSES, required=True)
    message = SafeString(required=True, validate=MESSAGE)
    notify = StrictBool(load_default=True, metadata={
        "description": "false: subscribers get no email about this update."})


class IncidentListArgs(PageArgs):
    status = Choice(("open", "resolved"), load_default=None)
    draft = fields.Boolean(truthy={"true"}, falsy={"false"}, load_default=None, metadata={
        "description": "true: only drafts; false: only public incidents; absent: both."})


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
    draft = fields.Boolean(metadata={"description": "Not public (page, feeds, API v2, mail) "
                                                    "until published."})
    auto = fields.Boolean(metadata={"description": "Opened by the monitors of a component with "
                                                   "auto_incident."})
    updates = fields.List(fields.Nested(IncidentUpdateOut),
                          metadata={"description": "The timeline, newest first."})
