"""Subscribers as operators see them: list and remove (sign-up is the public's)."""

import redis
from flask import current_app
from sqlalchemy.orm import selectinload

from ..errors import DomainError
from ..extensions import QUEUE_NOTIFICATIONS, db, get_queue
from ..models import Subscriber
from .lookups import get_or_404, paginate


class Unavailable(DomainError):
    status_code = 503
    code = "unavailable"


def list_subscribers(confirmed=None, limit=50, offset=0):
    query = (db.select(Subscriber).options(selectinload(Subscriber.components))
             .order_by(Subscriber.created_at.desc(), Subscriber.id.desc()))
    if confirmed is not None:
        query = query.where(Subscriber.confirmed.is_(confirmed))
    return paginate(query, limit, offset)


def get_subscriber(subscriber_id):
    return get_or_404(Subscriber, subscriber_id, "subscriber")


def delete_subscriber(subscriber):
    db.session.delete(subscriber)
    db.session.commit()


def send_test_message(email):
    """Queue the operator's test message for the worker (which reports SMTP errors in its log
    and the failed job)."""
    if not current_app.config.get("SMTP_HOST"):
        raise Unavailable("No mail server is configured: set SMTP_HOST (see the README).")
    try:
        get_queue(QUEUE_NOTIFICATIONS).enqueue("maintenant.jobs.send_subscriber_test", email,
                                               job_timeout=60, result_ttl=600,
                                               failure_ttl=24 * 3600)
    except redis.RedisError as error:
        raise Unavailable(f"The job queue is unavailable ({error}); try again shortly.") from None
