"""Schemas of maintenance windows."""

from marshmallow import Schema, ValidationError, fields, validates_schema

from ..models.maintenance import MAINTENANCE_STATUSES
from .common import (Choice, ComponentRef, IdList, Name, PageArgs, StrictBool, StrictSchema, Text,
                     UTCDateTime)


class MaintenanceIn(StrictSchema):
    title = Name(max=300)
    description = Text(load_default="")
    starts_at = UTCDateTime(required=True)
    ends_at = UTCDateTime(required=True)
    components = IdList(required=True)
    cancelled = StrictBool(load_default=False)

    @validates_schema
    def ends_after_start(self, data, **kwargs):
        if "starts_at" in data and "ends_at" in data and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("Must be after starts_at.", "ends_at")


class MaintenanceListArgs(PageArgs):
    status = Choice(MAINTENANCE_STATUSES, load_default=None)


class MaintenanceOut(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    starts_at = UTCDateTime()
    ends_at = UTCDateTime()
    status = fields.String(metadata={"enum": list(MAINTENANCE_STATUSES),
                                     "description": "Derived from the clock."})
    cancelled = fields.Boolean()
    components = fields.Pluck(ComponentRef, "id", many=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
