"""Fields and base schemas shared by every request and response schema."""

from datetime import timezone

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate


class StrictSchema(Schema):
    """A request schema: unknown fields are errors, not silently dropped."""

    class Meta:
        unknown = RAISE


class UTCDateTime(fields.AwareDateTime):
    """An ISO 8601 time with an offset (a naive one is rejected), converted to UTC."""

    default_error_messages = {
        "invalid": "Not a valid ISO 8601 time.",
        "invalid_awareness": "A time needs an offset, e.g. 2026-01-01T10:00:00Z.",
    }

    def __init__(self, **kwargs):
        super().__init__(format="iso", default_timezone=None, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        # "Z" is the most common way to say UTC; older parsers refuse it.
        if isinstance(value, str) and value.endswith(("Z", "z")):
            value = value[:-1] + "+00:00"
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC time in year 1
            raise self.make_error("invalid") from None


class SafeString(fields.String):
    """A string any database can store: PostgreSQL refuses NUL in text, and no database
    takes a lone surrogate (which JSON can spell as an escape)."""

    default_error_messages = {
        "nul": "Must not contain NUL characters.",
        "unicode": "Not valid Unicode text.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in value:
            raise self.make_error("nul")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise self.make_error("unicode") from None
        return value


class StrictBoolean(fields.Boolean):
    """A boolean sent as true or false: 1, 0 and 1.0 equal True and False in Python, not in JSON."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def Name(**kwargs):
    """A required, non-blank, bounded name or title."""
    return SafeString(required=True, validate=[validate.Length(min=1, max=kwargs.pop("max", 200)),
                                               not_blank], **kwargs)


def Text(max_length=10_000, **kwargs):
    """Free text such as a description or message."""
    return SafeString(validate=validate.Length(max=max_length), **kwargs)


def StrictInt(**kwargs):
    """An integer that must be sent as a JSON number (no "3", no 3.5)."""
    return fields.Integer(strict=True, **kwargs)


def StrictBool(**kwargs):
    """A boolean that must be sent as true or false."""
    return StrictBoolean(**kwargs)


def Choice(choices, **kwargs):
    """A string from a fixed set."""
    return SafeString(validate=validate.OneOf(choices), **kwargs)


# More ids than any page has components; the cap keeps a lookup within what a database binds
# (PostgreSQL takes at most 65,535 parameters in one statement).
MAX_IDS = 1000


def IdList(**kwargs):
    """A list of ids (each a positive integer), without duplicates."""
    return fields.List(StrictInt(validate=validate.Range(min=1, max=2**31 - 1)),
                       validate=[validate.Length(max=MAX_IDS), unique_items], **kwargs)


def not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be blank.")


def unique_items(values):
    if len(set(values)) != len(values):
        raise ValidationError("Lists each id once.")


class PageArgs(StrictSchema):
    """``?limit=&offset=`` of a list that can grow (other query arguments are ignored)."""

    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class ComponentRef(Schema):
    id = fields.Integer()
    name = fields.String()


def list_response(schema, items, total):
    """The list envelope ``{"items": [...], "total": n}``."""
    return {"items": schema.dump(items, many=True), "total": total}
