"""/ping/<token>[/fail|/start]: heartbeat pings from cron jobs (no auth, plain text answers).

Anything a shell script can send works: GET, POST (the body is ignored) or HEAD. Every
answer is short plain text that is never cached, errors included: a cron job's log should
show "not found", not an HTML page.
"""

import re

from flask import Blueprint, Response, request

from ..errors import NotFound
from ..services import heartbeats

bp = Blueprint("ping", __name__, url_prefix="/ping")

PING_METHODS = ("GET", "POST", "HEAD")
OTHER_METHODS = ("PUT", "PATCH", "DELETE")
# The tokens we hand out are url-safe base64; anything else cannot be one.
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The paths the routes below serve, to tell a wrong method (405) from a wrong path (404).
PING_PATH = re.compile(r"[^/]+(/fail|/start)?")


def plain(text, status=200, headers=None):
    response = Response(text, status, content_type="text/plain; charset=utf-8",
                        headers=headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def not_found():
    return plain("not found\n", 404)


def receive(token, kind):
    if not TOKEN.fullmatch(token):
        return not_found()
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        return plain("request body too large\n", 413)
    try:
        heartbeats.ping(token, kind)
    except NotFound:
        return not_found()
    return plain("OK\n")


@bp.route("/<token>", methods=PING_METHODS)
def success(token):
    return receive(token, heartbeats.SUCCESS)


@bp.route("/<token>/fail", methods=PING_METHODS)
def fail(token):
    return receive(token, heartbeats.FAIL)


@bp.route("/<token>/start", methods=PING_METHODS)
def start(token):
    return receive(token, heartbeats.START)


@bp.route("/", defaults={"rest": ""}, methods=PING_METHODS + OTHER_METHODS)
@bp.route("/<path:rest>", methods=PING_METHODS + OTHER_METHODS)
def elsewhere(rest):
    """Whatever the routes above do not serve, answered in plain text too."""
    if request.method in OTHER_METHODS and PING_PATH.fullmatch(rest):
        return plain("method not allowed\n", 405, {"Allow": ", ".join(PING_METHODS)})
    return not_found()
