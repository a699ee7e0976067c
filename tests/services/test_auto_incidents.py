"""Auto incidents: a component with auto_incident opens, resolves and reopens its incident."""

from datetime import timedelta

import pytest

from maintenant import status as rules
from maintenant.extensions import db
from maintenant.models import (Endpoint, Incident, MaintenanceWindow, OutboxEvent, StatusLogEntry,
                               utcnow)
from maintenant.monitors.base import ProbeResult
from maintenant.services import incidents, monitor_config, settings
from maintenant.services.components import update_component
from maintenant.services.monitors import record_results
from maintenant.services.outbox import commit
from maintenant.services.statuses import effective_status, sync_statuses

from factories import make_component, make_incident, make_maintenance

UP = ProbeResult("up", 12.0)
DOWN = ProbeResult("down", None, "connection refused")
SLOW = ProbeResult("degraded", 900.0, "slow: answered in 900 ms")


def make_endpoint(name="API check", status="up", **fields):
    endpoint = Endpoint(name=name, target="http://127.0.0.1:9/", status=status,
                        **{"interval_seconds": 30, "failure_threshold": 1, **fields})
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


@pytest.fixture
def endpoint(app):
    return make_endpoint()


@pytest.fixture
def component(endpoint):
    return make_component("API", monitor_type="endpoint", monitor_id=endpoint.id,
                          auto_incident=True)


def feed(endpoint, result):
    """One probe result for ``endpoint`` (failure_threshold 1: it flips at once)."""
    record_results([("endpoint", endpoint.id, result, utcnow())])


def all_incidents():
    db.session.expire_all()
    return db.session.scalars(db.select(Incident).order_by(Incident.id)).all()


def event_kinds(prefix="incident_"):
    kinds = db.session.scalars(db.select(OutboxEvent.type).order_by(OutboxEvent.id))
    return [kind for kind in kinds if kind.startswith(prefix)]


def status(component):
    db.session.expire_all()
    return effective_status(component)


# --- opening ---------------------------------------------------------------------------------

def test_a_monitor_going_down_opens_one_critical_incident(component, endpoint):
    feed(endpoint, DOWN)

    [incident] = all_incidents()
    assert (incident.auto, incident.draft, incident.severity, incident.status) == \
        (True, False, "critical", "investigating")
    assert incident.title == "API: connection refused"
    assert [c.id for c in incident.components] == [component.id]
    [update] = incident.updates
    assert update.status == "investigating"
    assert "API" in update.message and "connection refused" in update.message
    assert status(component) == "major_outage"
    assert event_kinds() == ["incident_created"]


def test_a_long_or_multiline_reason_makes_a_bounded_one_line_title(component, endpoint):
    feed(endpoint, ProbeResult("down", None, 'keyword "ok"\nnot found. ' + "x" * 400))

    [incident] = all_incidents()
    assert len(incident.title) == 300 and incident.title.endswith("…")
    assert incident.title.startswith('API: keyword "ok" not found. xxx')


def test_without_a_reason_the_title_names_the_outage(component, endpoint):
    feed(endpoint, ProbeResult("down"))

    assert [i.title for i in all_incidents()] == ["API: major outage"]


def test_the_incident_and_the_status_change_are_one_transaction(component, endpoint):
    before = db.session.scalar(db.select(db.func.max(OutboxEvent.id)))
    feed(endpoint, DOWN)

    kinds = db.session.scalars(db.select(OutboxEvent.type).where(OutboxEvent.id > before)
                               .order_by(OutboxEvent.id)).all()
    assert kinds[0] == "incident_created"
    assert "component_changed" in kinds and "global_changed" in kinds
    [entry] = db.session.scalars(db.select(StatusLogEntry).where(
        StatusLogEntry.component_id == component.id, StatusLogEntry.to_status == "major_outage"))
    assert entry.cause == "monitor"


def test_still_down_opens_nothing_more(component, endpoint):
    feed(endpoint, DOWN)
    feed(endpoint, DOWN)
    feed(endpoint, ProbeResult("down", None, "HTTP 503"))

    assert len(all_incidents()) == 1


def test_a_component_without_auto_incident_opens_nothing(endpoint):
    component = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)

    feed(endpoint, DOWN)

    assert all_incidents() == []
    assert status(component) == "major_outage"


def test_degraded_is_not_an_outage(component, endpoint):
    feed(endpoint, SLOW)

    assert all_incidents() == []
    assert status(component) == "degraded"


