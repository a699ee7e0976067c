"""/api/v1/status/subscribers"""

from ..schemas import MaskedSubscriberOut, SubscriberListArgs, SubscriberOut, list_response
from ..schemas.subscribers import SubscriberTestIn
from ..services import subscribers as service
from . import bp, load_args, load_body


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


@bp.post("/status/subscribers/test")
def send_test_message():
    """Queue a test message to any address: proof that the SMTP settings work."""
    data = load_body(SubscriberTestIn())
    service.send_test_message(data["email"])
    return {"email": data["email"], "queued": True}, 202
