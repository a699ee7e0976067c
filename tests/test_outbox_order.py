"""Event ids follow the order in which changes commit, and only committed changes have events.

Readers resume from the last id they saw, and a snapshot says which id it includes: an event
whose id is lower than one already published would be skipped. Two writers at once must not
produce that, on PostgreSQL (concurrent writers) as on SQLite (one writer at a time).
"""

import threading

import pytest

from maintenant.extensions import db
from maintenant.models import OutboxEvent
from maintenant.services.outbox import commit, record_event

WAIT = 10


def event_ids(kind):
    db.session.expire_all()
    return db.session.scalars(
        db.select(OutboxEvent.id).where(OutboxEvent.type == kind).order_by(OutboxEvent.id)
    ).all()


def on_postgresql(app):
    return db.engine.dialect.name == "postgresql"


def test_the_transaction_that_commits_last_has_the_higher_id(app):
    if not on_postgresql(app):
        pytest.skip("SQLite has one writer at a time: commits cannot interleave")
    # The first transaction records its event, then waits; a second one records and commits.
    record_event("first_recorded", {"n": 1})
    db.session.flush()
    done = threading.Event()
    errors = []

    def second_writer():
        try:
            with app.app_context():
                record_event("second_recorded", {"n": 2})
                commit()
                db.session.remove()
        except Exception as error:  # noqa: BLE001 — reported by the assertion below
            errors.append(error)
        finally:
            done.set()

    threading.Thread(target=second_writer, daemon=True).start()
    assert done.wait(WAIT) and not errors, errors
    commit()

    first, second = event_ids("first_recorded"), event_ids("second_recorded")
    assert first and second
    assert first[0] > second[0]  # it committed last


def test_a_writer_waiting_to_commit_does_not_block_others_changes(app):
    """The ordering lock is taken last: a transaction holding it waits on no row."""
    from factories import make_component

    component = make_component()
    commit()
    record_event("holding", {})
    db.session.flush()
    done = threading.Event()

    def other_writer():
        with app.app_context():
            other = db.session.get(type(component), component.id)
            other.description = "changed meanwhile"
            db.session.commit()
            db.session.remove()
            done.set()

    threading.Thread(target=other_writer, daemon=True).start()
    assert done.wait(WAIT)  # not held up by the open transaction's recorded event
    commit()
    assert event_ids("holding")


def test_a_rolled_back_change_publishes_no_event(app):
    record_event("rolled_back", {})
    db.session.rollback()
    record_event("kept", {})
    commit()

    assert event_ids("rolled_back") == []
    assert len(event_ids("kept")) == 1


def test_a_session_closed_without_commit_publishes_no_event(app):
    record_event("abandoned", {})
    db.session.remove()
    record_event("kept", {})
    commit()

    assert event_ids("abandoned") == []
    assert len(event_ids("kept")) == 1
