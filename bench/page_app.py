"""The web app with one more route, for bench/page.py: constant bytes as large as the page.

    gunicorn --config maintenant/gunicorn_conf.py bench.page_app:app

GET /bench/constant/<size> answers ``size`` fixed bytes as text/html, built once per process
and size: what the server, Flask and the network cost for a response as large as the page,
with nothing of the page's own work. Never deployed: the Procfile serves ``app:app``.
"""

import functools

from maintenant import create_app

app = create_app()


@functools.cache
def constant_body(size):
    return b"x" * size


@app.get("/bench/constant/<int:size>")
def constant(size):
    return app.response_class(constant_body(size), content_type="text/html; charset=utf-8")
