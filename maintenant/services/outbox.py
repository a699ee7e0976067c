"""The outbox: record events with the change, publish them after the commit."""

import logging

import redis

from .. import events
from ..extensions import db, redis_client
from ..models import OutboxEvent, utcnow

log = logging.getLogger(__name__)

DRAIN_BATCH = 500
# Session flag: this transaction recorded events, so its commit should drain the outbox.
PENDING = "maintenant.outbox_pending"
# Session list: callables to run once this transaction has committed (see after_commit).
AFTER_COMMIT = "maintenant.after_commit"


def record_event(kind, data):
    """Add an event to the current transaction; it is published once the change commits."""
    event = OutboxEvent(type=kind, payload=data)
    db.session.add(event)
    db.session.info[PENDING] = True
    return event


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
