"""Schemas of component groups and components."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..status import COMPONENT_STATUSES, MONITOR_TYPES
from .common import Choice, Name, StrictBool, StrictInt, StrictSchema, Text, UTCDateTime

ID = validate.Range(min=1, max=2**31 - 1)
SORT_ORDER = validate.Range(min=-(2**31), max=2**31 - 1)


class GroupIn(StrictSchema):
    name = Name()
    description = Text(max_length=2000, load_default="")
    sort_order = StrictInt(load_default=0, validate=SORT_ORDER)
    collapsed = StrictBool(load_default=False)


class ComponentIn(StrictSchema):
    group_id = StrictInt(allow_none=True, load_default=None, validate=ID)
    name = Name()
    description = Text(max_length=2000, load_default="")
    sort_order = StrictInt(load_default=0, validate=SORT_ORDER)
    visible = StrictBool(load_default=True)
    monitor_type = Choice(MONITOR_TYPES, allow_none=True, load_default=None)
    monitor_id = StrictInt(allow_none=True, load_default=None, validate=ID)
    status_override = Choice(COMPONENT_STATUSES, allow_none=True, load_default=None)
    auto_incident = StrictBool(load_default=False, metadata={
        "description": "Open an incident when its monitor puts it in partial or major outage."})

    @validates_schema
    def monitor_pair(self, data, partial=None, **kwargs):
        if "monitor_id" in data and data["monitor_id"] is not None and \
                "monitor_type" in data and data["monitor_type"] is None:
            raise ValidationError("A monitor_id needs a monitor_type.", "monitor_id")


class ComponentOut(Schema):
    id = fields.Integer()
    group_id = fields.Integer(allow_none=True)
    name = fields.String()
    description = fields.String()
    sort_order = fields.Integer()
    visible = fields.Boolean()
    monitor_type = fields.String(allow_none=True)
    monitor_id = fields.Integer(allow_none=True)
    status_override = fields.String(allow_none=True)
    auto_incident = fields.Boolean()
    status = fields.String(metadata={"enum": list(COMPONENT_STATUSES),
                                     "description": "Effective status by the status rules."})
    created_at = UTCDateTime()


class GroupOut(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    sort_order = fields.Integer()
    collapsed = fields.Boolean()
    status = fields.String(metadata={"enum": list(COMPONENT_STATUSES),
                                     "description": "Worst status of its visible components."})
    components = fields.List(fields.Nested(ComponentOut))
    created_at = UTCDateTime()
