"""The page settings: one row, created with its defaults on first use."""

from ..extensions import db
from ..models import PageSettings, utcnow
from ..models.settings import DEFAULT_TIMEZONE, DEFAULT_TITLE
from ..schemas import SettingsOut
from .outbox import commit, record_event

SETTINGS_ID = 1
PUBLIC_SETTINGS = ("title", "description", "timezone", "updated_at")


def get_settings():
    """The page settings; defaults (not yet stored, ``updated_at`` None) when nobody has
    changed them."""
    settings = db.session.get(PageSettings, SETTINGS_ID)
    if settings is None:
        settings = PageSettings(id=SETTINGS_ID, title=DEFAULT_TITLE, description="",
                                timezone=DEFAULT_TIMEZONE, auto_incident_drafts=False,
                                logo=None, logo_type=None, accent_color=None, announcement="",
                                footer_links=[], theme="auto", language="en", uptime_days=90,
                                updated_at=None)
    return settings


def update_settings(data):
    settings = get_settings()
    for name, value in data.items():
        setattr(settings, name, value)
    settings.updated_at = utcnow()
    db.session.merge(settings)
    # The event is public (live page): it carries what the page shows, not operator options.
    record_event("settings_changed", SettingsOut(only=PUBLIC_SETTINGS).dump(settings))
    commit()
    return get_settings()
