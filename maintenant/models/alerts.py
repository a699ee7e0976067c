"""The alert engine's records: alerts, the channels that carry them, and each delivery."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

# What became of an alert.
PENDING = "pending"        # deliveries queued to the channels
HELD = "held"              # a flapping monitor's transitions, coalesced until release_at
SUPPRESSED = "suppressed"  # every linked component was in maintenance: not delivered
SENT = "sent"              # every delivery done
FAILED = "failed"          # a delivery gave up after its retries
NO_CHANNELS = "no_channels"  # nothing to deliver to
ALERT_STATUSES = (PENDING, HELD, SUPPRESSED, SENT, FAILED, NO_CHANNELS)

CHANNEL_TYPES = ("webhook", "email")


class Alert(db.Model):
    """One monitor state change (or a flapping monitor's coalesced changes)."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.Index("ix_alerts_monitor", "monitor_type", "monitor_id", "created_at"),
        sa.Index("ix_alerts_status_release", "status", "release_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_type: Mapped[str] = mapped_column(sa.String(20))
    monitor_id: Mapped[int]
    # Kept with the alert: the monitor may be renamed or deleted later.
    monitor_name: Mapped[str] = mapped_column(sa.String(200))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    # The last transition folded into this alert (== created_at for a single one).
    last_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # Transitions this alert stands for (more than one when a flapping monitor was coalesced).
    count: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(20), default=PENDING)
    # A held alert is delivered at this time, with every transition folded in until then.
    release_at = mapped_column(UTCDateTime)

    deliveries: Mapped[list["AlertDelivery"]] = relationship(
        back_populates="alert", order_by="AlertDelivery.id", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class AlertChannel(db.Model):
    """Where alerts go: a webhook URL or email addresses."""

    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    type: Mapped[str] = mapped_column(sa.String(20))
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    secret: Mapped[str | None] = mapped_column(sa.String(500))
    addresses = mapped_column(sa.JSON, nullable=False, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class AlertDelivery(db.Model):
    """One alert to one channel: the exact body to send, its attempts and outcome."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (sa.Index("ix_alert_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a channel's test message.
    alert_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alert_channels.id", ondelete="CASCADE"), index=True
    )
    # Frozen when the delivery is created, so every retry sends the same bytes.
    payload = mapped_column(sa.JSON, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), default=PENDING)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = mapped_column(UTCDateTime)

    alert: Mapped[Alert | None] = relationship(back_populates="deliveries")
    channel: Mapped[AlertChannel] = relationship()
