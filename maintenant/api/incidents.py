"""/api/v1/status/incidents and their timeline updates"""

from ..schemas import (IncidentChange, IncidentIn, IncidentListArgs, IncidentOut, IncidentUpdateIn,
                       IncidentUpdateOut, list_response)
from ..services import incidents as service
from . import bp, load_args, load_body


@bp.get("/status/incidents")
def list_incidents():
    args = load_args(IncidentListArgs())
    items, total = service.list_incidents(args["status"], args["limit"], args["offset"],
                                          draft=args["draft"])
    return list_response(IncidentOut(), items, total)


@bp.post("/status/incidents")
def create_incident():
    incident = service.create_incident(load_body(IncidentIn()))
    return IncidentOut().dump(incident), 201


@bp.get("/status/incidents/<int:incident_id>")
def get_incident(incident_id):
    return IncidentOut().dump(service.get_incident(incident_id))


@bp.put("/status/incidents/<int:incident_id>")
def change_incident(incident_id):
    incident = service.get_incident(incident_id)
    incident = service.change_incident(incident, load_body(IncidentChange(), partial=True))
    return IncidentOut().dump(incident)


@bp.post("/status/incidents/<int:incident_id>/publish")
def publish_incident(incident_id):
    return IncidentOut().dump(service.publish_incident(service.get_incident(incident_id)))


@bp.delete("/status/incidents/<int:incident_id>")
def delete_incident(incident_id):
    service.delete_incident(service.get_incident(incident_id))
    return "", 204


@bp.get("/status/incidents/<int:incident_id>/updates")
def list_incident_updates(incident_id):
    incident = service.get_incident(incident_id)
    return list_response(IncidentUpdateOut(), incident.updates, len(incident.updates))


@bp.post("/status/incidents/<int:incident_id>/updates")
def post_incident_update(incident_id):
    incident = service.get_incident(incident_id)
    update = service.post_incident_update(incident, load_body(IncidentUpdateIn()))
    return IncidentUpdateOut().dump(update), 201
