"""One writer at a time on PostgreSQL, as SQLite already has it.

Every change works out what it implies from the state it reads: a component's effective
status and its log entry (from what was logged before), the overall status and whether a
``global_changed`` event is due (from the last one announced), the ids of the events.
Under PostgreSQL's READ COMMITTED, two transactions at once would each read the state
without the other's change: an operator's PUT and a probe result landing together could log
``A -> B`` and ``A -> C`` instead of ``A -> B -> C``, or announce an overall status that
misses the other's component.

So a transaction that writes takes one transaction-level advisory lock before its first
write (a flush, or an UPDATE, DELETE or INSERT statement), and holds it until it commits or
rolls back. Reads never take it: the page, the API's GETs and the SSE catch-up stay
concurrent. As every writer takes this lock before any row lock, two writers never wait on
each other's rows in opposite order: no deadlock. What reads the state to decide a write
(``services.statuses.sync_statuses``) takes the lock first, then reads afresh.

Transactions that write are short everywhere (the code runs on SQLite too, whose one
write lock has the same effect), so waiting for the lock costs milliseconds.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Session

# The key of the advisory lock ("maintwri").
KEY = 0x6D61696E74777269
HELD = "maintenant.write_lock_held"


def acquire(session):
    """Take the write lock for the rest of ``session``'s transaction (PostgreSQL only).

    Returns:
        True when the lock was taken now (the caller should read afresh what it read before).
    """
    if session.info.get(HELD):
        return False
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return False
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": KEY})
    session.info[HELD] = True
    return True


@sa.event.listens_for(Session, "before_flush")
def _before_writing(session, flush_context, instances):
    if session.new or session.dirty or session.deleted:
        acquire(session)


@sa.event.listens_for(Session, "do_orm_execute")
def _before_a_write_statement(state):
    if state.is_insert or state.is_update or state.is_delete:
        acquire(state.session)


@sa.event.listens_for(Session, "after_transaction_end")
def _released(session, transaction):
    """The lock ends with the database transaction (commit or rollback)."""
    if transaction.parent is None:
        session.info.pop(HELD, None)
