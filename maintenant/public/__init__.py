"""The public blueprint: the status page and its JSON under /status (no auth)."""

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/status")

from . import render, views  # noqa: E402,F401  (render registers the page's template filters)
