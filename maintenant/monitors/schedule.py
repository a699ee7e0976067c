"""The probe schedule: one Redis sorted set holding every probed monitor exactly once.

A member is ``<type>:<id>:<interval>``, scored by its next due time (epoch seconds). Putting
the interval in the member means editing it replaces the member rather than duplicating it.
The scheduler process pops what is due each second with one atomic script that also moves
each member to its next due time, anchored to the previous one (due + interval), so
lateness never adds up and two schedulers can never pop the same check twice. Putting and
removing a monitor are atomic too, so simultaneous edits never leave it there twice.
"""

import time

from ..extensions import redis_client

SCHEDULE = "probes:schedule"

# Pop members due by ARGV[1] (at most ARGV[2]); move each to its next due time, anchored to
# the previous one and past ARGV[3] (now), so a long outage of the scheduler does not cause a
# burst of catch-up checks. Returns member, due, member, due...
POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local now = tonumber(ARGV[3])
for i = 1, #due, 2 do
  local member = due[i]
  local score = tonumber(due[i + 1])
  local interval = tonumber(string.match(member, ':(%d+)$'))
  local nextdue = score + interval
  if nextdue <= now then
    nextdue = score + interval * (math.floor((now - score) / interval) + 1)
  end
  redis.call('ZADD', KEYS[1], nextdue, member)
end
return due
"""

# Replace a monitor's members (those starting with ARGV[1]) by ARGV[2], added with NX at score
# ARGV[3] so an unchanged member keeps its anchor; ARGV[2] empty: just remove them. One script,
# so two edits at once cannot both see the old member and each add their own. (MATCH is a glob:
# the prefix is compared exactly as well.) Returns how many members were removed.
REPLACE = """
local stale = {}
local cursor = '0'
repeat
  local page = redis.call('ZSCAN', KEYS[1], cursor, 'MATCH', ARGV[1] .. '*', 'COUNT', 1000)
  cursor = page[1]
  for i = 1, #page[2], 2 do
    local name = page[2][i]
    if name ~= ARGV[2] and string.sub(name, 1, #ARGV[1]) == ARGV[1] then
      stale[#stale + 1] = name
    end
  end
until cursor == '0'
if #stale > 0 then
  redis.call('ZREM', KEYS[1], unpack(stale))
end
if ARGV[2] ~= '' then
  redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[2])
end
return #stale
"""


def member(monitor_type, monitor_id, interval):
    return f"{monitor_type}:{monitor_id}:{int(interval)}"


def parse_member(text):
    """``endpoint:12:60`` -> ("endpoint", 12, 60)."""
    monitor_type, monitor_id, interval = text.split(":")
    return monitor_type, int(monitor_id), int(interval)


def schedule_key():
    return redis_client.key(SCHEDULE)


def member_prefix(monitor_type, monitor_id):
    """What every member of one monitor starts with, whatever its interval."""
    return f"{monitor_type}:{monitor_id}:"


def put(monitor_type, monitor_id, interval, first_due=None):
    """Schedule a monitor (replacing any earlier entry); its first check is due now by default.

    An entry with the same interval keeps its anchor: re-saving a monitor does not reset its
    rhythm.
    """
    first_due = time.time() if first_due is None else first_due
    _replace(member_prefix(monitor_type, monitor_id), member(monitor_type, monitor_id, interval),
             first_due)


def remove(monitor_type, monitor_id):
    """Take a monitor off the schedule (nothing happens if it is not on it)."""
    _replace(member_prefix(monitor_type, monitor_id), "", 0)


def _replace(prefix, wanted, score):
    # register_script: EVALSHA, loading the script only when Redis does not have it yet.
    redis_client.client.register_script(REPLACE)(keys=[schedule_key()],
                                                 args=[prefix, wanted, score])


def reconcile(wanted):
    """Make the schedule hold exactly ``wanted`` members (an iterable of member strings).

    Missing ones are spread over their first interval so a restart does not probe everything
    in the same second; entries that stay keep their anchor.

    Returns:
        (added, removed) counts.
    """
    client = redis_client.client
    wanted = set(wanted)
    present = {m.decode() for m in client.zrange(schedule_key(), 0, -1)}
    stale = present - wanted
    missing = sorted(wanted - present)
    now = time.time()
    pipe = client.pipeline()
    if stale:
        pipe.zrem(schedule_key(), *stale)
    for index, name in enumerate(missing):
        interval = parse_member(name)[2]
        pipe.zadd(schedule_key(), {name: now + (index * 0.618034 % 1.0) * interval}, nx=True)
    pipe.execute()
    return len(missing), len(stale)


def pop_due(now=None, lookahead=0.0, limit=5000, client=None, key=None):
    """Take the checks due by ``now + lookahead`` and move them to their next due time.

    Args:
        client, key: the Redis connection and schedule key (default: the current app's).
    Returns:
        [(monitor_type, monitor_id, due_epoch)], soonest first.
    """
    now = time.time() if now is None else now
    client = client or redis_client.client
    raw = client.eval(POP_DUE, 1, key or schedule_key(), now + lookahead, limit, now)
    due = []
    for index in range(0, len(raw), 2):
        monitor_type, monitor_id, _ = parse_member(raw[index].decode())
        due.append((monitor_type, monitor_id, float(raw[index + 1])))
    return due
