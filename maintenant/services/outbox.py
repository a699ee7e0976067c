"""The outbox: record events with the change, publish them after the commit.

Event ids are what readers resume from (Last-Event-ID) and what a snapshot says it includes,
so they must follow the order in which the changes COMMIT, not the order in which they
began: with two transactions at once, an id taken by the one that commits last would be
published after a higher one, and a reader that had already passed the higher id would
skip it. So an event's row is inserted only as its transaction commits, and a transaction
that writes holds the write lock until it commits (maintenant.write_lock; SQLite's own
lock does the same): the ids of one commit are all greater than those of the commits
before it.
"""

import logging

import redis
import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import events
from ..extensions import db, redis_client
from ..models import OutboxEvent, utcnow

log = logging.getLogger(__name__)

DRAIN_BATCH = 500
# Session flag: this transaction recorded events, so its commit should drain the outbox.
PENDING = "maintenant.outbox_pending"
# Session list: the events of the current transaction, inserted as it commits.
EVENTS = "maintenant.outbox_events"
# Session list: callables to run once this transaction has committed (see after_commit).
AFTER_COMMIT = "maintenant.after_commit"


def record_event(kind, data):
    """Add an event to the current transaction; it is published once the change commits.

    The event's row (and its id) is written as the transaction commits (see the module's
    docstring); a rolled-back transaction takes its events with it.
    """
    event = OutboxEvent(type=kind, payload=data)
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback or close before any query still drops the events
    session.info.setdefault(EVENTS, []).append(event)
    session.info[PENDING] = True
    return event


@sa.event.listens_for(Session, "before_commit")
def _insert_events(session):
    """Write the transaction's events last, in commit order (see the module's docstring)."""
    pending = session.info.pop(EVENTS, None)
    if not pending:
        return
    session.add_all(pending)
    session.flush()  # under the write lock (taken by this flush, or by an earlier one)


@sa.event.listens_for(Session, "after_transaction_end")
def _drop_events(session, transaction):
    """A transaction that ended without committing drops the events it recorded."""
    if transaction.parent is None:
        session.info.pop(EVENTS, None)


def after_commit(callback):
    """Run ``callback()`` once the current transaction commits through ``commit()``.

    For work that must see the committed rows, such as queueing a job that reloads them. A
    rolled-back transaction leaves its callbacks for the next commit, so a callback checks
    that what it refers to exists; one that fails is logged, and the periodic sweeps make up
    for it (they are the guarantee, this is the fast path).
    """
    db.session.info.setdefault(AFTER_COMMIT, []).append(callback)


def commit():
    """Commit the session, then publish what it recorded (a Redis outage only delays it)."""
    pending = db.session.info.pop(PENDING, False)
    callbacks = db.session.info.pop(AFTER_COMMIT, [])
    db.session.commit()
    if pending:  # most commits (a probe confirming "still up") record nothing to publish
        drain_outbox()
    for callback in callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001 — the commit stands; the sweeps catch up
            log.exception("after-commit callback %r failed", callback)


def drain_outbox():
    """Publish unpublished events in id order; returns how many were published.

    Safe to call from any process at any time: a Redis failure leaves the events for the next
    drain (the periodic sweep), and a second drainer at most publishes an event twice, which
    readers skip by id.
    """
    published = 0
    if not redis_client.configured:
        return published
    while True:
        batch = db.session.scalars(
            db.select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(DRAIN_BATCH)
        ).all()
        if not batch:
            return published
        try:
            events.publish([(event.id, event.type, event.payload) for event in batch])
        except redis.RedisError as error:
            db.session.rollback()
            log.warning("events kept in the outbox, Redis unavailable: %s", error)
            return published
        now = utcnow()
        db.session.execute(
            db.update(OutboxEvent)
            .where(OutboxEvent.id.in_([event.id for event in batch]))
            .values(published_at=now)
        )
        db.session.commit()
        published += len(batch)
        if len(batch) < DRAIN_BATCH:
            return published