def test_an_open_operator_incident_covering_it_means_no_auto_incident(component, endpoint):
    make_incident("We are on it", severity="minor", components_=[component])

    feed(endpoint, DOWN)

    assert [i.auto for i in all_incidents()] == [False]


def test_an_open_draft_covering_it_means_no_auto_incident_either(component, endpoint):
    incidents.create_incident({"title": "Draft", "severity": "minor", "status": "investigating",
                               "message": "Not public yet.", "components": [component.id],
                               "draft": True})

    feed(endpoint, DOWN)

    assert [i.auto for i in all_incidents()] == [False]


def test_in_maintenance_no_auto_incident(component, endpoint):
    make_maintenance(components_=[component], starts_in=timedelta(minutes=-5))

    feed(endpoint, DOWN)

    assert all_incidents() == []
    assert status(component) == "maintenance"


def end_windows():
    """The clock ends every window; the maintenance lifecycle then syncs the statuses."""
    for window in db.session.scalars(db.select(MaintenanceWindow)):
        window.ends_at = utcnow() - timedelta(seconds=1)
    sync_statuses(rules.CAUSE_MAINTENANCE)
    commit()


def test_still_down_when_the_window_ends_opens_it_then(component, endpoint):
    make_maintenance(components_=[component], starts_in=timedelta(minutes=-5))
    feed(endpoint, DOWN)

    end_windows()

    [incident] = all_incidents()
    assert (incident.auto, incident.title) == (True, "API: connection refused")
    assert status(component) == "major_outage"
    assert event_kinds() == ["incident_created"]
    # The next ticks of the clock do nothing more, even once an operator resolved it.
    incidents.post_incident_update(incident, {"status": "resolved", "message": "Known."})
    sync_statuses(rules.CAUSE_MAINTENANCE)
    commit()
    assert [i.status for i in all_incidents()] == ["resolved"]


def test_recovered_before_the_window_ends_opens_nothing(component, endpoint):
    make_maintenance(components_=[component], starts_in=timedelta(minutes=-5))
    feed(endpoint, DOWN)
    feed(endpoint, UP)

    end_windows()

    assert all_incidents() == []
    assert status(component) == "operational"


def test_an_override_means_no_auto_incident(component, endpoint):
    update_component(component, {"status_override": "operational"})

    feed(endpoint, DOWN)

    assert all_incidents() == []


def test_two_components_on_one_monitor_get_one_incident_each(component, endpoint):
    other = make_component("Dashboard", monitor_type="endpoint", monitor_id=endpoint.id,
                           auto_incident=True)

    feed(endpoint, DOWN)

    assert sorted(i.title for i in all_incidents()) == ["API: connection refused",
                                                        "Dashboard: connection refused"]
    assert status(other) == "major_outage"


def test_enabling_auto_incident_while_down_waits_for_the_next_outage(endpoint):
    component = make_component("API", monitor_type="endpoint", monitor_id=endpoint.id)
    feed(endpoint, DOWN)

    update_component(component, {"auto_incident": True})
    assert all_incidents() == []

    feed(endpoint, UP)
    feed(endpoint, DOWN)
    assert len(all_incidents()) == 1


# --- resolving -------------------------------------------------------------------------------

def test_recovery_resolves_it_with_an_update(component, endpoint):
    feed(endpoint, DOWN)
    feed(endpoint, UP)

    [incident] = all_incidents()
    assert incident.status == "resolved" and incident.resolved_at is not None
    latest = incident.updates[0]
    assert (latest.status, latest.message) == ("resolved", "API has recovered.")
    assert status(component) == "operational"
    assert event_kinds() == ["incident_created", "incident_resolved"]


def test_degraded_counts_as_recovered(component, endpoint):
    feed(endpoint, DOWN)
    feed(endpoint, SLOW)

    [incident] = all_incidents()
    assert incident.status == "resolved"
    assert status(component) == "degraded"


def test_pausing_the_monitor_resolves_it(component, endpoint):
    feed(endpoint, DOWN)

    monitor_config.update_monitor(db.session.get(Endpoint, endpoint.id), {"paused": True})

    [incident] = all_incidents()
    assert incident.status == "resolved"


def test_deleting_the_monitor_resolves_it(component, endpoint):
    feed(endpoint, DOWN)

    monitor_config.delete_monitor(db.session.get(Endpoint, endpoint.id))

    [incident] = all_incidents()
    assert incident.status == "resolved"


