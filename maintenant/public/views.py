"""GET /status/ (the page) and /status/api (the same state as JSON), from the page cache.

Everything a response needs (body, headers, ETag) is worked out once per render; a request
only compares its If-None-Match and copies the stored response, so a cached page costs about
what constant bytes would.
"""

from flask import request

from . import bp
from .cache import API, PAGE, rendered


def serve(key):
    entry = rendered(key)
    if entry.matches(request.headers.get("If-None-Match")):
        return entry.not_modified()
    return entry.response()


@bp.get("/")
def page():
    return serve(PAGE)


@bp.get("/api")
def api():
    return serve(API)
