"""Alert channels: where alerts go (a webhook URL or email addresses), and their test message."""

from ..errors import Invalid
from ..extensions import db
from ..models import AlertChannel, AlertDelivery, utcnow
from ..models.alerts import PENDING
from .alert_delivery import payload_for, settle_alert
from .alerts import new_delivery
from .lookups import get_or_404, paginate
from .outbox import commit

TEST_MESSAGE = "This is a test from maintenant: alerts sent to this channel reach it."


def list_channels(limit=50, offset=0):
    return paginate(db.select(AlertChannel).order_by(AlertChannel.id), limit, offset)


def get_channel(channel_id):
    return get_or_404(AlertChannel, channel_id, "alert channel")


def create_channel(data):
    now = utcnow()
    channel = AlertChannel(created_at=now, enabled=True)
    apply(channel, data, now)
    db.session.add(channel)
    commit()
    return channel


def change_channel(channel, data):
    """A partial change; changing the type clears what belonged to the old one."""
    apply(channel, data, utcnow())
    commit()
    return channel


def apply(channel, data, now):
    """Set a channel's fields from validated input; a webhook needs a url, an email channel
    addresses, and neither takes the other's fields (422 naming them)."""
    kind = data.get("type", channel.type)
    errors = {}
    if kind == "webhook":
        if "addresses" in data:
            errors["addresses"] = ["Only for an email channel."]
        url = data.get("url", channel.url)
        if not url:
            errors["url"] = ["A webhook channel needs a url."]
    else:
        for name in ("url", "secret"):
            if data.get(name) is not None:
                errors[name] = ["Only for a webhook channel."]
        addresses = data.get("addresses", channel.addresses if channel.type == kind else None)
        if not addresses:
            errors["addresses"] = ["An email channel needs at least one address."]
    if errors:
        raise Invalid("This channel's fields do not fit its type.", errors)
    for name in ("name", "enabled"):
        if name in data:
            setattr(channel, name, data[name])
    if kind == "webhook":
        channel.url = url
        channel.secret = data.get("secret", channel.secret if channel.type == kind else None)
        channel.addresses = []
    else:
        channel.addresses = list(addresses)
        channel.url = channel.secret = None
    channel.type = kind
    channel.updated_at = now


def delete_channel(channel):
    """Delete a channel and its deliveries; alerts that waited only on it are settled."""
    waiting = set(db.session.scalars(
        db.select(AlertDelivery.alert_id).where(AlertDelivery.channel_id == channel.id,
                                                AlertDelivery.status == PENDING,
                                                AlertDelivery.alert_id.is_not(None))))
    db.session.execute(db.delete(AlertDelivery).where(AlertDelivery.channel_id == channel.id))
    db.session.delete(channel)
    for alert_id in waiting:
        settle_alert(alert_id)
    commit()


def send_test(channel):
    """Queue a test message to a channel (enabled or not): {"event": "test", ...}.

    Returns:
        The pending delivery; the worker sends it.
    """
    now = utcnow()
    document = {"event": "test", "message": TEST_MESSAGE,
                "channel": {"id": channel.id, "name": channel.name, "type": channel.type},
                "created_at": now.isoformat()}
    delivery = new_delivery(channel, payload_for(channel, document), now)
    commit()
    return delivery
