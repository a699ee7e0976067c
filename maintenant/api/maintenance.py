"""/api/v1/status/maintenance"""

from ..schemas import MaintenanceIn, MaintenanceListArgs, MaintenanceOut, list_response
from ..services import maintenance as service
from . import bp, load_args, load_body


@bp.get("/status/maintenance")
def list_maintenance():
    args = load_args(MaintenanceListArgs())
    items, total = service.list_maintenance(args["status"], args["limit"], args["offset"])
    return list_response(MaintenanceOut(), items, total)


@bp.post("/status/maintenance")
def schedule_maintenance():
    window = service.schedule_maintenance(load_body(MaintenanceIn()))
    return MaintenanceOut().dump(window), 201


@bp.get("/status/maintenance/<int:maintenance_id>")
def get_maintenance(maintenance_id):
    return MaintenanceOut().dump(service.get_maintenance(maintenance_id))


@bp.put("/status/maintenance/<int:maintenance_id>")
def change_maintenance(maintenance_id):
    window = service.get_maintenance(maintenance_id)
    window = service.change_maintenance(window, load_body(MaintenanceIn(), partial=True))
    return MaintenanceOut().dump(window)


@bp.delete("/status/maintenance/<int:maintenance_id>")
def delete_maintenance(maintenance_id):
    service.delete_maintenance(service.get_maintenance(maintenance_id))
    return "", 204


@bp.post("/status/maintenance/<int:maintenance_id>/complete")
def complete_maintenance(maintenance_id):
    window = service.complete_maintenance(service.get_maintenance(maintenance_id))
    return MaintenanceOut().dump(window)


@bp.post("/status/maintenance/<int:maintenance_id>/cancel")
def cancel_maintenance(maintenance_id):
    window = service.cancel_maintenance(service.get_maintenance(maintenance_id))
    return MaintenanceOut().dump(window)
