"""Incidents and their timeline of updates."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

incident_components = sa.Table(
    "incident_components",
    db.metadata,
    sa.Column("incident_id", sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("component_id", sa.ForeignKey("components.id", ondelete="CASCADE"), primary_key=True),
)


class Incident(db.Model):
    """Something wrong that the operators tell the public about."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    severity: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    resolved_at = mapped_column(UTCDateTime)
    # Opened by the alert engine for a component with auto_incident (not by an operator).
    auto: Mapped[bool] = mapped_column(default=False)
    # A draft is not public: not on the page, feeds or API v2, moves no status, sends no mail,
    # until an operator publishes it.
    draft: Mapped[bool] = mapped_column(default=False, index=True)
    # What went wrong and what changes, written after the fact (markdown, sanitised on display).
    postmortem: Mapped[str] = mapped_column(sa.Text, default="")
    # What subscribers last heard by email: the incident's status then, and when (None: never).
    mailed_status: Mapped[str | None] = mapped_column(sa.String(20))
    mailed_at = mapped_column(UTCDateTime)

    components: Mapped[list["Component"]] = relationship(  # noqa: F821
        secondary=incident_components, order_by="(Component.sort_order, Component.id)"
    )
    updates: Mapped[list["IncidentUpdate"]] = relationship(
        back_populates="incident",
        order_by="(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc())",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def is_open(self):
        return self.status != "resolved"


class IncidentUpdate(db.Model):
    """One entry of an incident's timeline."""

    __tablename__ = "incident_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(20))
    message: Mapped[str] = mapped_column(sa.Text)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="updates")
