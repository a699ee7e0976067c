"""Status events on Redis: publish to the pub/sub channel and keep a short replay backlog."""

import json

from .extensions import EVENTS_BACKLOG, EVENTS_CHANNEL, redis_client

BACKLOG_SIZE = 1000
EVENT_PREFIX = "status."


def wire_name(kind):
    """``component_changed`` -> ``status.component_changed``, the name on the wire."""
    return EVENT_PREFIX + kind


def encode(event_id, kind, data):
    return json.dumps({"id": event_id, "event": wire_name(kind), "data": data},
                      separators=(",", ":"), default=str)


def publish(events):
    """Publish ``(id, kind, data)`` events in order, in one round trip.

    Raises:
        redis.RedisError: when Redis cannot be reached; the caller keeps the events.
    """
    if not events:
        return
    client = redis_client.client
    channel = redis_client.key(EVENTS_CHANNEL)
    backlog = redis_client.key(EVENTS_BACKLOG)
    pipe = client.pipeline(transaction=False)
    for event_id, kind, data in events:
        message = encode(event_id, kind, data)
        pipe.zadd(backlog, {message: event_id})
        pipe.publish(channel, message)
    pipe.zremrangebyrank(backlog, 0, -BACKLOG_SIZE - 1)
    pipe.execute()
