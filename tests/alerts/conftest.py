"""Fixtures for the alert engine tests: a webhook receiver, an SMTP server, short windows."""

import pytest

from mail import smtp_server  # noqa: F401
from monitors.servers import http_server  # noqa: F401

from maintenant.services import monitor_config

FLAP_WINDOW = 60


@pytest.fixture
def alert_config(app):
    """Small numbers: coalescing after 3 changes in a minute, retries after milliseconds."""
    app.config.update(ALERT_FLAP_WINDOW_SECONDS=FLAP_WINDOW, ALERT_FLAP_THRESHOLD=3,
                      ALERT_RETRY_BASE_SECONDS=0.001, ALERT_MAX_ATTEMPTS=4)
    return app.config


@pytest.fixture
def endpoint(app):
    """An endpoint monitor that flips on the first disagreeing result."""
    monitor, _ = monitor_config.create_endpoint(
        {"name": "API health", "target": "https://api.example/health", "failure_threshold": 1})
    return monitor
