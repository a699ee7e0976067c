"""Schemas of the public sign-up (POST /status/subscribe) and the manage form."""

from marshmallow import fields, pre_load, validate

from .common import IdList, StrictSchema

# RFC 5321 caps a path at 256 octets, so an address is at most 254 characters.
MAX_EMAIL_LENGTH = 254


def _single_line(value):
    if any(char in value for char in "\r\n\0"):
        raise validate.ValidationError("Not a valid email address.")


class SignUpIn(StrictSchema):
    email = fields.Email(required=True, validate=[validate.Length(max=MAX_EMAIL_LENGTH),
                                                  _single_line])
    components = IdList(load_default=list)

    @pre_load
    def trim_email(self, data, **kwargs):
        """A pasted address often carries spaces around it; they are not part of it."""
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            data = {**data, "email": data["email"].strip()}
        return data


class ComponentChoiceIn(StrictSchema):
    components = IdList(load_default=list)
