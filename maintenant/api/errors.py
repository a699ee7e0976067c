"""The one error envelope of the API, and the handlers that use it everywhere."""

import logging

from flask import jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..db_errors import (RETRY_AFTER_SECONDS, describe, is_database_unavailable,
                         roll_back_session)
from ..errors import DomainError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_response(status, message, code=None, fields=None, headers=None):
    """A JSON error in the envelope ``{"error": {"code", "message", "fields"}}``."""
    body = {"error": {"code": code or HTTP_CODES.get(status, "error"), "message": message,
                      "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_json():
    """API paths answer errors as JSON; so does any request that sent JSON (a public form
    posted by a script: /status/subscribe); the public page answers HTML."""
    path = request.path
    return path == "/api" or path.startswith("/api/") or path == "/healthz" or \
        path.startswith("/status/api") or request.mimetype == "application/json"


def flatten_messages(messages):
    """marshmallow's nested error dict, with list indexes kept, as JSON-friendly fields."""
    if isinstance(messages, dict):
        return {str(key): flatten_messages(value) for key, value in messages.items()}
    return messages


def database_unavailable(error):
    """503 with Retry-After while the database cannot be reached: nothing is wrong with the
    request or the code, so one warning line is logged, not a traceback."""
    log.warning("database unavailable on %s %s: %s", request.method, request.path,
                describe(error))
    roll_back_session()
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if wants_json():
        return error_response(503, "The database is unavailable; try again in a few seconds.",
                              headers=headers)
    return "This page is unavailable for a moment; try again in a few seconds.", 503, headers


def register_error_handlers(app):
    """Route every error on an API path through ``error_response``."""

    @app.errorhandler(DomainError)
    def domain_error(error):
        return error_response(error.status_code, error.message, error.code, error.fields)

    @app.errorhandler(ValidationError)
    def validation_error(error):
        messages = error.messages if isinstance(error.messages, dict) else {"_body": error.messages}
        return error_response(422, "The request body is not valid.", "validation_failed",
                              flatten_messages(messages))

    @app.errorhandler(HTTPException)
    def http_error(error):
        if not wants_json():
            return error
        headers = {}
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return error_response(error.code, error.description or error.name, headers=headers)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        if is_database_unavailable(error):
            return database_unavailable(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return error_response(500, "Something went wrong on our side.")
        return "Something went wrong on our side.", 500
