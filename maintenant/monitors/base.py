"""What every probe returns, whatever it checks."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProbeResult:
    """One check of one monitor.

    Attributes:
        state: the state this check observed (e.g. up | down | degraded for an endpoint).
        latency_ms: how long the check took, when it got that far.
        error: what went wrong, in plain words ("connection refused", "HTTP 503",
            "timed out after 10 s"); None when the check passed.
        details: facts to keep on the monitor (a certificate's expires_at, issuer...).
    """

    state: str
    latency_ms: float | None = None
    error: str | None = None
    details: dict = field(default_factory=dict)
