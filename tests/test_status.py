"""The pure status rules of DESIGN.md, one table row per case."""

import pytest

from maintenant import status as rules
from maintenant.status import (DEGRADED, MAINTENANCE, MAJOR_OUTAGE, OPERATIONAL, PARTIAL_OUTAGE,
                               component_status, headline, monitor_contribution, overall_status,
                               worst)

# DESIGN.md, "Monitor state -> component contribution", every cell.
MONITOR_TABLE = [
    ("container", "running", OPERATIONAL),     # healthy, starting or no healthcheck
    ("container", "unhealthy", DEGRADED),      # running but failing its healthcheck
    ("container", "restarting", DEGRADED),
    ("container", "paused", DEGRADED),
    ("container", "exited", MAJOR_OUTAGE),
    ("container", "dead", MAJOR_OUTAGE),
    ("container", "created", MAJOR_OUTAGE),
    ("container", "removed", MAJOR_OUTAGE),
    ("endpoint", "up", OPERATIONAL),
    ("endpoint", "degraded", DEGRADED),
    ("endpoint", "down", MAJOR_OUTAGE),
    ("heartbeat", "up", OPERATIONAL),
    ("heartbeat", "down", MAJOR_OUTAGE),
    ("certificate", "valid", OPERATIONAL),
    ("certificate", "expiring", DEGRADED),
    ("certificate", "expired", MAJOR_OUTAGE),
    ("certificate", "invalid", MAJOR_OUTAGE),
    ("certificate", "unreachable", MAJOR_OUTAGE),
]


@pytest.mark.parametrize("monitor_type, state, expected", MONITOR_TABLE)
def test_monitor_state_contributes_its_status(monitor_type, state, expected):
    assert monitor_contribution(monitor_type, state) == expected


@pytest.mark.parametrize("monitor_type, state, expected", MONITOR_TABLE)
def test_monitor_contribution_is_the_component_status_alone(monitor_type, state, expected):
    contribution = monitor_contribution(monitor_type, state)
    assert component_status(monitor=contribution) == expected


@pytest.mark.parametrize("monitor_type, state", [
    ("container", "unknown"),
    ("container", "new"),
    ("container", None),
    ("endpoint", "unknown"),
    ("endpoint", None),
    ("heartbeat", "new"),         # no ping yet
    ("heartbeat", "degraded"),    # heartbeats have no degraded state
    ("heartbeat", None),
    ("certificate", "unknown"),
    ("certificate", None),
    ("ftp", "up"),                # a type the rules do not know
    (None, "up"),                 # a component without a monitor
    (None, None),
])
def test_state_without_a_result_contributes_nothing(monitor_type, state):
    assert monitor_contribution(monitor_type, state) is None
    assert component_status(monitor=monitor_contribution(monitor_type, state)) == OPERATIONAL


def test_the_table_names_every_monitor_type():
    assert {row[0] for row in MONITOR_TABLE} == set(rules.MONITOR_TYPES)


def test_the_table_is_every_rule_and_nothing_else():
    assert {(monitor_type, state) for monitor_type, state, _ in MONITOR_TABLE} == {
        (monitor_type, state) for monitor_type, states in rules.MONITOR_CONTRIBUTION.items()
        for state in states}


@pytest.mark.parametrize("severity, expected", [
    ("minor", DEGRADED),
    ("major", PARTIAL_OUTAGE),
    ("critical", MAJOR_OUTAGE),
])
def test_open_incident_impact_by_severity(severity, expected):
    assert component_status(incident_severities=[severity]) == expected


