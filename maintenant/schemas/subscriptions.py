"""Schemas of the public sign-up (POST /status/subscribe) and the manage form."""

from marshmallow import fields, validate

from .common import IdList, StrictSchema

# RFC 5321 caps a path at 256 octets, so an address is at most 254 characters.
MAX_EMAIL_LENGTH = 254


class EmailAddress(fields.Email):
    """An email address as people paste it: spaces around it dropped, one line, at most
    MAX_EMAIL_LENGTH characters."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Length(max=MAX_EMAIL_LENGTH), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
            if any(char in value for char in "\r\n\0"):
                raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class SignUpIn(StrictSchema):
    email = EmailAddress(required=True)
    components = IdList(load_default=list)


class ComponentChoiceIn(StrictSchema):
    components = IdList(load_default=list)
