"""/api/v1/alerts and /api/v1/alert-channels"""

from ..schemas import (AlertChannelIn, AlertChannelOut, AlertDeliveryOut, AlertDetailOut,
                       AlertListArgs, AlertOut, PageArgs, list_response)
from ..services import alert_channels as channels
from ..services import alerts as service
from . import bp, load_args, load_body


@bp.get("/alerts")
def list_alerts():
    args = load_args(AlertListArgs())
    items, total = service.list_alerts(**args)
    return list_response(AlertOut(), items, total)


@bp.get("/alerts/<int:alert_id>")
def get_alert(alert_id):
    return AlertDetailOut().dump(service.get_alert(alert_id))


@bp.get("/alert-channels")
def list_alert_channels():
    args = load_args(PageArgs())
    items, total = channels.list_channels(args["limit"], args["offset"])
    return list_response(AlertChannelOut(), items, total)


@bp.post("/alert-channels")
def create_alert_channel():
    channel = channels.create_channel(load_body(AlertChannelIn()))
    return AlertChannelOut().dump(channel), 201


@bp.get("/alert-channels/<int:channel_id>")
def get_alert_channel(channel_id):
    return AlertChannelOut().dump(channels.get_channel(channel_id))


@bp.put("/alert-channels/<int:channel_id>")
def change_alert_channel(channel_id):
    channel = channels.get_channel(channel_id)
    channel = channels.change_channel(channel, load_body(AlertChannelIn(), partial=True))
    return AlertChannelOut().dump(channel)


@bp.delete("/alert-channels/<int:channel_id>")
def delete_alert_channel(channel_id):
    channels.delete_channel(channels.get_channel(channel_id))
    return "", 204


@bp.post("/alert-channels/<int:channel_id>/test")
def test_alert_channel(channel_id):
    delivery = channels.send_test(channels.get_channel(channel_id))
    return AlertDeliveryOut().dump(delivery), 202
