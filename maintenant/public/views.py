"""GET /status/ (the page) and /status/api (the same state as JSON), from the page cache.

Everything a response needs (body, headers, ETag) is worked out once per render; a request
only compares its If-None-Match and copies the stored response, so a cached page costs about
what constant bytes would.
"""

from flask import request

from ..i18n import chosen_language
from . import bp
from .cache import API, PAGE, rendered


def serve(key):
    entry = rendered(key)
    if entry.matches(request.headers.get("If-None-Match")):
        return entry.not_modified()
    return entry.response()


@bp.get("/")
def page():
    # One cached page per language asked for; "default" is the page's own language, which
    # the render reads from the settings (no query for a page served from the cache).
    return serve(f"{PAGE}:{chosen_language() or 'default'}")


@bp.get("/api")
def api():
    return serve(API)
