"""gunicorn settings for the web process (Procfile ``web``): gevent workers on $PORT.

The status page's live updates hold a connection open per reader (SSE), so the workers are
asynchronous. Everything comes from the environment; ``GUNICORN_CMD_ARGS`` can still override
any of it. The Procfile loads this file by path: importing it as ``maintenant.gunicorn_conf``
would import the whole package into the master before gevent patches the workers.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Open streams per worker process; each reader costs a file descriptor, so `ulimit -n` must allow
# this many (plus a few) per worker.
worker_connections = 5000
# Streams never finish by themselves: on a restart give requests in flight a moment, not 30 s.
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
# The control socket (one path per user) is not used, and two servers would fight over it.
control_socket_disable = True


# The same words as maintenant.launcher.REDIS_URL_MISSING, which this file must not import.
REDIS_URL_MISSING = (
    "REDIS_URL is not set, and the web process needs Redis. Set REDIS_URL to your Redis "
    "server (for example redis://127.0.0.1:6379/0), or run `maintenant up`, which starts one "
    "for you."
)


def on_starting(server):
    """Refuse to start without Redis: events, SSE and jobs all go through it."""
    if not os.environ.get("REDIS_URL"):
        raise RuntimeError(REDIS_URL_MISSING)
