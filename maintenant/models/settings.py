"""The status page's settings: a single row."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

DEFAULT_TITLE = "System Status"
DEFAULT_TIMEZONE = "UTC"


class PageSettings(db.Model):
    """Title, description and time zone of the public page."""

    __tablename__ = "page_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), default=DEFAULT_TITLE)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default=DEFAULT_TIMEZONE)
    # Incidents opened automatically start as drafts, published by an operator.
    auto_incident_drafts: Mapped[bool] = mapped_column(default=False)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
