"""Two changes at once still tell one consistent story (PostgreSQL: one writer at a time).

Each change works out the component's status log entry and the overall status from what it
reads. Were two transactions to run side by side, each would miss the other's change.
"""

import threading

import pytest

from maintenant import write_lock
from maintenant.extensions import db
from maintenant.models import Component, OutboxEvent, StatusLogEntry
from maintenant.services.outbox import commit
from maintenant.services.statuses import sync_statuses

from factories import make_component

WAIT = 10


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time already")


def change_in_thread(app, component_id, override, started=None):
    """Set an override and sync in a transaction of another connection; returns its thread."""
    errors = []

    def run():
        try:
            with app.app_context():
                component = db.session.get(Component, component_id)
                if started is not None:
                    started.set()  # read before the other transaction commits
                component.status_override = override
                sync_statuses("override")
                commit()
                db.session.remove()
        except Exception as error:  # noqa: BLE001 — reported by the test
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors
    thread.start()
    return thread


def last_overall():
    db.session.expire_all()
    return db.session.scalars(
        db.select(OutboxEvent.payload).where(OutboxEvent.type == "global_changed")
        .order_by(OutboxEvent.id.desc()).limit(1)).first()["status"]


def log_of(component_id):
    db.session.expire_all()
    return [(entry.from_status, entry.to_status) for entry in db.session.scalars(
        db.select(StatusLogEntry).where(StatusLogEntry.component_id == component_id)
        .order_by(StatusLogEntry.id))]


def test_the_overall_status_announced_last_includes_both_changes(app, postgresql):
    first, second = make_component("API"), make_component("Web")
    commit()
    first.status_override = "major_outage"
    sync_statuses("override")  # this transaction now holds the write lock, uncommitted

    other = change_in_thread(app, second.id, "partial_outage")
    other.join(0.5)
    assert other.is_alive()  # waits for this change to commit
    commit()
    other.join(WAIT)

    assert not other.errors, other.errors
    assert last_overall() == "major_outage"  # the worst of both, not the second alone


def test_a_change_read_before_another_committed_logs_from_the_latest_status(app, postgresql):
    component = make_component("API")
    commit()
    read = threading.Event()
    component.status_override = "major_outage"
    db.session.flush()  # the first write takes the lock
    assert db.session.info.get(write_lock.HELD)

    other = change_in_thread(app, component.id, "degraded", started=read)
    assert read.wait(WAIT)  # it read the component as operational
    sync_statuses("override")
    commit()
    other.join(WAIT)

    assert not other.errors, other.errors
    assert log_of(component.id) == [(None, "operational"),
                                    ("operational", "major_outage"),
                                    ("major_outage", "degraded")]


def test_reads_are_never_held_up_by_a_writer(app, postgresql):
    component = make_component("API")
    commit()
    component.status_override = "major_outage"
    sync_statuses("override")  # holds the write lock
    seen = []

    def reader():
        with app.app_context():
            seen.append(db.session.get(Component, component.id).status_override)
            db.session.remove()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(WAIT)

    assert seen == [None]  # answered at once, from the last committed state
    commit()
