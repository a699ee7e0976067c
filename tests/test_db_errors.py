"""Which database errors mean "unreachable" (503, the last render) and which stay bugs."""

import sqlite3

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import exc

from maintenant.db_errors import describe, is_database_unavailable


def wrapped(error, wrapper=exc.OperationalError, invalidated=False):
    """``error`` as SQLAlchemy raises it from a statement."""
    return wrapper("SELECT 1", {}, error, connection_invalidated=invalidated)


@pytest.mark.parametrize("error", [
    wrapped(psycopg.OperationalError("connection failed: Connection refused")),
    wrapped(errors.AdminShutdown("terminating connection due to administrator command")),
    wrapped(errors.CannotConnectNow("the database system is starting up")),
    wrapped(errors.ConnectionFailure("connection failure")),
    wrapped(psycopg.InterfaceError("the connection is closed"), exc.InterfaceError,
            invalidated=True),
    psycopg.OperationalError("consuming input failed: server closed the connection"),
], ids=["refused", "shutdown", "starting-up", "class-08", "invalidated", "unwrapped"])
def test_an_unreachable_database_is_unavailable(error):
    assert is_database_unavailable(error)


@pytest.mark.parametrize("error", [
    wrapped(errors.UniqueViolation("duplicate key"), exc.IntegrityError),
    wrapped(errors.DeadlockDetected("deadlock detected")),
    wrapped(errors.QueryCanceled("canceling statement due to statement timeout")),
    wrapped(psycopg.InterfaceError("cursor already closed"), exc.InterfaceError),
    wrapped(sqlite3.OperationalError("no such table: components")),
    ValueError("not a database error"),
], ids=["integrity", "deadlock", "timeout", "misuse", "sqlite-schema", "other"])
def test_a_query_or_data_error_is_not_unavailable(error):
    assert not is_database_unavailable(error)


def test_the_reason_is_one_line_without_the_statement():
    error = wrapped(psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5 failed: refused\n'
        "\tIs the server running on that host?"))

    assert describe(error) == ('OperationalError: connection failed: connection to server at '
                               '"127.0.0.1", port 5 failed: refused')
