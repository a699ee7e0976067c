"""The public blueprint: the status page, its JSON and its live updates under /status (no auth)."""

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/status")

# render registers the page's template filters.
from . import calendar, render, stream, subscribe, views  # noqa: E402,F401
from . import badges, feeds  # noqa: E402,F401
from . import history  # noqa: E402,F401
