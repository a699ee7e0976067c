"""Subscribers as operators see them: list and remove (sign-up is the public's)."""

from ..extensions import db
from ..models import Subscriber
from .lookups import get_or_404, paginate


def list_subscribers(confirmed=None, limit=50, offset=0):
    query = db.select(Subscriber).order_by(Subscriber.created_at.desc(), Subscriber.id.desc())
    if confirmed is not None:
        query = query.where(Subscriber.confirmed.is_(confirmed))
    return paginate(query, limit, offset)


def get_subscriber(subscriber_id):
    return get_or_404(Subscriber, subscriber_id, "subscriber")


def delete_subscriber(subscriber):
    db.session.delete(subscriber)
    db.session.commit()
