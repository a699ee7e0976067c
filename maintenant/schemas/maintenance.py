"""Schemas of maintenance windows."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..models.maintenance import MAINTENANCE_STATUSES, RECURRENCE_FREQUENCIES
from .common import (Choice, ComponentRef, IdList, Name, PageArgs, StrictBool, StrictInt,
                     StrictSchema, Text, UTCDateTime)

# Every 1,000 days, weeks or months is already more than any real schedule needs.
MAX_RECURRENCE_INTERVAL = 1000


class RecurrenceIn(StrictSchema):
    """How a window repeats: every ``interval`` days, weeks or months, until ``until``."""

    frequency = Choice(RECURRENCE_FREQUENCIES, required=True)
    interval = StrictInt(load_default=1,
                         validate=validate.Range(min=1, max=MAX_RECURRENCE_INTERVAL))
    until = UTCDateTime(load_default=None, allow_none=True)


class WholeNested(fields.Nested):
    """A nested object that is replaced as a whole: a partial PUT still sends all of it."""

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        return super()._deserialize(value, attr, data, partial=False, **kwargs)


class MaintenanceIn(StrictSchema):
    title = Name(max=300)
    description = Text(load_default="")
    starts_at = UTCDateTime(required=True)
    ends_at = UTCDateTime(required=True)
    components = IdList(required=True)
    cancelled = StrictBool(load_default=False)
    recurrence = WholeNested(RecurrenceIn, allow_none=True, load_default=None,
                             metadata={"description": "null for a one-off window."})

    @validates_schema
    def ends_after_start(self, data, **kwargs):
        if "starts_at" in data and "ends_at" in data and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("Must be after starts_at.", "ends_at")


class MaintenanceListArgs(PageArgs):
    status = Choice(MAINTENANCE_STATUSES, load_default=None)


class RecurrenceOut(Schema):
    frequency = fields.String(metadata={"enum": list(RECURRENCE_FREQUENCIES)})
    interval = fields.Integer()
    until = UTCDateTime(allow_none=True)


class RecurrenceField(fields.Nested):
    """A window's recurrence columns as one object (None for a one-off window)."""

    def get_value(self, obj, attr, accessor=None, default=None):
        if obj.recurrence_frequency is None:
            return None
        return {"frequency": obj.recurrence_frequency, "interval": obj.recurrence_interval,
                "until": obj.recurrence_until}


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
    recurrence = RecurrenceField(RecurrenceOut, allow_none=True, metadata={
        "description": "How the window repeats; null for a one-off window."})
    series_id = fields.Integer(allow_none=True, metadata={
        "description": "The first window of the recurring series this one belongs to."})
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
