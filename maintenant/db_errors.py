"""Telling "the database cannot be reached" apart from every other database error.

While PostgreSQL is down, restarting or failing over, a request cannot be served from the
database, but nothing is wrong with the request or the code: the API answers 503 with
Retry-After, the public page serves its last render, and everything recovers by itself once
the server is back (the pool checks a connection before handing it out). Every other database
error (a constraint broken, a bad query) stays what it is: a bug or a conflict.
"""

from sqlalchemy import exc

from .extensions import db

try:
    import psycopg
except ImportError:  # an installation on SQLite only
    psycopg = None

# How long a client is told to wait before trying again while the database is unreachable.
RETRY_AFTER_SECONDS = 5

# SQLSTATEs of a server that is going away or not taking connections yet: an administrator's
# or a crash's shutdown, "the database system is starting up", too many connections. Class 08
# (connection exception) counts too.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def is_database_unavailable(error):
    """Whether ``error`` says the database cannot be reached now (refused, lost, restarting).

    SQLAlchemy marks a connection it found dead (``connection_invalidated``); a failed connect
    is a driver OperationalError with no SQLSTATE (the server never answered) or a connection
    one. Query errors (deadlocks, timeouts, constraints) are not "unavailable".
    """
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig
    if psycopg is None or not isinstance(error, psycopg.OperationalError):
        return False
    sqlstate = error.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES


def describe(error):
    """The driver's reason in one line, for a log line or a health check (no SQL, no links)."""
    reason = getattr(error, "orig", None) or error
    lines = str(reason).strip().splitlines()
    return f"{type(reason).__name__}: {lines[0] if lines else ''}"


def roll_back_session():
    """Roll back the session an unreachable database failed, so that its next use (the same app
    context serving again) reconnects instead of raising PendingRollbackError."""
    try:
        db.session.rollback()
    except exc.SQLAlchemyError:  # the connection is gone already: nothing left to roll back
        pass
