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
    # Branding: a logo (uploaded, checked, inlined in the page as a data: URI), an accent colour
    # (#rrggbb), an announcement banner (markdown, sanitised), footer links [{"label", "url"}],
    # the colour scheme (auto | light | dark) and the page's language when the reader's
    # browser asks for none we have.
    logo = mapped_column(sa.LargeBinary)
    logo_type: Mapped[str | None] = mapped_column(sa.String(50))
    accent_color: Mapped[str | None] = mapped_column(sa.String(7))
    announcement: Mapped[str] = mapped_column(sa.Text, default="")
    footer_links = mapped_column(sa.JSON, nullable=False, default=list)
    theme: Mapped[str] = mapped_column(sa.String(10), default="auto")
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    # How many daily uptime bars each component shows.
    uptime_days: Mapped[int] = mapped_column(default=90)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
