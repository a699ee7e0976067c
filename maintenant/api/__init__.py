"""The operator API blueprint, /api/v1: bearer-token auth, JSON in and out."""

import json

from flask import Blueprint, current_app, g, request
from marshmallow import ValidationError

from ..errors import BadRequest, Invalid, UnsupportedMediaType
from ..services.tokens import authenticate
from .errors import error_response, flatten_messages

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.openapi"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@bp.before_request
def require_token():
    """Every route but the API description needs a token; writes need the write scope."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    principal = None
    if scheme.lower() == "bearer":
        principal = authenticate(raw.strip(), current_app.config.get("API_TOKEN"))
    if principal is None:
        return error_response(401, "A valid bearer token is required.",
                              headers={"WWW-Authenticate": 'Bearer realm="maintenant"'})
    if request.method not in SAFE_METHODS and not principal.can_write:
        return error_response(403, "This token is read-only.")
    g.principal = principal
    return None


def json_body():
    """The request's JSON body: 415 when it is not JSON, 400 when it does not parse."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"The body is not valid JSON: {error}.") from None
    except RecursionError:
        # A body under the size limit can still nest deeper than the parser recurses.
        raise BadRequest("The body nests too deeply.") from None


def load_body(schema, partial=False):
    """Parse and validate the JSON body with a marshmallow schema (422 on bad fields)."""
    return schema.load(json_body(), partial=partial)


def load_args(schema):
    """Validate query-string arguments with a marshmallow schema (422 naming each bad
    argument, in the same envelope as a bad body but saying it is the query string)."""
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as error:
        raise Invalid("The query string is not valid.",
                      flatten_messages(error.normalized_messages())) from None


from . import (alerts, components, groups, incidents, maintenance, monitors,  # noqa: E402,F401
               openapi, settings, subscribers)
