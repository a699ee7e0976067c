"""/api/v1/openapi.json: the OpenAPI 3 description of the operator API."""

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app

from .. import schemas
from . import bp

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": True}}}},
}

HISTORY = ("Daily history in a time zone (default UTC), oldest day first", None,
           "MonitorHistoryOut", 200, "HistoryArgs")


def monitor_routes(path, noun, body_in, body_change, created, creatable=True):
    """The routes of one monitor kind: list, create, get, change, delete, history."""
    one = f"{path}/{{{noun}_id}}"
    out = noun.capitalize() + "Out"
    a = "an" if noun[0] in "aeiou" else "a"
    routes = [("get", path, f"List {noun} monitors by name", None, out.replace("Out", "List"),
               200, "PageArgs")]
    if creatable:
        routes.append(("post", path, f"Create {a} {noun} monitor", body_in, created, 201, None))
    return routes + [
        ("get", one, f"Get {a} {noun} monitor", None, out, 200, None),
        ("put", one, f"Change {a} {noun} monitor (partial); paused: true pauses it",
         body_change, out, 200, None),
        ("delete", one, f"Delete {a} {noun} monitor and its history; components using it keep "
                        "going with no monitor" + ("" if creatable else
                                                   "; discovery brings back a container it "
                                                   "sees again"), None, None, 204, None),
        ("get", one + "/history", *HISTORY),
    ]


MONITOR_ROUTES = [
    *monitor_routes("/endpoints", "endpoint", "EndpointIn", "EndpointChange",
                    "EndpointCreatedOut"),
    *monitor_routes("/heartbeats", "heartbeat", "HeartbeatIn", "HeartbeatIn", "HeartbeatOut"),
    *monitor_routes("/certificates", "certificate", "CertificateIn", "CertificateIn",
                    "CertificateOut"),
    # Containers are discovered: no create; deleting one forgets it until it is seen again.
    *monitor_routes("/containers", "container", None, "ContainerChange", None, creatable=False),
]

# (method, path, summary, request schema, response schema, success status, query schema)
ROUTES = [
    ("get", "/status/groups", "List component groups", None, "GroupList", 200, "PageArgs"),
    ("post", "/status/groups", "Create a group", "GroupIn", "GroupOut", 201, None),
    ("get", "/status/groups/{group_id}", "Get a group", None, "GroupOut", 200, None),
    ("put", "/status/groups/{group_id}", "Change a group (partial)", "GroupIn", "GroupOut", 200, None),
    ("delete", "/status/groups/{group_id}", "Delete a group; its components stay, ungrouped",
     None, None, 204, None),
    ("get", "/status/components", "List components", None, "ComponentList", 200, "PageArgs"),
    ("post", "/status/components", "Create a component", "ComponentIn", "ComponentOut", 201, None),
    ("get", "/status/components/{component_id}", "Get a component", None, "ComponentOut", 200, None),
    ("put", "/status/components/{component_id}", "Change a component (partial)", "ComponentIn",
     "ComponentOut", 200, None),
    ("delete", "/status/components/{component_id}", "Delete a component", None, None, 204, None),
    ("get", "/status/incidents", "List incidents, newest first", None, "IncidentList", 200,
     "IncidentListArgs"),
    ("post", "/status/incidents", "Open an incident with its first update", "IncidentIn",
     "IncidentOut", 201, None),
    ("get", "/status/incidents/{incident_id}", "Get an incident with its timeline", None,
     "IncidentOut", 200, None),
    ("put", "/status/incidents/{incident_id}", "Change title, severity or components",
     "IncidentChange", "IncidentOut", 200, None),
    ("delete", "/status/incidents/{incident_id}", "Delete an incident", None, None, 204, None),
    ("post", "/status/incidents/{incident_id}/publish",
     "Publish a draft incident (409 when it is not a draft)", None, "IncidentOut", 200, None),
    ("get", "/status/incidents/{incident_id}/updates", "An incident's timeline, newest first", None,
     "IncidentUpdateList", 200, None),
    ("post", "/status/incidents/{incident_id}/updates", "Post a timeline update",
     "IncidentUpdateIn", "IncidentUpdateOut", 201, None),
    ("get", "/status/maintenance", "List maintenance windows", None, "MaintenanceList", 200,
     "MaintenanceListArgs"),
    ("post", "/status/maintenance", "Schedule a maintenance window", "MaintenanceIn",
     "MaintenanceOut", 201, None),
    ("get", "/status/maintenance/{maintenance_id}", "Get a maintenance window", None,
     "MaintenanceOut", 200, None),
    ("put", "/status/maintenance/{maintenance_id}", "Change a window (partial)", "MaintenanceIn",
     "MaintenanceOut", 200, None),
    ("delete", "/status/maintenance/{maintenance_id}", "Delete a maintenance window", None, None,
     204, None),
    ("post", "/status/maintenance/{maintenance_id}/complete",
     "End a window in progress now (409 when it is not in progress)", None, "MaintenanceOut",
     200, None),
    ("post", "/status/maintenance/{maintenance_id}/cancel",
     "Cancel a window that has not started (409 otherwise); a series goes on without it", None,
     "MaintenanceOut", 200, None),
    ("get", "/status/subscribers", "List subscribers (emails masked unless full=1)", None,
     "SubscriberList", 200, "SubscriberListArgs"),
    ("delete", "/status/subscribers/{subscriber_id}", "Remove a subscriber", None, None, 204, None),
    ("post", "/status/subscribers/test", "Send a test message to an address (queued: 202)",
     "SubscriberTestIn", "SubscriberTestOut", 202, None),
    ("get", "/status/settings", "The page settings", None, "SettingsOut", 200, None),
    ("put", "/status/settings", "Change the page settings (partial)", "SettingsIn", "SettingsOut",
     200, None),
    *MONITOR_ROUTES,
    ("get", "/alerts", "List alerts, newest first", None, "AlertList", 200, "AlertListArgs"),
    ("get", "/alerts/{alert_id}", "Get an alert with its deliveries", None, "AlertDetailOut", 200,
     None),
    ("get", "/alert-channels", "List alert channels", None, "AlertChannelList", 200, "PageArgs"),
    ("post", "/alert-channels", "Create an alert channel (webhook or email)", "AlertChannelIn",
     "AlertChannelOut", 201, None),
    ("get", "/alert-channels/{channel_id}", "Get an alert channel", None, "AlertChannelOut", 200,
     None),
    ("put", "/alert-channels/{channel_id}", "Change an alert channel (partial)", "AlertChannelIn",
     "AlertChannelOut", 200, None),
    ("delete", "/alert-channels/{channel_id}", "Delete an alert channel and its deliveries", None,
     None, 204, None),
    ("post", "/alert-channels/{channel_id}/test", "Queue a test message to the channel (no body); "
     "the worker sends it", None, "AlertDeliveryOut", 202, None),
]

