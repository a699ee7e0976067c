"""Maintenance windows: schedule, move, cancel; their status comes from the clock."""

from datetime import timedelta

from .. import status as rules
from ..errors import Conflict, Invalid
from ..extensions import db
from ..models import Component, MaintenanceWindow, utcnow
from ..models.maintenance import CANCELLED, COMPLETED, IN_PROGRESS, SCHEDULED
from ..schemas import MaintenanceOut
from . import lifecycle
from .lookups import get_or_404, paginate, resolve_ids
from .outbox import commit, record_event
from .statuses import sync_statuses

M = MaintenanceWindow

# An operator ends a window "now" by sending the current time, which is already in the past
# when it arrives (and their clock may lag ours): an end this close to now means now.
END_NOW_GRACE = timedelta(minutes=1)


def status_clause(status, now):
    """SQL for "the window's status at ``now`` is ``status``" (the clock derives it)."""
    live = M.cancelled.is_(False)
    return {
        CANCELLED: M.cancelled.is_(True),
        SCHEDULED: live & (M.starts_at > now),
        IN_PROGRESS: live & (M.starts_at <= now) & (M.ends_at > now),
        COMPLETED: live & (M.ends_at <= now),
    }[status]


def list_maintenance(status=None, limit=50, offset=0, now=None):
    """Windows by start time, soonest first; filtered by derived status."""
    query = db.select(M).order_by(M.starts_at, M.id)
    if status:
        query = query.where(status_clause(status, now or utcnow()))
    return paginate(query, limit, offset)


def get_maintenance(maintenance_id):
    return get_or_404(M, maintenance_id, "maintenance window")


# The shortest length of each recurrence period, in days: an occurrence must fit in it.
SHORTEST_PERIOD_DAYS = {"daily": 1, "weekly": 7, "monthly": 28}


def check_recurrence(recurrence, starts_at, ends_at):
    """A recurrence must leave the window room to happen before its next occurrence."""
    if recurrence is None:
        return
    until = recurrence.get("until")
    if until is not None and until < starts_at:
        raise Invalid("The recurrence ends before the window starts.",
                      {"recurrence": {"until": ["Must not be before starts_at."]}})
    period = timedelta(days=SHORTEST_PERIOD_DAYS[recurrence["frequency"]]
                       * recurrence.get("interval", 1))
    if ends_at - starts_at > period:
        raise Invalid("The window lasts longer than its recurrence period: occurrences "
                      "would overlap.",
                      {"recurrence": {"interval": ["The window must fit in one period."]}})


def set_recurrence(window, recurrence):
    window.recurrence_frequency = recurrence["frequency"] if recurrence else None
    window.recurrence_interval = recurrence.get("interval", 1) if recurrence else 1
    window.recurrence_until = recurrence.get("until") if recurrence else None


def recurrence_of(window):
    if window.recurrence_frequency is None:
        return None
    return {"frequency": window.recurrence_frequency, "interval": window.recurrence_interval,
            "until": window.recurrence_until}


def settle_and_commit(window, now):
    """Act on the window's moves in this transaction (events, successors), commit, re-arm."""
    touched = lifecycle.settle([window], now)
    commit()
    lifecycle.arm([window, *touched], now)


def schedule_maintenance(data):
    now = utcnow()
    check_recurrence(data.get("recurrence"), data["starts_at"], data["ends_at"])
    window = M(title=data["title"], description=data["description"],
               starts_at=data["starts_at"], ends_at=data["ends_at"],
               cancelled=data["cancelled"], created_at=now, updated_at=now)
    set_recurrence(window, data.get("recurrence"))
    window.components = resolve_ids(Component, data["components"], "components", "component")
    db.session.add(window)
    sync_statuses(rules.CAUSE_MAINTENANCE, now)
    lifecycle.scheduled_event(window, now)
    settle_and_commit(window, now)
    return window


