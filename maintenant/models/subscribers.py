"""Email subscribers, their pending confirmations, and the ledger of what was mailed to whom."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

subscriber_components = sa.Table(
    "subscriber_components",
    db.metadata,
    sa.Column("subscriber_id", sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("component_id", sa.ForeignKey("components.id", ondelete="CASCADE"), primary_key=True),
)


class Subscriber(db.Model):
    """An email address that receives the page's notifications once confirmed.

    With no components chosen it hears about everything; with some, only about incidents and
    windows that touch one of them.
    """

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    confirmed: Mapped[bool] = mapped_column(default=False)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    confirmed_at = mapped_column(UTCDateTime)
    # The capability in every email's manage and unsubscribe links: random, never expires.
    manage_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # A permanent SMTP rejection (5xx): no more mail to this address.
    undeliverable_at = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    components: Mapped[list["Component"]] = relationship(  # noqa: F821
        secondary=subscriber_components, order_by="(Component.sort_order, Component.id)"
    )


class SubscriptionConfirmation(db.Model):
    """A sign-up waiting for its confirmation: single use, expires after a day."""

    __tablename__ = "subscription_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the token mailed out: the database never holds a usable link.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The components chosen with this sign-up (ids; empty: everything), applied on confirmation.
    components = mapped_column(sa.JSON, nullable=False, default=list)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = mapped_column(UTCDateTime, nullable=False, index=True)
    used_at = mapped_column(UTCDateTime)

    subscriber: Mapped[Subscriber] = relationship()


class NotificationDelivery(db.Model):
    """The ledger: one row per (event, subscriber), written as the SMTP server accepts the
    message, so a fan-out job run twice skips who already has it."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (sa.UniqueConstraint("event_id", "subscriber_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    subscriber_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(20))  # sent | rejected
    error: Mapped[str | None] = mapped_column(sa.Text)
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
