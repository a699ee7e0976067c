"""Monitors (endpoints, heartbeats, certificates, containers), their transitions and hourly aggregates."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class MonitorColumns:
    """What every monitor has: a name, a state that flips after confirmations, a pause."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    paused: Mapped[bool] = mapped_column(default=False)
    # The confirmed state (see the kind's STATES); flips only after failure_threshold
    # consecutive results that disagree with it.
    status: Mapped[str] = mapped_column(sa.String(20))
    status_changed_at = mapped_column(UTCDateTime)
    # The disagreeing state seen in the last checks, and how many times in a row.
    pending_status: Mapped[str | None] = mapped_column(sa.String(20))
    pending_count: Mapped[int] = mapped_column(default=0)
    failure_threshold: Mapped[int] = mapped_column(default=2)
    interval_seconds: Mapped[int] = mapped_column(default=60)
    last_checked_at = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Endpoint(MonitorColumns, db.Model):
    """An HTTP(S) URL or a TCP port, checked every interval."""

    __tablename__ = "endpoints"
    monitor_type = "endpoint"

    target: Mapped[str] = mapped_column(sa.String(2000))
    method: Mapped[str] = mapped_column(sa.String(10), default="GET")
    headers = mapped_column(sa.JSON, nullable=False, default=dict)
    follow_redirects: Mapped[bool] = mapped_column(default=True)
    verify_tls: Mapped[bool] = mapped_column(default=True)
    expected_statuses: Mapped[str] = mapped_column(sa.String(200), default="200-399")
    keyword: Mapped[str | None] = mapped_column(sa.String(500))
    timeout_seconds: Mapped[float] = mapped_column(default=10.0)
    latency_threshold_ms: Mapped[int | None]
    last_latency_ms: Mapped[float | None]


class Heartbeat(MonitorColumns, db.Model):
    """A job that pings us; silence past interval + grace means it is down."""

    __tablename__ = "heartbeats"
    monitor_type = "heartbeat"

    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    grace_seconds: Mapped[int] = mapped_column(default=60)
    last_ping_at = mapped_column(UTCDateTime)
    last_start_at = mapped_column(UTCDateTime)
    # last_ping_at + interval + grace while up: what the deadline sweep compares to the clock.
    deadline_at = mapped_column(UTCDateTime, index=True)


class Certificate(MonitorColumns, db.Model):
    """A TLS certificate served at host:port, watched for expiry and validity."""

    __tablename__ = "certificates"
    monitor_type = "certificate"

    host: Mapped[str] = mapped_column(sa.String(255))
    port: Mapped[int] = mapped_column(default=443)
    server_name: Mapped[str | None] = mapped_column(sa.String(255))
    warning_days: Mapped[int] = mapped_column(default=30)
    expires_at = mapped_column(UTCDateTime)
    issuer: Mapped[str | None] = mapped_column(sa.String(500))
    subject: Mapped[str | None] = mapped_column(sa.String(500))


class Container(MonitorColumns, db.Model):
    """A container of the Docker engine, discovered by name, never created by hand."""

    __tablename__ = "containers"
    monitor_type = "container"

    container_name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    container_id: Mapped[str | None] = mapped_column(sa.String(80))
    image: Mapped[str | None] = mapped_column(sa.String(500))
    health: Mapped[str | None] = mapped_column(sa.String(20))
    last_seen_at = mapped_column(UTCDateTime)


class MonitorTransition(db.Model):
    """A confirmed change of a monitor's state, with its time and reason."""

    __tablename__ = "monitor_transitions"
    __table_args__ = (sa.Index("ix_monitor_transitions_monitor_at", "monitor_type", "monitor_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_type: Mapped[str] = mapped_column(sa.String(20))
    monitor_id: Mapped[int]
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    reason: Mapped[str | None] = mapped_column(sa.Text)


class MonitorHour(db.Model):
    """One hour of one monitor: time spent in each state, checks and latency."""

    __tablename__ = "monitor_hours"

    monitor_type: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    monitor_id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed alone too: the retention prune deletes by hour across every monitor.
    hour = mapped_column(UTCDateTime, primary_key=True, index=True)
    up_seconds: Mapped[float] = mapped_column(default=0.0)
    degraded_seconds: Mapped[float] = mapped_column(default=0.0)
    down_seconds: Mapped[float] = mapped_column(default=0.0)
    checks: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    latency_sum_ms: Mapped[float] = mapped_column(default=0.0)
    latency_count: Mapped[int] = mapped_column(default=0)
    # Counts per latency bucket (see monitors.history.LATENCY_BUCKETS_MS), for the p95.
    latency_histogram = mapped_column(sa.JSON, nullable=False, default=list)
