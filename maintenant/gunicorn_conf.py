"""gunicorn settings for the web process (Procfile ``web``): gevent workers on $PORT.

The status page's live updates hold a connection open per reader (SSE), so the workers are
asynchronous. Everything comes from the environment; ``GUNICORN_CMD_ARGS`` can still override
any of it. The Procfile loads this file by path: importing it as ``maintenant.gunicorn_conf``
would import the whole package into the master before gevent patches the workers.
"""

import importlib.util
import os

from gunicorn.glogging import Logger

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Connections per worker process, open streams included: a worker that holds this many resets
# the next one, page and API requests too, so leave room above the readers expected. Each costs
# a file descriptor: `ulimit -n` must allow this many (plus a few) per worker.
worker_connections = 10000
# Open streams are ended as a worker stops (post_worker_init); other requests get this long.
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("MAINTENANT_LOG_LEVEL", "info").lower()
# The control socket (one path per user) is not used, and two servers would fight over it.
control_socket_disable = True


# The same words as maintenant.launcher.REDIS_URL_MISSING, which this file must not import.
REDIS_URL_MISSING = (
    "REDIS_URL is not set, and the web process needs Redis. Set REDIS_URL to your Redis "
    "server (for example redis://127.0.0.1:6379/0), or run `maintenant up`, which starts one "
    "for you."
)


def _load_logs():
    """maintenant/logs.py by path: it imports nothing of the package (see the docstring)."""
    spec = importlib.util.spec_from_file_location(
        "maintenant_logs", os.path.join(os.path.dirname(os.path.abspath(__file__)), "logs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_logs = _load_logs()


class RedactingLogger(Logger):
    """gunicorn's logger, with the secrets in ping and subscription URLs kept out of the
    access log (anyone who reads the logs could otherwise ping a heartbeat or manage a
    subscriber's address)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            atoms[key] = _logs.redact(atoms[key])
        return atoms


logger_class = RedactingLogger


def on_starting(server):
    """Refuse to start without Redis: events, SSE and jobs all go through it."""
    if not os.environ.get("REDIS_URL"):
        raise RuntimeError(REDIS_URL_MISSING)


def post_worker_init(worker):
    """Subscribe to the events as the worker starts (in the worker, after gevent's patching),
    so the first reader and the first page request find the broker live."""
    import threading

    from maintenant.events import get_broker

    app = worker.wsgi
    if not hasattr(app, "extensions"):  # not the Flask app itself
        return
    from maintenant.logs import configure

    configure("web")
    broker = get_broker(app)
    if broker is not None:
        threading.Thread(target=_end_streams_on_shutdown, args=(worker, broker),
                         name="maintenant-shutdown", daemon=True).start()


def post_request(worker, req, environ, resp):
    """Let the worker's other connections run before this keep-alive connection's next request.

    A client that pipelines its next request (a proxy reusing a connection, a load tester)
    would otherwise be served again and again by its greenlet without a yield, while every
    other connection waits: fair turns keep the slowest answers close to the typical ones.
    """
    import gevent

    gevent.sleep(0)


def _end_streams_on_shutdown(worker, broker):
    """Streams never end by themselves: once the worker is told to stop, end them, so it stops
    at once (not after graceful_timeout) and their readers reconnect to another process."""
    import time

    while worker.alive:
        time.sleep(0.5)
    broker.stop()
