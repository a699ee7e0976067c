"""One log format for every process, and secrets kept out of the access log.

Each process (web, worker, scheduler) writes to stderr, one line per record::

    2026-11-27 12:30:01,234 WARNING worker maintenant.services.outbox: events kept in ...

``MAINTENANT_LOG_LEVEL`` (DEBUG, INFO, WARNING, ERROR; default INFO) sets how much. The
platform collects stderr; nothing is written to files.
"""

import logging
import os
import re

LEVEL_ENV = "MAINTENANT_LOG_LEVEL"
DEFAULT_LEVEL = "INFO"
FORMAT = "%(asctime)s %(levelname)s {process} %(name)s: %(message)s"

# URL paths whose last part is a secret: heartbeat ping tokens, subscription tokens.
SECRET_PATHS = re.compile(
    r"(?P<prefix>/ping/|/status/subscribe/confirm/|/status/subscription/)"
    r"(?P<secret>[^/?#\s]+)")
REDACTED = "[redacted]"


def level():
    """The level from MAINTENANT_LOG_LEVEL; INFO when unset or not a level's name."""
    name = os.environ.get(LEVEL_ENV, DEFAULT_LEVEL).strip().upper()
    value = logging.getLevelName(name)
    return value if isinstance(value, int) else logging.INFO


def configure(process):
    """Send the process's records to stderr in the common format (once per process).

    Args:
        process: the process's name in each line (web, worker, scheduler).
    """
    root = logging.getLogger()
    if getattr(root, "_maintenant_configured", False):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT.format(process=process)))
    root.addHandler(handler)
    root.setLevel(level())
    root._maintenant_configured = True


def redact(text):
    """``text`` (a URL or a request line) with the secret part of secret paths replaced."""
    if not text:
        return text
    return SECRET_PATHS.sub(lambda match: match["prefix"] + REDACTED, text)