LISTS = {
    "GroupList": "GroupOut", "ComponentList": "ComponentOut", "IncidentList": "IncidentOut",
    "IncidentUpdateList": "IncidentUpdateOut", "MaintenanceList": "MaintenanceOut",
    "SubscriberList": "SubscriberOut", "EndpointList": "EndpointOut",
    "HeartbeatList": "HeartbeatOut", "CertificateList": "CertificateOut",
    "ContainerList": "ContainerOut", "AlertList": "AlertOut",
    "AlertChannelList": "AlertChannelOut",
}

ERRORS = {"400": "Malformed JSON", "401": "No or bad token", "403": "Token lacks the scope",
          "404": "Unknown id in the path", "409": "Conflict with the object's state",
          "413": "Body too large", "415": "Body is not JSON",
          "422": "Validation failed; fields names each bad field",
          "503": "A service it needs is unavailable (e.g. no mail server for a test message)"}


def schema_ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def build_spec():
    """The OpenAPI document, built from the marshmallow schemas the views use."""
    spec = APISpec(title="maintenant operator API", version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Operators drive the status page through this API. "
                                        "Send Authorization: Bearer <token>."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", ERROR)
    # A PUT's body is registered as its partial variant (register_partial), not as itself.
    used = {name for method, _, _, body, response, *_ in ROUTES
            for name in ((body if method != "put" else None), response) if name}
    for name in sorted(used - set(LISTS)) + sorted(set(LISTS.values()) - used):
        # The marshmallow plugin registers a nested schema (IncidentOut.updates ->
        # IncidentUpdateOut) under its own name when it meets it first.
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=getattr(schemas, name))
    for name, item in LISTS.items():
        spec.components.schema(name, {"type": "object", "properties": {
            "items": {"type": "array", "items": schema_ref(item)}, "total": {"type": "integer"}}})
    paths = {}
    for method, path, summary, body, response, status, query in ROUTES:
        operation = {"summary": summary, "security": [{"bearer": []}], "responses": {}}
        # Ids start at 1; the router does not match a negative one (a 404 before any auth).
        parameters = [{"in": "path", "name": name, "required": True,
                       "schema": {"type": "integer", "minimum": 1}} for name in path_params(path)]
        if query:
            parameters.append({"in": "query", "schema": getattr(schemas, query)})
        if parameters:
            operation["parameters"] = parameters
        if body:
            if method == "put":
                body = register_partial(spec, body)
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": schema_ref(body)}}}
        operation["responses"][str(status)] = (
            {"description": "Done", "content": {"application/json": {"schema": schema_ref(response)}}}
            if response else {"description": "Done"}
        )
        if status == 201 and links(path):
            operation["responses"]["201"]["links"] = links(path)
        for code, description in ERRORS.items():
            operation["responses"][code] = {"description": description, "content": {
                "application/json": {"schema": schema_ref("Error")}}}
        paths.setdefault(path, {})[method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["servers"] = [{"url": current_app.config["BASE_URL"] + bp.url_prefix}]
    return document


def register_partial(spec, name):
    """Register the body of a PUT: the fields of ``name``, none required and none defaulted,
    since a partial change leaves what it does not name as it is. Returns its name."""
    partial = name + "Partial"
    if partial not in spec.components.schemas:
        spec.components.schema(partial, schema=getattr(schemas, name)(partial=True))
        for field in spec.components.schemas[partial]["properties"].values():
            field.pop("default", None)
    return partial


def links(created):
    """OpenAPI links from a create at ``created`` to the operations on what it created: the
    new object's id fills their path (``POST /status/groups`` -> ``GET /status/groups/{group_id}``)."""
    found = {}
    for method, path, *_ in ROUTES:
        head, _, rest = path.partition(created + "/{")
        if head or not rest or len(path_params(path)) != len(path_params(created)) + 1:
            continue
        name, _, tail = rest.partition("}")
        found["_".join([method, *filter(None, tail.split("/"))])] = {
            "operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method,
            "parameters": {name: "$response.body#/id"},
        }
    return found


def path_params(path):
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


@bp.get("/openapi.json")
def openapi():
    return build_spec()
