"""Settings read from the environment, with defaults that run locally."""

import os
import secrets


def normalize_database_url(url):
    """Map the URL forms platforms hand out onto the driver this project uses.

    Platforms give ``postgres://`` (and sometimes ``postgresql://``); SQLAlchemy wants an
    explicit dialect and driver, here psycopg 3.
    """
    if not url:
        return url
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def default_sqlite_url(instance_path):
    """The default database: a SQLite file in the instance folder."""
    return "sqlite:///" + os.path.join(instance_path, "maintenant.db")


def env_flag(name, default=False):
    """A yes/no setting: 1, true, yes or on (any case) mean yes."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


SMTP_TLS_MODES = ("starttls", "tls", "none")


def smtp_tls_mode(value, port):
    """SMTP_TLS as one of SMTP_TLS_MODES; a wrong value stops the process at start-up."""
    if value is None or not value.strip():
        return {587: "starttls", 465: "tls"}.get(port, "none")
    mode = value.strip().lower()
    if mode not in SMTP_TLS_MODES:
        raise ValueError(f"SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}, not {value!r}")
    return mode


DISCOVERY_INTERVAL_DEFAULT = 30
DISCOVERY_INTERVAL_MIN = 5
DISCOVERY_INTERVAL_MAX = 86_400


def whole_number(name, value, default, accepted, expected):
    """The whole number an environment variable holds, ``default`` when it is unset or blank.

    Raises:
        ValueError: naming the variable and ``expected`` when the value is not a whole number
            or ``accepted(number)`` is false; raised at start-up, it stops the process.
    """
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or not accepted(number):
        raise ValueError(f"{name} must be {expected}, not {value!r}")
    return number


def discovery_interval(value):
    """MAINTENANT_DISCOVERY_INTERVAL in seconds; a wrong value stops the process at start-up."""
    return whole_number(
        "MAINTENANT_DISCOVERY_INTERVAL", value, DISCOVERY_INTERVAL_DEFAULT,
        lambda seconds: DISCOVERY_INTERVAL_MIN <= seconds <= DISCOVERY_INTERVAL_MAX,
        f"a whole number of seconds from {DISCOVERY_INTERVAL_MIN} to {DISCOVERY_INTERVAL_MAX}")


# The longest span anything reads from the hourly aggregates: the page's uptime (365 days) and
# a monitor's history (?days=366), plus a day on each side for time zones.
MONITOR_HISTORY_DAYS_MIN = 368
MONITOR_HISTORY_DAYS_DEFAULT = 400


def monitor_history_days(value):
    """MAINTENANT_MONITOR_HISTORY_DAYS: days of hourly monitor aggregates kept; 0 keeps them
    for ever. A wrong value stops the process at start-up."""
    return whole_number(
        "MAINTENANT_MONITOR_HISTORY_DAYS", value, MONITOR_HISTORY_DAYS_DEFAULT,
        lambda days: days == 0 or days >= MONITOR_HISTORY_DAYS_MIN,
        f"0 (keep for ever) or a whole number of days from {MONITOR_HISTORY_DAYS_MIN}")


class Config:
    """Process configuration; every value can be overridden from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    SQLALCHEMY_DATABASE_URI = normalize_database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # PostgreSQL connections per process (each gunicorn worker, each RQ worker): up to
    # POOL_SIZE kept open, MAX_OVERFLOW more while busy. Small database plans allow few.
    DB_POOL_SIZE = int(os.environ.get("MAINTENANT_DB_POOL_SIZE", "5"))
    DB_MAX_OVERFLOW = int(os.environ.get("MAINTENANT_DB_MAX_OVERFLOW", "10"))
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # Pub/sub ignores Redis database numbers, so channels carry a prefix of their own.
    REDIS_PREFIX = os.environ.get("MAINTENANT_REDIS_PREFIX", "maintenant:")
    BASE_URL = os.environ.get("MAINTENANT_BASE_URL", "http://localhost:5000").rstrip("/")
    API_TOKEN = os.environ.get("MAINTENANT_API_TOKEN") or None
    MAX_CONTENT_LENGTH = 1024 * 1024
    JSON_SORT_KEYS = False
    # How long resolved incidents stay on the page.
    RESOLVED_INCIDENT_DAYS = 7
    # How many upcoming maintenance windows the page lists.
    UPCOMING_MAINTENANCE_LIMIT = 10
    # Live updates (GET /status/events): a keepalive comment at least this often, so proxies
    # keep the stream open and a reader that went away is noticed.
    SSE_KEEPALIVE_SECONDS = float(os.environ.get("MAINTENANT_SSE_KEEPALIVE_SECONDS", "15"))
    # Events a reader may fall behind before it is disconnected (it reconnects and catches up).
    SSE_CLIENT_QUEUE = int(os.environ.get("MAINTENANT_SSE_CLIENT_QUEUE", "100"))
    # Open streams per client address and web process; 0: no limit (a proxy or CDN limits).
    SSE_MAX_STREAMS_PER_IP = int(os.environ.get("MAINTENANT_SSE_MAX_STREAMS_PER_IP", "0"))
    # Probes running at once in one worker process (threads: a check mostly waits on the network).
    PROBE_CONCURRENCY = int(os.environ.get("MAINTENANT_PROBE_CONCURRENCY", "100"))
    CERTIFICATE_TIMEOUT = 10.0
    # Days of hourly monitor aggregates kept (0: for ever); older hours are pruned hourly.
    MONITOR_HISTORY_DAYS = monitor_history_days(os.environ.get("MAINTENANT_MONITOR_HISTORY_DAYS"))
    # A PEM file of CA certificates the probes trust instead of the system's (a private CA).
    PROBE_CA_FILE = os.environ.get("MAINTENANT_PROBE_CA_FILE") or None
    # Container discovery: the engine's address (DOCKER_HOST; else the local socket if present).
    DOCKER_HOST = os.environ.get("DOCKER_HOST") or None
    # Seconds between two listings of the engine's containers; also the container monitors'
    # interval_seconds.
    DISCOVERY_INTERVAL = discovery_interval(os.environ.get("MAINTENANT_DISCOVERY_INTERVAL"))
    # Subscribers are reminded of a maintenance window this many minutes before it starts (0: no
    # reminder).
    MAINTENANCE_REMINDER_MINUTES = float(os.environ.get("MAINTENANT_MAINTENANCE_REMINDER_MINUTES",
                                                        "60"))
    # Sign-ups per client address per hour (429 beyond), and confirmation mails per email
    # address per hour (beyond: the same answer, no mail), so nobody can mail-bomb through us.
    SIGNUP_LIMIT_PER_ADDRESS = int(os.environ.get("MAINTENANT_SIGNUP_LIMIT_PER_ADDRESS", "10"))
    SIGNUP_LIMIT_PER_EMAIL = int(os.environ.get("MAINTENANT_SIGNUP_LIMIT_PER_EMAIL", "3"))
    # How many reverse proxies in front set X-Forwarded-For (and -Proto, -Host); 0: none, the
    # header is ignored, since anyone can send it.
    TRUSTED_PROXIES = int(os.environ.get("MAINTENANT_TRUSTED_PROXIES", "0"))
    # No SMTP_HOST: no mail at all (sign-up answers 503, notifications are skipped).
    SMTP_HOST = os.environ.get("SMTP_HOST") or None
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME") or None
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD") or None
    SMTP_FROM = os.environ.get("SMTP_FROM", "status@localhost")
    # starttls (upgrade after connecting, port 587), tls (TLS from the first byte, port 465) or
    # none; unset: by the port (587 starttls, 465 tls, else none).
    SMTP_TLS = smtp_tls_mode(os.environ.get("SMTP_TLS"), SMTP_PORT)
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "10"))
    # Alerts: more than ALERT_FLAP_THRESHOLD - 1 changes of one monitor within the window are
    # coalesced into one held alert, delivered when the window has passed (0: never coalesce).
    ALERT_FLAP_WINDOW_SECONDS = float(os.environ.get("MAINTENANT_ALERT_FLAP_WINDOW", "600"))
    ALERT_FLAP_THRESHOLD = int(os.environ.get("MAINTENANT_ALERT_FLAP_THRESHOLD", "3"))
    # A failed delivery is retried after 1, 3, 6, 30, 90 and 360 times this many seconds
    # (10 s ... 1 h), and given up after ALERT_MAX_ATTEMPTS attempts.
    ALERT_RETRY_BASE_SECONDS = float(os.environ.get("MAINTENANT_ALERT_RETRY_BASE", "10"))
    ALERT_MAX_ATTEMPTS = int(os.environ.get("MAINTENANT_ALERT_MAX_ATTEMPTS", "7"))
