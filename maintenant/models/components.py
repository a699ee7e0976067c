"""Component groups, components and the log of their effective status."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class ComponentGroup(db.Model):
    """A heading on the page that gathers components."""

    __tablename__ = "component_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    collapsed: Mapped[bool] = mapped_column(default=False)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    components: Mapped[list["Component"]] = relationship(
        back_populates="group",
        order_by="(Component.sort_order, Component.id)",
        passive_deletes=True,
    )


class Component(db.Model):
    """A part of the service whose status the page shows."""

    __tablename__ = "components"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("component_groups.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    visible: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    monitor_type: Mapped[str | None] = mapped_column(sa.String(20))
    monitor_id: Mapped[int | None]
    status_override: Mapped[str | None] = mapped_column(sa.String(20))
    # Open an incident on its own when its monitor puts it in partial or major outage.
    auto_incident: Mapped[bool] = mapped_column(default=False)
    # The effective status as last written to the status log (None before the first entry):
    # the log's change detector. Responses compute the status afresh and never read this.
    logged_status: Mapped[str | None] = mapped_column(sa.String(20))

    group: Mapped[ComponentGroup | None] = relationship(back_populates="components")


class StatusLogEntry(db.Model):
    """One change of a component's effective status."""

    __tablename__ = "status_log"
    __table_args__ = (sa.Index("ix_status_log_component_at", "component_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(
        sa.ForeignKey("components.id", ondelete="CASCADE")
    )
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    cause: Mapped[str] = mapped_column(sa.String(20))
