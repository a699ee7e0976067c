"""/api/v1/endpoints, /heartbeats, /certificates, /containers and their daily history"""

from flask import g

from ..schemas import (CertificateIn, CertificateOut, ContainerChange, ContainerOut,
                       EndpointChange, EndpointCreatedOut, EndpointIn, EndpointOut, HeartbeatIn,
                       HeartbeatOut, HistoryArgs, MonitorHistoryOut, PageArgs, list_response)
from ..services import monitor_config as service
from ..services.monitor_history import daily_history
from . import bp, load_args, load_body


MASKED = "***"


def for_caller(item):
    """Request headers often carry credentials: a read-only token sees their names, not values."""
    if "headers" in item and not g.principal.can_write:
        item["headers"] = {name: MASKED for name in item["headers"]}
    return item


def list_monitors(monitor_type, schema):
    args = load_args(PageArgs())
    items, total = service.list_monitors(monitor_type, args["limit"], args["offset"])
    listing = list_response(schema, items, total)
    listing["items"] = [for_caller(item) for item in listing["items"]]
    return listing


def get_monitor(monitor_type, monitor_id, schema):
    return for_caller(schema.dump(service.get_monitor(monitor_type, monitor_id)))


def update_monitor(monitor_type, monitor_id, schema_in, schema_out):
    monitor = service.get_monitor(monitor_type, monitor_id)
    return schema_out.dump(service.update_monitor(monitor, load_body(schema_in, partial=True)))


def delete_monitor(monitor_type, monitor_id):
    service.delete_monitor(service.get_monitor(monitor_type, monitor_id))
    return "", 204


def monitor_history(monitor_type, monitor_id):
    monitor = service.get_monitor(monitor_type, monitor_id)
    args = load_args(HistoryArgs())
    return MonitorHistoryOut().dump(daily_history(monitor, args["days"], args["tz"]))


# --- endpoints --------------------------------------------------------------------------------

@bp.get("/endpoints")
def list_endpoints():
    return list_monitors("endpoint", EndpointOut())


@bp.post("/endpoints")
def create_endpoint():
    endpoint, certificate = service.create_endpoint(load_body(EndpointIn()))
    return {**EndpointCreatedOut().dump(endpoint),
            "certificate_id": certificate.id if certificate else None}, 201


@bp.get("/endpoints/<int:endpoint_id>")
def get_endpoint(endpoint_id):
    return get_monitor("endpoint", endpoint_id, EndpointOut())


@bp.put("/endpoints/<int:endpoint_id>")
def update_endpoint(endpoint_id):
    return update_monitor("endpoint", endpoint_id, EndpointChange(), EndpointOut())


@bp.delete("/endpoints/<int:endpoint_id>")
def delete_endpoint(endpoint_id):
    return delete_monitor("endpoint", endpoint_id)


@bp.get("/endpoints/<int:endpoint_id>/history")
def endpoint_history(endpoint_id):
    return monitor_history("endpoint", endpoint_id)


# --- heartbeats -------------------------------------------------------------------------------

@bp.get("/heartbeats")
def list_heartbeats():
    return list_monitors("heartbeat", HeartbeatOut())


@bp.post("/heartbeats")
def create_heartbeat():
    return HeartbeatOut().dump(service.create_heartbeat(load_body(HeartbeatIn()))), 201


@bp.get("/heartbeats/<int:heartbeat_id>")
def get_heartbeat(heartbeat_id):
    return get_monitor("heartbeat", heartbeat_id, HeartbeatOut())


@bp.put("/heartbeats/<int:heartbeat_id>")
def update_heartbeat(heartbeat_id):
    return update_monitor("heartbeat", heartbeat_id, HeartbeatIn(), HeartbeatOut())


@bp.delete("/heartbeats/<int:heartbeat_id>")
def delete_heartbeat(heartbeat_id):
    return delete_monitor("heartbeat", heartbeat_id)


@bp.get("/heartbeats/<int:heartbeat_id>/history")
def heartbeat_history(heartbeat_id):
    return monitor_history("heartbeat", heartbeat_id)


# --- certificates -----------------------------------------------------------------------------

@bp.get("/certificates")
def list_certificates():
    return list_monitors("certificate", CertificateOut())


@bp.post("/certificates")
def create_certificate():
    return CertificateOut().dump(service.create_certificate(load_body(CertificateIn()))), 201


@bp.get("/certificates/<int:certificate_id>")
def get_certificate(certificate_id):
    return get_monitor("certificate", certificate_id, CertificateOut())


@bp.put("/certificates/<int:certificate_id>")
def update_certificate(certificate_id):
    return update_monitor("certificate", certificate_id, CertificateIn(), CertificateOut())


@bp.delete("/certificates/<int:certificate_id>")
def delete_certificate(certificate_id):
    return delete_monitor("certificate", certificate_id)


@bp.get("/certificates/<int:certificate_id>/history")
def certificate_history(certificate_id):
    return monitor_history("certificate", certificate_id)


# --- containers (discovered, never created here) ----------------------------------------------

@bp.get("/containers")
def list_containers():
    return list_monitors("container", ContainerOut())


@bp.get("/containers/<int:container_id>")
def get_container(container_id):
    return get_monitor("container", container_id, ContainerOut())


@bp.put("/containers/<int:container_id>")
def update_container(container_id):
    return update_monitor("container", container_id, ContainerChange(), ContainerOut())


@bp.delete("/containers/<int:container_id>")
def delete_container(container_id):
    return delete_monitor("container", container_id)


@bp.get("/containers/<int:container_id>/history")
def container_history(container_id):
    return monitor_history("container", container_id)
