"""Pure status rules (no I/O): monitor state -> component -> group -> page."""

OPERATIONAL = "operational"
DEGRADED = "degraded"
PARTIAL_OUTAGE = "partial_outage"
MAJOR_OUTAGE = "major_outage"
MAINTENANCE = "maintenance"

# Worst last: the index is the severity.
SEVERITY_ORDER = (OPERATIONAL, MAINTENANCE, DEGRADED, PARTIAL_OUTAGE, MAJOR_OUTAGE)
COMPONENT_STATUSES = (OPERATIONAL, DEGRADED, PARTIAL_OUTAGE, MAJOR_OUTAGE, MAINTENANCE)
_RANK = {status: rank for rank, status in enumerate(SEVERITY_ORDER)}

MONITOR_TYPES = ("container", "endpoint", "heartbeat", "certificate")

# Monitor state -> the component status it contributes. States not listed (unknown, new,
# paused, no result yet) contribute nothing.
MONITOR_CONTRIBUTION = {
    # A container's state here is its monitor's condition: Docker's state, except
    # "unhealthy" for a running container failing its healthcheck (the API shows that one
    # as status running with health unhealthy; see monitors/container.py). "running" is
    # healthy, starting or without a healthcheck.
    "container": {
        "running": OPERATIONAL,
        "unhealthy": DEGRADED,
        "restarting": DEGRADED,
        "paused": DEGRADED,
        "exited": MAJOR_OUTAGE,
        "dead": MAJOR_OUTAGE,
        "created": MAJOR_OUTAGE,
        "removed": MAJOR_OUTAGE,
    },
    "endpoint": {
        "up": OPERATIONAL,
        "degraded": DEGRADED,
        "down": MAJOR_OUTAGE,
    },
    "heartbeat": {
        "up": OPERATIONAL,
        "down": MAJOR_OUTAGE,
    },
    "certificate": {
        "valid": OPERATIONAL,
        "expiring": DEGRADED,
        "expired": MAJOR_OUTAGE,
        "invalid": MAJOR_OUTAGE,
        "unreachable": MAJOR_OUTAGE,
    },
}

INCIDENT_SEVERITIES = ("minor", "major", "critical")
INCIDENT_IMPACT = {
    "minor": DEGRADED,
    "major": PARTIAL_OUTAGE,
    "critical": MAJOR_OUTAGE,
}
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
RESOLVED = "resolved"

HEADLINES = {
    OPERATIONAL: "All Systems Operational",
    DEGRADED: "Degraded Performance",
    PARTIAL_OUTAGE: "Partial System Outage",
    MAJOR_OUTAGE: "Major System Outage",
    MAINTENANCE: "Scheduled Maintenance",
}

# Why a component's effective status changed, as written to the status log.
CAUSE_MONITOR = "monitor"
CAUSE_INCIDENT = "incident"
CAUSE_MAINTENANCE = "maintenance"
CAUSE_OVERRIDE = "override"
CAUSES = (CAUSE_MONITOR, CAUSE_INCIDENT, CAUSE_MAINTENANCE, CAUSE_OVERRIDE)


def worst(statuses):
    """The most severe of some statuses; operational when there are none."""
    return max(statuses, key=_RANK.__getitem__, default=OPERATIONAL)


def monitor_contribution(monitor_type, state):
    """What a monitor in ``state`` contributes to its component, or None for nothing."""
    if monitor_type is None or state is None:
        return None
    return MONITOR_CONTRIBUTION.get(monitor_type, {}).get(state)


def component_status(override=None, in_maintenance=False, monitor=None, incident_severities=()):
    """A component's effective status.

    Args:
        override: the operator's status override, or None.
        in_maintenance: whether a maintenance window covering it is in progress.
        monitor: its monitor's contribution (see ``monitor_contribution``), or None.
        incident_severities: severities of its open incidents.
    """
    if override is not None:
        return override
    if in_maintenance:
        return MAINTENANCE
    candidates = [INCIDENT_IMPACT[severity] for severity in incident_severities]
    if monitor is not None:
        candidates.append(monitor)
    return worst(candidates)


def overall_status(statuses):
    """The page's overall status from the statuses of its visible components."""
    return worst(statuses)


def headline(status):
    """The words the page shows for an overall status."""
    return HEADLINES[status]
