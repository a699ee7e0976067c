"""Maintenance windows: schedule, move, cancel; their status comes from the clock."""

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
        frozen = [name for name in ("starts_at", "components", "cancelled")
                  if name in data and data[name] != current_value(window, name)]
        if frozen:
            raise Conflict("This window is in progress: only its end may move "
                           f"(not {', '.join(frozen)}).", {name: ["Cannot change while in progress."]
                                                         for name in frozen})
        if ends_at < now:
            raise Invalid("An end in the past would rewrite history; end it now instead.",
                          {"ends_at": ["Must not be in the past for a window in progress."]})
    elif status in (COMPLETED, CANCELLED):
        frozen = [name for name in ("starts_at", "ends_at", "components", "cancelled")
                  if name in data and data[name] != current_value(window, name)]
        if frozen:
            raise Conflict(f"This window is {status}: its times and components are history.",
                           {name: [f"Cannot change a {status} window."] for name in frozen})
    if ends_at <= starts_at:
        raise Invalid("ends_at must be after starts_at.", {"ends_at": ["Must be after starts_at."]})
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


def delete_maintenance(window):
    payload = MaintenanceOut().dump(window)
    db.session.delete(window)
    sync_statuses(rules.CAUSE_MAINTENANCE)
    record_event("maintenance_deleted", payload)
    commit()
