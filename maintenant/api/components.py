"""/api/v1/status/components"""

from ..schemas import ComponentIn, ComponentOut, PageArgs
from ..services import components as service
from ..services.statuses import effective_statuses
from . import bp, load_args, load_body


def dump_components(components, statuses=None):
    """Components as the API returns them, each with its effective ``status``."""
    statuses = statuses if statuses is not None else effective_statuses(components)
    return [{**ComponentOut(exclude=("status",)).dump(c), "status": statuses[c.id]}
            for c in components]


@bp.get("/status/components")
def list_components():
    args = load_args(PageArgs())
    components = service.list_components()
    page = components[args["offset"]:args["offset"] + args["limit"]]
    return {"items": dump_components(page), "total": len(components)}


@bp.post("/status/components")
def create_component():
    component = service.create_component(load_body(ComponentIn()))
    return dump_components([component])[0], 201


@bp.get("/status/components/<int:component_id>")
def get_component(component_id):
    return dump_components([service.get_component(component_id)])[0]


@bp.put("/status/components/<int:component_id>")
def update_component(component_id):
    component = service.get_component(component_id)
    component = service.update_component(component, load_body(ComponentIn(), partial=True))
    return dump_components([component])[0]


@bp.delete("/status/components/<int:component_id>")
def delete_component(component_id):
    service.delete_component(service.get_component(component_id))
    return "", 204
