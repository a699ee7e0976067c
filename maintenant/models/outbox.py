"""The outbox: events recorded in the same transaction as the change that caused them."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class OutboxEvent(db.Model):
    """An event waiting to be published (and, later, the notifications it implies).

    Its id is the event id clients see: it comes from the database, so it never goes
    backwards when Redis restarts.
    """

    __tablename__ = "outbox"
    # Ids must never be reused (SQLite would after deleting the newest rows): clients resume by id.
    __table_args__ = (
        # The notification sweep's question: which events still owe their emails?
        sa.Index("ix_outbox_notify_pending", "notify", "notified_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(50))
    payload = mapped_column(sa.JSON, nullable=False)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    published_at = mapped_column(UTCDateTime, index=True)
    # Whether subscribers are mailed about this event, and when its fan-out finished.
    notify: Mapped[bool] = mapped_column(default=False)
    notified_at = mapped_column(UTCDateTime)
