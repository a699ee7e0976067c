"""/api/v1/status/subscribers"""

from ..schemas import MaskedSubscriberOut, SubscriberListArgs, SubscriberOut, list_response
from ..services import subscribers as service
from . import bp, load_args


@bp.get("/status/subscribers")
def list_subscribers():
    args = load_args(SubscriberListArgs())
    items, total = service.list_subscribers(args["confirmed"], args["limit"], args["offset"])
    schema = SubscriberOut() if args["full"] else MaskedSubscriberOut()
    return list_response(schema, items, total)


@bp.delete("/status/subscribers/<int:subscriber_id>")
def delete_subscriber(subscriber_id):
    service.delete_subscriber(service.get_subscriber(subscriber_id))
    return "", 204
