"""Maintenance windows: schedule, move, cancel; their status comes from the clock."""

from datetime import timedelta

from .. import status as rules
from ..errors import Conflict, Invalid
from ..extensions import db
from ..models import Component, MaintenanceWindow, utcnow
from ..models.maintenance import CANCELLED, COMPLETED, IN_PROGRESS, SCHEDULED
from ..schemas import MaintenanceOut
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


def schedule_maintenance(data):
    now = utcnow()
    window = M(title=data["title"], description=data["description"],
               starts_at=data["starts_at"], ends_at=data["ends_at"],
               cancelled=data["cancelled"], created_at=now, updated_at=now)
    window.components = resolve_ids(Component, data["components"], "components", "component")
    db.session.add(window)
    sync_statuses(rules.CAUSE_MAINTENANCE, now)
    record_event("maintenance_scheduled", MaintenanceOut().dump(window))
    commit()
    return window


def change_maintenance(window, data):
    """Change a window. Once it has started only its end may move (not into the past);
    a finished or cancelled window keeps its times and components."""
    now = utcnow()
    status = window.status_at(now)
    starts_at = data.get("starts_at", window.starts_at)
    ends_at = data.get("ends_at", window.ends_at)
    if status == IN_PROGRESS:
        frozen = changes(window, data, ("starts_at", "components", "cancelled"))
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
        frozen = changes(window, data, ("starts_at", "ends_at", "components", "cancelled"))
        if frozen:
            raise Conflict(f"This window is {status}: its times and components are history.",
                           {name: [f"Cannot change a {status} window."] for name in frozen})
    if ends_at <= starts_at:
        # Name the field the request moved, so a start moved past the end is blamed on the start.
        blamed = ({"starts_at": ["Must be before ends_at."]} if "ends_at" not in data
                  else {"ends_at": ["Must be after starts_at."]})
        raise Invalid("ends_at must be after starts_at.", blamed)
    if "components" in data:
        window.components = resolve_ids(Component, data["components"], "components", "component")
    for name in ("title", "description", "starts_at", "ends_at", "cancelled"):
        if name in data:
            setattr(window, name, data[name])
    window.updated_at = now
    sync_statuses(rules.CAUSE_MAINTENANCE, now)
    record_event("maintenance_updated", MaintenanceOut().dump(window))
    commit()
    return window


def current_value(window, name):
    if name == "components":
        return [component.id for component in window.components]
    return getattr(window, name)


def changes(window, data, names):
    """Which of ``names`` the request changes (components compare as sets: order is not a change)."""
    def same(name):
        if name == "components":
            return set(data[name]) == set(current_value(window, name))
        return data[name] == current_value(window, name)
    return [name for name in names if name in data and not same(name)]


def delete_maintenance(window):
    payload = MaintenanceOut().dump(window)
    db.session.delete(window)
    sync_statuses(rules.CAUSE_MAINTENANCE)
    record_event("maintenance_deleted", payload)
    commit()
