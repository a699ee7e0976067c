"""GET /status/ (the page) and /status/api (the same state as JSON), from the page cache."""

from . import bp
from .cache import API, PAGE, rendered
from .render import revalidated


@bp.get("/")
def page():
    return revalidated(rendered(PAGE).response())


@bp.get("/api")
def api():
    return revalidated(rendered(API).response())
