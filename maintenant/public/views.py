"""GET /status/ (the page) and /status/api (the same state as JSON)."""

from flask import render_template

from ..services.page import page_state
from . import bp


@bp.get("/")
def page():
    return render_template("status/page.html", state=page_state())


@bp.get("/api")
def api():
    return page_state()
