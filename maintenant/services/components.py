"""Component groups and components: create, change, delete, with their status history."""

from .. import status as rules
from ..errors import Invalid
from ..extensions import db
from ..models import Component, ComponentGroup
from .lookups import MAX_ID, get_or_404, resolve_id
from .monitors import KINDS
from .outbox import commit, record_event
from .statuses import component_event, sync_statuses

VISIBLE_ATTRIBUTES = ("name", "description", "group_id", "visible", "sort_order")


def list_groups():
    return db.session.scalars(
        db.select(ComponentGroup).order_by(ComponentGroup.sort_order, ComponentGroup.id)
    ).all()


def get_group(group_id):
    return get_or_404(ComponentGroup, group_id, "group")


def group_event(group, deleted=False):
    """The payload of a group_changed event: what the page shows of a group."""
    data = {"id": group.id, "name": group.name, "description": group.description,
            "collapsed": group.collapsed, "sort_order": group.sort_order}
    return {**data, "deleted": True} if deleted else data


def create_group(data):
    group = ComponentGroup(**data)
    db.session.add(group)
    db.session.flush()
    record_event("group_changed", group_event(group))
    commit()
    return group


def update_group(group, data):
    changed = any(getattr(group, name) != value for name, value in data.items())
    for name, value in data.items():
        setattr(group, name, value)
    if changed:
        record_event("group_changed", group_event(group))
    commit()
    return group


def delete_group(group):
    """Delete a group; its components stay, ungrouped."""
    members = list(group.components)
    for component in members:
        component.group_id = None
    record_event("group_changed", group_event(group, deleted=True))
    db.session.delete(group)
    sync_statuses(rules.CAUSE_OVERRIDE, touched=members)
    commit()


def list_components():
    return db.session.scalars(
        db.select(Component).order_by(Component.sort_order, Component.id)
    ).all()


def get_component(component_id):
    return get_or_404(Component, component_id, "component")


def check_monitor(monitor_type, monitor_id):
    """A component's monitor: a monitor_id needs a monitor_type, and must name a monitor."""
    if monitor_id is None:
        return
    if monitor_type is None:
        raise Invalid("A monitor_id needs a monitor_type.",
                      {"monitor_id": ["A monitor_id needs a monitor_type."]})
    if not 0 < monitor_id <= MAX_ID or db.session.get(KINDS[monitor_type], monitor_id) is None:
        message = f"No {monitor_type} monitor with id {monitor_id}."
        raise Invalid(message, {"monitor_id": [message]})


def create_component(data):
    resolve_id(ComponentGroup, data.get("group_id"), "group_id", "group")
    check_monitor(data.get("monitor_type"), data.get("monitor_id"))
    component = Component(**data)
    db.session.add(component)
    cause = rules.CAUSE_OVERRIDE if component.status_override else rules.CAUSE_MONITOR
    sync_statuses(cause)
    commit()
    return component


def update_component(component, data):
    """Apply a partial change; a changed override is logged with cause ``override``."""
    if "group_id" in data:
        resolve_id(ComponentGroup, data["group_id"], "group_id", "group")
    if "monitor_type" in data or "monitor_id" in data:
        check_monitor(data.get("monitor_type", component.monitor_type),
                      data.get("monitor_id", component.monitor_id))
    touched = any(name in data and data[name] != getattr(component, name)
                  for name in VISIBLE_ATTRIBUTES)
    override_changed = "status_override" in data and data["status_override"] != component.status_override
    for name, value in data.items():
        setattr(component, name, value)
    sync_statuses(rules.CAUSE_OVERRIDE if override_changed else rules.CAUSE_MONITOR,
                  touched=[component] if touched else ())
    commit()
    return component


def delete_component(component):
    if component.visible:
        record_event("component_changed",
                     {**component_event(component, component.logged_status), "visible": False,
                      "deleted": True})
    db.session.delete(component)
    sync_statuses(rules.CAUSE_OVERRIDE)
    commit()