def change_maintenance(window, data):
    """Change a window. Once it has started only its end may move (not into the past);
    a finished or cancelled window keeps its times and components."""
    now = utcnow()
    status = window.status_at(now)
    starts_at = data.get("starts_at", window.starts_at)
    ends_at = data.get("ends_at", window.ends_at)
    if status == IN_PROGRESS:
        frozen = changes(window, data, ("starts_at", "components", "cancelled", "recurrence"))
        if frozen:
            raise Conflict("This window is in progress: only its end may move "
                           f"(not {', '.join(frozen)}).", {name: ["Cannot change while in progress."]
                                                         for name in frozen})
        if now - END_NOW_GRACE <= ends_at < now:
            ends_at = data["ends_at"] = now
        if ends_at < now:
            raise Invalid("An end in the past would rewrite history; end it now instead.",
                          {"ends_at": ["Must not be in the past for a window in progress."]})
    elif status in (COMPLETED, CANCELLED):
        frozen = changes(window, data, ("starts_at", "ends_at", "components", "cancelled",
                                        "recurrence"))
        if frozen:
            raise Conflict(f"This window is {status}: its times and components are history.",
                           {name: [f"Cannot change a {status} window."] for name in frozen})
    if ends_at <= starts_at:
        # Name the field the request moved, so a start moved past the end is blamed on the start.
        blamed = ({"starts_at": ["Must be before ends_at."]} if "ends_at" not in data
                  else {"ends_at": ["Must be after starts_at."]})
        raise Invalid("ends_at must be after starts_at.", blamed)
    check_recurrence(data.get("recurrence", recurrence_of(window)), starts_at, ends_at)
    # Subscribers told of a window still ahead hear when it moves or is called off.
    notify = status == SCHEDULED and bool(changes(window, data, ("starts_at", "ends_at",
                                                               "cancelled")))
    if "recurrence" in data:
        set_recurrence(window, data["recurrence"])
    if "components" in data:
        window.components = resolve_ids(Component, data["components"], "components", "component")
    if status == SCHEDULED and changes(window, data, ("starts_at",)):
        window.reminded_at = None  # a new start: a new reminder
    for name in ("title", "description", "starts_at", "ends_at", "cancelled"):
        if name in data:
            setattr(window, name, data[name])
    window.updated_at = now
    sync_statuses(rules.CAUSE_MAINTENANCE, now)
    record_event("maintenance_updated", MaintenanceOut().dump(window)).notify = notify
    settle_and_commit(window, now)
    return window


def complete_maintenance(window):
    """End a window in progress now (POST .../complete)."""
    now = utcnow()
    status = window.status_at(now)
    if status != IN_PROGRESS:
        raise Conflict(f"Only a window in progress can be completed; this one is {status}.")
    window.ends_at = now
    window.updated_at = now
    sync_statuses(rules.CAUSE_MAINTENANCE, now)
    settle_and_commit(window, now)  # maintenance_ended, alerts released, next occurrence
    return window


def cancel_maintenance(window):
    """Cancel a window that has not started (POST .../cancel); a series goes on without it."""
    now = utcnow()
    status = window.status_at(now)
    if status != SCHEDULED:
        raise Conflict(f"Only a window that has not started can be cancelled; this one is "
                       f"{status}.")
    window.cancelled = True
    window.updated_at = now
    sync_statuses(rules.CAUSE_MAINTENANCE, now)
    # Subscribers told it was coming are told it is not.
    record_event("maintenance_updated", MaintenanceOut().dump(window)).notify = True
    settle_and_commit(window, now)
    return window


def current_value(window, name):
    if name == "components":
        return [component.id for component in window.components]
    if name == "recurrence":
        return recurrence_of(window)
    return getattr(window, name)


def changes(window, data, names):
    """Which of ``names`` the request changes (components compare as sets: order is not a change)."""
    def same(name):
        if name == "components":
            return set(data[name]) == set(current_value(window, name))
        return data[name] == current_value(window, name)
    return [name for name in names if name in data and not same(name)]


def delete_maintenance(window):
    """Delete a window; one in progress frees its components at once (and its held alerts).

    Deleting an occurrence of a recurring window whose next one is not scheduled yet ends
    the series (cancel it instead to skip just this one).
    """
    now = utcnow()
    payload = MaintenanceOut().dump(window)
    was_running = IN_PROGRESS in (window.status_at(now), window.announced_status)
    window.components  # loaded before the delete: the alert engine reads them after it
    window_id = window.id
    db.session.delete(window)
    sync_statuses(rules.CAUSE_MAINTENANCE, now)
    record_event("maintenance_deleted", payload)
    if was_running:
        lifecycle.release_alerts([window], now)
    commit()
    lifecycle.disarm(window_id)
