"""Domain errors raised by services and turned into HTTP answers by the blueprints."""


class DomainError(Exception):
    """A request that the rules refuse; carries the API error code and HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class BadRequest(DomainError):
    """A body that does not parse (malformed JSON)."""


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Invalid(DomainError):
    """Input that parses but breaks a rule; ``fields`` names each offending field."""

    status_code = 422
    code = "validation_failed"
