"""Schemas of the page settings."""

import base64
import binascii
import functools
import re
import zoneinfo
from urllib.parse import unquote_to_bytes, urlsplit

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from ..branding import ACCENT, LOGO_TYPES, MAX_LOGO_BYTES, LogoRefused, check_logo
from ..errors import DomainError, UnsupportedMediaType
from ..i18n import LANGUAGES
from .common import (Choice, Name, SafeString, StrictBool, StrictInt, StrictSchema, Text,
                     UTCDateTime)

THEMES = ("auto", "light", "dark")
MAX_ANNOUNCEMENT = 5000
MAX_FOOTER_LINKS = 10
MAX_LINK_LABEL = 60
MAX_LINK_URL = 500
LINK_SCHEMES = ("http", "https", "mailto")
DATA_URI = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*),(.*)$", re.DOTALL)


@functools.cache
def known_zones():
    return frozenset(zoneinfo.available_timezones())


def iana_zone(value):
    # Membership, not ZoneInfo(value): that one opens files, so a folder name ("Europe") or an
    # over-long key raises OSError instead of saying the zone is unknown.
    if value not in known_zones():
        raise ValidationError("Not a known IANA time zone, e.g. Europe/Paris.")


def accent_colour(value):
    if value is not None and not ACCENT.match(value):
        raise ValidationError("A colour as #rrggbb, e.g. #0860ca.")


def link_url(value):
    """http(s) URLs with a host, and mailto: addresses; nothing that runs or embeds."""
    if any(ord(char) < 33 for char in value):
        raise ValidationError("No spaces or control characters.")
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme not in LINK_SCHEMES:
        raise ValidationError("Only http, https and mailto links.")
    if scheme == "mailto" and not parts.path:
        raise ValidationError("A mailto link needs an address.")
    if scheme != "mailto" and not parts.hostname:
        raise ValidationError("The link needs a host.")


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class Logo(fields.Field):
    """A logo sent as a data: URI, checked, loaded as (bytes, media type); null removes it.

    Unsupported media types are a 415, logos over MAX_LOGO_BYTES a 413 (both in the error
    envelope, naming the field), anything that is not what it claims or could run a 422.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("A data: URI, e.g. data:image/png;base64,iVBOR..., or null.")
        if len(value) > MAX_LOGO_BYTES * 4 // 3 + 200:  # more than any allowed logo encodes to
            raise PayloadTooLarge(f"The logo is over {MAX_LOGO_BYTES // 1024} KiB.",
                                  {"logo": [f"At most {MAX_LOGO_BYTES // 1024} KiB."]})
        match = DATA_URI.match(value)
        if not match:
            raise ValidationError("A data: URI, e.g. data:image/png;base64,iVBOR..., or null.")
        media_type = match.group(1).strip().lower()
        if media_type not in LOGO_TYPES:
            raise UnsupportedMediaType(
                "The logo must be PNG, JPEG, WebP or SVG.",
                {"logo": [f"Unsupported type {media_type[:50]!r}: use one of "
                          f"{', '.join(LOGO_TYPES)}."]})
        params = [param.strip().lower() for param in match.group(2).split(";") if param.strip()]
        try:
            if "base64" in params:
                raw = base64.b64decode(match.group(3), validate=True)
            else:
                raw = unquote_to_bytes(match.group(3))
        except (binascii.Error, ValueError):
            raise ValidationError("The data: URI's base64 does not decode.") from None
        if len(raw) > MAX_LOGO_BYTES:
            raise PayloadTooLarge(f"The logo is over {MAX_LOGO_BYTES // 1024} KiB.",
                                  {"logo": [f"At most {MAX_LOGO_BYTES // 1024} KiB."]})
        try:
            check_logo(raw, media_type)
        except LogoRefused as refused:
            raise ValidationError(str(refused)) from None
        return raw, media_type


class FooterLinkIn(StrictSchema):
    label = Name(max=MAX_LINK_LABEL)
    url = SafeString(required=True, validate=[validate.Length(max=MAX_LINK_URL), link_url])

    @validates_schema(pass_original=True)
    def both_given(self, data, original, **kwargs):
        # A PUT loads partially, and marshmallow passes that on to nested schemas: a link
        # still needs both of its fields.
        if isinstance(original, dict):
            missing = {name: ["Missing data for required field."]
                       for name in ("label", "url") if name not in original}
            if missing:
                raise ValidationError(missing)


class SettingsIn(StrictSchema):
    title = Name()
    description = Text(max_length=5000)
    timezone = SafeString(validate=iana_zone)
    auto_incident_drafts = StrictBool(metadata={
        "description": "Auto incidents start as drafts, public once published."})
    logo = Logo(allow_none=True, metadata={
        "type": "string", "nullable": True,
        "description": "A data: URI (image/png, image/jpeg, image/webp or image/svg+xml, at "
                       "most 256 KiB; SVG without scripts or external references); null "
                       "removes the logo."})
    accent_color = SafeString(allow_none=True, validate=accent_colour, metadata={
        "description": "#rrggbb; null for the default."})
    announcement = Text(max_length=MAX_ANNOUNCEMENT, metadata={
        "description": "Markdown shown as a banner at the top of the page; empty hides it."})
    footer_links = fields.List(fields.Nested(FooterLinkIn),
                               validate=validate.Length(max=MAX_FOOTER_LINKS))
    theme = Choice(THEMES, metadata={"description": "auto follows the reader's browser."})
    language = Choice(LANGUAGES, metadata={
        "description": "For readers whose browser asks for none of the page's languages."})
    uptime_days = StrictInt(validate=validate.Range(min=7, max=365))

    @post_load
    def split_logo(self, data, **kwargs):
        if "logo" in data:
            data["logo"], data["logo_type"] = data["logo"] or (None, None)
        return data


def logo_facts(settings):
    if not settings.logo:
        return None
    return {"type": settings.logo_type, "size": len(settings.logo)}


class SettingsOut(Schema):
    title = fields.String()
    description = fields.String()
    timezone = fields.String()
    auto_incident_drafts = fields.Boolean()
    logo = fields.Function(logo_facts, metadata={
        "type": "object", "nullable": True,
        "properties": {"type": {"type": "string"}, "size": {"type": "integer"}},
        "description": "The logo's media type and size in bytes (null: none)."})
    accent_color = fields.String(allow_none=True)
    announcement = fields.String()
    footer_links = fields.List(fields.Dict(), metadata={
        "items": {"type": "object", "properties": {"label": {"type": "string"},
                                                   "url": {"type": "string"}}}})
    theme = fields.String()
    language = fields.String()
    uptime_days = fields.Integer()
    updated_at = UTCDateTime(allow_none=True, metadata={"description": "null until first changed."})