def test_an_auto_incident_reopened_by_hand_is_not_resolved_by_other_monitors(component, endpoint):
    feed(endpoint, DOWN)
    feed(endpoint, UP)
    [incident] = all_incidents()
    incidents.post_incident_update(incident, {"status": "monitoring",
                                              "message": "Some users still see errors."})
    other = make_endpoint("Other")
    make_component("Other", monitor_type="endpoint", monitor_id=other.id)

    feed(other, DOWN)

    assert all_incidents()[0].status == "monitoring"


def test_resolved_by_hand_while_down_stays_resolved_until_the_next_outage(component, endpoint):
    feed(endpoint, DOWN)
    [incident] = all_incidents()
    incidents.post_incident_update(incident, {"status": "resolved", "message": "Known issue."})

    feed(endpoint, DOWN)
    feed(endpoint, ProbeResult("down", None, "HTTP 503"))

    [incident] = all_incidents()
    assert incident.status == "resolved"


# --- flapping --------------------------------------------------------------------------------

def test_a_flap_within_30_minutes_reopens_the_same_incident(component, endpoint):
    feed(endpoint, DOWN)
    feed(endpoint, UP)
    feed(endpoint, ProbeResult("down", None, "HTTP 502"))

    [incident] = all_incidents()
    assert incident.status == "investigating" and incident.resolved_at is None
    assert [u.status for u in incident.updates] == ["investigating", "resolved", "investigating"]
    assert "HTTP 502" in incident.updates[0].message
    assert status(component) == "major_outage"
    assert event_kinds() == ["incident_created", "incident_resolved", "incident_updated"]

    feed(endpoint, UP)
    assert all_incidents()[0].status == "resolved"


def test_after_30_minutes_a_new_incident_opens(component, endpoint):
    feed(endpoint, DOWN)
    feed(endpoint, UP)
    [first] = all_incidents()
    first.resolved_at = utcnow() - timedelta(minutes=31)
    db.session.commit()

    feed(endpoint, DOWN)

    incidents_ = all_incidents()
    assert [i.status for i in incidents_] == ["resolved", "investigating"]
    assert all(i.auto for i in incidents_)


def test_an_operator_incident_is_never_reopened(component, endpoint):
    operator = make_incident("By hand", components_=[component])
    incidents.post_incident_update(operator, {"status": "resolved", "message": "Fixed."})

    feed(endpoint, DOWN)

    assert [(i.auto, i.status) for i in all_incidents()] == [(False, "resolved"),
                                                            (True, "investigating")]


# --- drafts ----------------------------------------------------------------------------------

@pytest.fixture
def drafts(app):
    settings.update_settings({"auto_incident_drafts": True})


def test_with_drafts_the_auto_incident_is_a_draft_and_moves_nothing(drafts, component, endpoint):
    feed(endpoint, DOWN)

    [incident] = all_incidents()
    assert incident.draft and incident.auto
    # The monitor still puts the component down; the draft adds nothing and says nothing.
    assert status(component) == "major_outage"
    assert event_kinds() == []


def test_a_draft_resolves_quietly_and_stays_a_draft(drafts, component, endpoint):
    feed(endpoint, DOWN)
    feed(endpoint, UP)

    [incident] = all_incidents()
    assert (incident.draft, incident.status) == (True, "resolved")
    assert event_kinds() == []


def test_a_draft_keeps_the_component_out_of_incident_impact(drafts, app):
    component = make_component("API")
    draft = incidents.create_incident({"title": "Draft", "severity": "critical",
                                       "status": "investigating", "message": "Not yet.",
                                       "components": [component.id], "draft": True})
    assert status(component) == "operational"
    assert event_kinds() == []

    incidents.publish_incident(draft)

    assert status(component) == "major_outage"
    assert event_kinds() == ["incident_created"]


def test_publishing_an_auto_draft_announces_it_and_recovery_then_resolves_it(drafts, component,
                                                                            endpoint):
    feed(endpoint, DOWN)
    [incident] = all_incidents()

    incidents.publish_incident(incident)
    assert not all_incidents()[0].draft
    assert event_kinds() == ["incident_created"]

    feed(endpoint, UP)
    assert all_incidents()[0].status == "resolved"
    assert event_kinds() == ["incident_created", "incident_resolved"]


def test_a_flap_reopens_a_draft_as_a_draft(drafts, component, endpoint):
    feed(endpoint, DOWN)
    feed(endpoint, UP)
    feed(endpoint, DOWN)

    [incident] = all_incidents()
    assert (incident.draft, incident.status) == (True, "investigating")
    assert event_kinds() == []
