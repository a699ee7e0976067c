"""Schemas of incidents and their timeline updates."""

from datetime import datetime, timezone

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..status import INCIDENT_SEVERITIES, INCIDENT_STATUSES
from .common import (Choice, ComponentRef, IdList, Name, PageArgs, SafeString, StrictBool,
                     StrictSchema, UTCDateTime, not_blank)

MESSAGE = [validate.Length(min=1, max=10_000), not_blank]
# A postmortem is markdown, rendered sanitised on the incident's page (maintenant.markdown).
def Postmortem():
    return SafeString(validate=validate.Length(max=50_000), metadata={
        "description": "What happened and what changes (markdown; raw HTML is shown as text)."})


def in_the_past(value):
    if value > datetime.now(timezone.utc):
        raise ValidationError("Must not be in the future.")


class IncidentIn(StrictSchema):
    title = Name(max=300)
    severity = Choice(INCIDENT_SEVERITIES, required=True)
    message = SafeString(required=True, validate=MESSAGE)
    status = Choice(INCIDENT_STATUSES, load_default="investigating")
    components = IdList(load_default=list)
    draft = StrictBool(load_default=False, metadata={
        "description": "Start as a draft: not public until POST /status/incidents/{id}/publish."})
    # None: the default, true, except for a backfilled incident (created_at given) that is
    # resolved already, which nobody needs to hear about now.
    notify = StrictBool(load_default=None, metadata={
        "description": "false: subscribers get no email about it. Default true, except for a "
                       "backfilled incident that is created resolved."})
    created_at = UTCDateTime(validate=in_the_past, metadata={
        "description": "Backfill: when it began (in the past); its first update gets that "
                       "time too."})
    resolved_at = UTCDateTime(validate=in_the_past, metadata={
        "description": "Backfill, with status resolved and created_at: when it ended "
                       "(default: created_at)."})
    postmortem = Postmortem()

    @validates_schema
    def check_backfill(self, data, **kwargs):
        if "resolved_at" not in data:
            return
        if data.get("status") != "resolved":
            raise ValidationError("Only for an incident created resolved.", "resolved_at")
        if "created_at" not in data:
            raise ValidationError("Needs created_at.", "resolved_at")
        if data["resolved_at"] < data["created_at"]:
            raise ValidationError("Must not be before created_at.", "resolved_at")


class IncidentChange(StrictSchema):
    """PUT: what may change on an incident outside its timeline."""

    title = Name(max=300)
    severity = Choice(INCIDENT_SEVERITIES)
    components = IdList()
    postmortem = Postmortem()


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
    postmortem = fields.String(metadata={"description": "Markdown; \"\" when none."})
    updates = fields.List(fields.Nested(IncidentUpdateOut),
                          metadata={"description": "The timeline, newest first."})
