"""Fixed-window rate limits in Redis, shared by every web process.

A limit is a number of hits per window for one key (a client address, an email address).
Counting happens in Redis so that scaling out to more web processes does not multiply it.
"""

import time

from .extensions import redis_client


def allow(name, subject, limit, window_seconds, now=None):
    """Count one hit of ``subject`` against limit ``name``; whether it is within the limit.

    Args:
        name: which limit ("signup-address", "signup-email", ...).
        subject: who is counted (a client address, an email address).
        limit: hits allowed per window; 0 or less means no limit.
    Raises:
        redis.RedisError: when Redis cannot count (callers decide whether to fail open).
    """
    if limit <= 0:
        return True
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    key = redis_client.key(f"ratelimit:{name}:{window}:{subject}")
    pipe = redis_client.client.pipeline()
    pipe.incr(key)
    pipe.expire(key, int(window_seconds) + 1)
    count, _ = pipe.execute()
    return count <= limit
