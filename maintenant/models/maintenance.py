"""Scheduled maintenance windows."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

maintenance_components = sa.Table(
    "maintenance_components",
    db.metadata,
    sa.Column(
        "maintenance_id", sa.ForeignKey("maintenance_windows.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("component_id", sa.ForeignKey("components.id", ondelete="CASCADE"), primary_key=True),
)

SCHEDULED = "scheduled"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
CANCELLED = "cancelled"
MAINTENANCE_STATUSES = (SCHEDULED, IN_PROGRESS, COMPLETED, CANCELLED)
# How a recurring window repeats: every ``recurrence_interval`` days, weeks or months.
RECURRENCE_FREQUENCIES = ("daily", "weekly", "monthly")


class MaintenanceWindow(db.Model):
    """A planned period of downtime for some components."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (sa.Index("ix_maintenance_windows_span", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at = mapped_column(UTCDateTime, nullable=False)
    ends_at = mapped_column(UTCDateTime, nullable=False)
    cancelled: Mapped[bool] = mapped_column(default=False)
    # The status the lifecycle last announced (events, alerts released): the clock derives the
    # status, this records which of its moves have been acted on. None: nothing announced yet.
    announced_status: Mapped[str | None] = mapped_column(sa.String(20))
    # A recurring window: the next occurrence is scheduled as a window of its own once this one
    # starts (or is cancelled); None for a one-off window.
    recurrence_frequency: Mapped[str | None] = mapped_column(sa.String(10))
    recurrence_interval: Mapped[int] = mapped_column(default=1)
    recurrence_until = mapped_column(UTCDateTime)
    # The first window of the series this one belongs to (None for a one-off or the first).
    series_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("maintenance_windows.id", ondelete="SET NULL"), index=True
    )
    # Whether the next occurrence of the series has been scheduled from this window.
    successor_scheduled: Mapped[bool] = mapped_column(default=False)
    # When subscribers were reminded that it is about to start (None: not yet).
    reminded_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    components: Mapped[list["Component"]] = relationship(  # noqa: F821
        secondary=maintenance_components, order_by="(Component.sort_order, Component.id)"
    )

    def status_at(self, now):
        """The window's status at ``now``: derived from the clock, never stored."""
        if self.cancelled:
            return CANCELLED
        if now < self.starts_at:
            return SCHEDULED
        if now < self.ends_at:
            return IN_PROGRESS
        return COMPLETED

    @property
    def status(self):
        return self.status_at(utcnow())
