"""/api/v1/status/groups"""

from .. import status as rules
from ..schemas import GroupIn, GroupOut, PageArgs
from ..services import components as service
from ..services.statuses import effective_statuses
from . import bp, load_args, load_body
from .components import dump_components


def dump_groups(groups):
    """Groups with their components, each with its effective status."""
    members = [c for group in groups for c in group.components]
    statuses = effective_statuses(members)
    out = []
    for group in groups:
        data = GroupOut(exclude=("components", "status")).dump(group)
        data["status"] = rules.worst(statuses[c.id] for c in group.components if c.visible)
        data["components"] = dump_components(group.components, statuses)
        out.append(data)
    return out


@bp.get("/status/groups")
def list_groups():
    args = load_args(PageArgs())
    groups = service.list_groups()
    page = groups[args["offset"]:args["offset"] + args["limit"]]
    return {"items": dump_groups(page), "total": len(groups)}


@bp.post("/status/groups")
def create_group():
    group = service.create_group(load_body(GroupIn()))
    return dump_groups([group])[0], 201


@bp.get("/status/groups/<int:group_id>")
def get_group(group_id):
    return dump_groups([service.get_group(group_id)])[0]


@bp.put("/status/groups/<int:group_id>")
def update_group(group_id):
    group = service.get_group(group_id)
    group = service.update_group(group, load_body(GroupIn(), partial=True))
    return dump_groups([group])[0]


@bp.delete("/status/groups/<int:group_id>")
def delete_group(group_id):
    service.delete_group(service.get_group(group_id))
    return "", 204


