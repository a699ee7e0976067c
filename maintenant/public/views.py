"""GET /status/ (the page) and /status/api (the same state as JSON)."""

from flask import jsonify

from ..services.page import page_state
from . import bp
from .render import render_page, revalidated


@bp.get("/")
def page():
    return revalidated(render_page(page_state()))


@bp.get("/api")
def api():
    return revalidated(jsonify(page_state()))
