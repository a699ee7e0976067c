"""Fixtures for subscriber notifications: a real SMTP server, confirmed subscribers, a worker."""

import pytest
from rq import SimpleWorker

from maintenant.extensions import QUEUE_NOTIFICATIONS, db
from maintenant.services import subscriptions

from mail import smtp_server  # noqa: F401


@pytest.fixture
def mail_app(app, smtp_server):
    app.config.update(smtp_server.settings())
    return app


def subscribe(email, components=()):
    """A confirmed subscriber, as the sign-up and its confirmation make one."""
    subscriber, token = subscriptions.sign_up(email, [c.id for c in components])
    return subscriptions.confirm(subscriptions.find_confirmation(token))


def subscribe_many(count, prefix="reader"):
    """``count`` confirmed subscribers to everything, inserted in bulk."""
    from maintenant.models import Subscriber, utcnow
    import secrets

    now = utcnow()
    db.session.execute(db.insert(Subscriber), [
        {"email": f"{prefix}{n}@example.com", "confirmed": True, "created_at": now,
         "confirmed_at": now, "manage_token": secrets.token_urlsafe(32)}
        for n in range(count)])
    db.session.commit()


class InProcessWorker(SimpleWorker):
    """Runs the queued jobs in the test's process and app context."""

    def execute_job(self, job, queue):
        from flask import current_app

        with current_app._get_current_object().app_context():
            return super().execute_job(job, queue)


@pytest.fixture
def work(app, redis_conn):
    """Run every job waiting in the notifications queue (and those they queue), then return."""
    def run():
        InProcessWorker([QUEUE_NOTIFICATIONS], connection=redis_conn).work(burst=True)
        db.session.expire_all()
    return run