@pytest.mark.parametrize("override, in_maintenance, monitor, severities, expected", [
    # The operator's override beats everything, in either direction.
    (OPERATIONAL, True, MAJOR_OUTAGE, ["critical"], OPERATIONAL),
    (DEGRADED, False, MAJOR_OUTAGE, [], DEGRADED),
    (MAJOR_OUTAGE, False, OPERATIONAL, ["minor"], MAJOR_OUTAGE),
    (PARTIAL_OUTAGE, True, None, [], PARTIAL_OUTAGE),
    (MAINTENANCE, False, MAJOR_OUTAGE, ["critical"], MAINTENANCE),
    # No override: a window in progress beats the monitor and incidents.
    (None, True, MAJOR_OUTAGE, [], MAINTENANCE),
    (None, True, None, ["critical"], MAINTENANCE),
    (None, True, OPERATIONAL, ["major", "minor"], MAINTENANCE),
    (None, True, None, [], MAINTENANCE),
    # Neither: the worst of monitor and incidents, whichever is worse.
    (None, False, MAJOR_OUTAGE, ["minor"], MAJOR_OUTAGE),
    (None, False, DEGRADED, ["critical"], MAJOR_OUTAGE),
    (None, False, OPERATIONAL, ["major"], PARTIAL_OUTAGE),
    (None, False, DEGRADED, ["major"], PARTIAL_OUTAGE),
    (None, False, MAJOR_OUTAGE, ["major"], MAJOR_OUTAGE),
    (None, False, DEGRADED, [], DEGRADED),
    (None, False, None, ["minor"], DEGRADED),
    # Several open incidents: the worst one counts, in any order.
    (None, False, None, ["minor", "critical", "major"], MAJOR_OUTAGE),
    (None, False, None, ["minor", "major", "minor"], PARTIAL_OUTAGE),
    (None, False, OPERATIONAL, ["minor", "minor"], DEGRADED),
    # Nothing at all.
    (None, False, None, [], OPERATIONAL),
])
def test_precedence(override, in_maintenance, monitor, severities, expected):
    assert component_status(override=override, in_maintenance=in_maintenance, monitor=monitor,
                            incident_severities=severities) == expected


@pytest.mark.parametrize("worse, better", [
    (MAJOR_OUTAGE, PARTIAL_OUTAGE),
    (PARTIAL_OUTAGE, DEGRADED),
    (DEGRADED, MAINTENANCE),
    (MAINTENANCE, OPERATIONAL),
    (MAJOR_OUTAGE, OPERATIONAL),
    (MAJOR_OUTAGE, MAINTENANCE),
    (PARTIAL_OUTAGE, MAINTENANCE),
])
def test_worst_follows_the_severity_order(worse, better):
    assert worst([worse, better]) == worse
    assert worst([better, worse]) == worse


def test_worst_of_all_five():
    assert worst([OPERATIONAL, MAINTENANCE, MAJOR_OUTAGE, DEGRADED, PARTIAL_OUTAGE]) == MAJOR_OUTAGE


def test_worst_of_nothing_is_operational():
    assert worst([]) == OPERATIONAL


@pytest.mark.parametrize("statuses, expected, words", [
    ([OPERATIONAL, OPERATIONAL], OPERATIONAL, "All Systems Operational"),
    ([OPERATIONAL, DEGRADED], DEGRADED, "Degraded Performance"),
    ([DEGRADED, PARTIAL_OUTAGE, OPERATIONAL], PARTIAL_OUTAGE, "Partial System Outage"),
    ([PARTIAL_OUTAGE, MAJOR_OUTAGE, MAINTENANCE], MAJOR_OUTAGE, "Major System Outage"),
    ([OPERATIONAL, MAINTENANCE], MAINTENANCE, "Scheduled Maintenance"),
    ([MAINTENANCE, DEGRADED], DEGRADED, "Degraded Performance"),
    ([], OPERATIONAL, "All Systems Operational"),
])
def test_overall_status_and_headline(statuses, expected, words):
    assert overall_status(statuses) == expected
    assert headline(overall_status(statuses)) == words


def test_overall_status_takes_any_iterable():
    assert overall_status(status for status in [OPERATIONAL, PARTIAL_OUTAGE]) == PARTIAL_OUTAGE
