"""The probe schedule: one sorted set, each monitor once, anchored re-scoring, atomic pops."""

import threading
import time

import redis

from maintenant import jobs
from maintenant.monitors import schedule

from conftest import TEST_REDIS_URL


def entries(redis_conn):
    """{member: score} of the whole schedule."""
    return {name.decode(): score for name, score in
            redis_conn.zrange(schedule.schedule_key(), 0, -1, withscores=True)}


# --- put and remove ------------------------------------------------------------------------

def test_put_schedules_a_monitor_once_due_now(app, redis_conn):
    before = time.time()

    schedule.put("endpoint", 7, 30)

    assert list(entries(redis_conn)) == ["endpoint:7:30"]
    assert before <= entries(redis_conn)["endpoint:7:30"] <= time.time()


def test_put_again_with_the_same_interval_keeps_the_anchor(app, redis_conn):
    schedule.put("endpoint", 7, 30, first_due=1000.0)

    schedule.put("endpoint", 7, 30)
    schedule.put("endpoint", 7, 30, first_due=5000.0)

    assert entries(redis_conn) == {"endpoint:7:30": 1000.0}


def test_put_with_a_new_interval_replaces_the_member(app, redis_conn):
    schedule.put("endpoint", 7, 30, first_due=1000.0)

    schedule.put("endpoint", 7, 60, first_due=2000.0)

    assert entries(redis_conn) == {"endpoint:7:60": 2000.0}


def test_put_leaves_other_monitors_alone(app, redis_conn):
    # 7 is a prefix of 70 and 700: only endpoint 7's own member may be replaced.
    schedule.put("endpoint", 70, 30, first_due=1.0)
    schedule.put("endpoint", 700, 30, first_due=2.0)
    schedule.put("certificate", 7, 30, first_due=3.0)

    schedule.put("endpoint", 7, 45, first_due=4.0)
    schedule.put("endpoint", 7, 60, first_due=5.0)

    assert entries(redis_conn) == {"endpoint:70:30": 1.0, "endpoint:700:30": 2.0,
                                   "certificate:7:30": 3.0, "endpoint:7:60": 5.0}


def test_remove_takes_a_monitor_off(app, redis_conn):
    schedule.put("endpoint", 7, 30)
    schedule.put("endpoint", 8, 30, first_due=1.0)

    schedule.remove("endpoint", 7)
    schedule.remove("endpoint", 9)  # never scheduled: nothing happens

    assert entries(redis_conn) == {"endpoint:8:30": 1.0}


# --- reconcile ------------------------------------------------------------------------------

def test_reconcile_adds_missing_removes_stale_and_keeps_anchors(app, redis_conn):
    schedule.put("endpoint", 1, 30, first_due=1000.0)  # stays
    schedule.put("endpoint", 2, 30, first_due=1000.0)  # deleted meanwhile
    schedule.put("endpoint", 3, 30, first_due=1000.0)  # interval changed to 60
    wanted = ["endpoint:1:30", "endpoint:3:60"] + [f"endpoint:{n}:30" for n in range(10, 40)]
    before = time.time()

    assert schedule.reconcile(wanted) == (31, 2)

    scores = entries(redis_conn)
    assert set(scores) == set(wanted)
    assert scores["endpoint:1:30"] == 1000.0
    added = [scores[name] for name in wanted[2:]]
    # Spread over the first interval, not all due in the same second.
    assert all(before <= score <= time.time() + 30 for score in added)
    assert max(added) - min(added) > 20
    assert max(sum(1 for score in added if start <= score - before < start + 1)
               for start in range(30)) <= 3
    assert before <= scores["endpoint:3:60"] <= time.time() + 60


def test_reconcile_again_changes_nothing(app, redis_conn):
    wanted = [f"endpoint:{n}:30" for n in range(1, 20)] + ["certificate:1:3600"]
    schedule.reconcile(wanted)
    first = entries(redis_conn)

    assert schedule.reconcile(wanted) == (0, 0)
    assert entries(redis_conn) == first


def test_reconcile_to_nothing_empties_the_schedule(app, redis_conn):
    schedule.reconcile(["endpoint:1:30", "endpoint:2:30"])

    assert schedule.reconcile([]) == (0, 2)
    assert entries(redis_conn) == {}


def test_the_reconcile_job_rebuilds_the_schedule_from_the_database(api, redis_conn):
    """What the scheduler runs at start-up and every few minutes: the schedule ends up holding
    each probed monitor that is not paused once, at its current interval, whatever Redis held."""
    def create(path, **fields):
        response = api.post(path, json=fields)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    target = "http://127.0.0.1:9/"
    kept = create("/endpoints", name="Website", target=target, interval_seconds=30)
    edited = create("/endpoints", name="API", target=target, interval_seconds=60)
    paused = create("/endpoints", name="Legacy", target=target, interval_seconds=30, paused=True)
    certificate = create("/certificates", name="TLS", host="localhost", interval_seconds=3600)
    heartbeat = create("/heartbeats", name="Backup", interval_seconds=300, grace_seconds=60)
    deleted = create("/endpoints", name="Gone", target=target, interval_seconds=30)
    assert api.delete(f"/endpoints/{deleted}").status_code == 204
    # What Redis holds after updates were lost (an outage, a crash between commit and Redis):
    # a member kept from before, one at an old interval, one for a monitor paused since, one
    # for a monitor deleted since; the certificate's member is missing.
    redis_conn.delete(schedule.schedule_key())
    redis_conn.zadd(schedule.schedule_key(), {
        f"endpoint:{kept}:30": 1000.0, f"endpoint:{edited}:30": 1000.0,
        f"endpoint:{paused}:30": 1000.0, f"endpoint:{deleted}:30": 1000.0})

    assert jobs.reconcile_probes() == (2, 3)

    scores = entries(redis_conn)
    assert set(scores) == {f"endpoint:{kept}:30", f"endpoint:{edited}:60",
                           f"certificate:{certificate}:3600"}
    assert scores[f"endpoint:{kept}:30"] == 1000.0, "an entry that stays keeps its anchor"
    assert not any(name.startswith("heartbeat:") for name in scores), \
        f"heartbeat {heartbeat}'s deadlines are a periodic job, not a probe"

    assert jobs.reconcile_probes() == (0, 0)
    assert entries(redis_conn) == scores


# --- pop_due --------------------------------------------------------------------------------

def test_pop_due_takes_only_what_is_due_soonest_first(app, redis_conn):
    schedule.put("endpoint", 1, 30, first_due=105.0)
    schedule.put("endpoint", 2, 30, first_due=100.0)
    schedule.put("certificate", 3, 60, first_due=110.0)

    assert schedule.pop_due(now=106.0) == [("endpoint", 2, 100.0), ("endpoint", 1, 105.0)]
    assert schedule.pop_due(now=106.0) == []
    assert entries(redis_conn) == {"endpoint:1:30": 135.0, "endpoint:2:30": 130.0,
                                   "certificate:3:60": 110.0}


def test_pop_due_re_scores_anchored_to_the_due_time_not_the_pop_time(app, redis_conn):
    schedule.put("endpoint", 1, 30, first_due=1000.0)

    assert schedule.pop_due(now=1000.7) == [("endpoint", 1, 1000.0)]

    assert entries(redis_conn) == {"endpoint:1:30": 1030.0}


def test_lateness_does_not_add_up_over_many_pops(app, redis_conn):
    schedule.put("endpoint", 1, 30, first_due=1000.0)

    for k in range(120):  # an hour of checks, each popped 0.9 s late
        assert schedule.pop_due(now=1000.0 + 30 * k + 0.9) == [("endpoint", 1, 1000.0 + 30 * k)]

    assert entries(redis_conn) == {"endpoint:1:30": 1000.0 + 30 * 120}


def test_after_a_long_outage_a_member_skips_missed_slots_without_a_burst(app, redis_conn):
    schedule.put("endpoint", 1, 30, first_due=1000.0)

    assert schedule.pop_due(now=1100.0) == [("endpoint", 1, 1000.0)]
    assert entries(redis_conn) == {"endpoint:1:30": 1120.0}
    assert schedule.pop_due(now=1119.0) == []  # no catch-up checks
    assert schedule.pop_due(now=1120.0) == [("endpoint", 1, 1120.0)]
    assert entries(redis_conn) == {"endpoint:1:30": 1150.0}


def test_lookahead_pops_checks_due_shortly(app, redis_conn):
    schedule.put("endpoint", 1, 30, first_due=1001.0)
    schedule.put("endpoint", 2, 30, first_due=1002.0)

    assert schedule.pop_due(now=1000.0, lookahead=1.5) == [("endpoint", 1, 1001.0)]
    # Popped ahead of time, it still moves exactly one interval on.
    assert entries(redis_conn) == {"endpoint:1:30": 1031.0, "endpoint:2:30": 1002.0}


def test_pop_due_respects_its_limit(app, redis_conn):
    for n in range(10):
        schedule.put("endpoint", n, 30, first_due=1000.0 + n)

    first = schedule.pop_due(now=2000.0, limit=4)
    rest = schedule.pop_due(now=2000.0)

    assert [monitor_id for _, monitor_id, _ in first] == [0, 1, 2, 3]
    assert [monitor_id for _, monitor_id, _ in rest] == [4, 5, 6, 7, 8, 9]


def test_concurrent_poppers_never_take_the_same_check(app, redis_conn):
    """Threads hammering pop_due, each on its own connection, as two schedulers would."""
    start = 1_000_000.0
    wanted = [f"endpoint:{n}:30" for n in range(500)]
    redis_conn.zadd(schedule.schedule_key(),
                    {name: start + index * 30 / len(wanted) for index, name in enumerate(wanted)})
    key = schedule.schedule_key()
    popped = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def hammer():
        connection = redis.Redis.from_url(TEST_REDIS_URL)
        mine = []
        barrier.wait()
        # Simulated clocks sweep five intervals in small steps: every check falls due again.
        for step in range(1, 601):
            mine.extend(schedule.pop_due(now=start + step * 0.25, lookahead=1.5,
                                         client=connection, key=key))
        connection.close()
        with lock:
            popped.extend(mine)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    checks = [(monitor_id, due) for _, monitor_id, due in popped]
    assert len(checks) == len(set(checks)), "a check was popped twice"
    dues = {}
    for monitor_id, due in checks:
        dues.setdefault(monitor_id, []).append(due)
    assert set(dues) == set(range(500))
    for monitor_id, times in dues.items():
        first = start + monitor_id * 30 / len(wanted)
        # Anchored: every check popped is one of first, first + 30, first + 60...
        assert all(abs((due - first) / 30 - round((due - first) / 30)) < 1e-6 for due in times)


def test_simultaneous_edits_leave_one_member_per_monitor(app, redis_conn):
    """Threads saving one monitor with different intervals at once, as concurrent API edits
    would: after every round, whichever edit won, the schedule holds that monitor once."""
    intervals = [5, 10, 30, 60, 120, 300, 600, 3600]
    rounds = 100
    barrier = threading.Barrier(len(intervals))
    counts = []
    errors = []

    def count_members():
        counts.append(sum(1 for name in entries(redis_conn) if name.startswith("endpoint:7:")))

    def edit(interval):
        try:
            with app.app_context():
                for _ in range(rounds):
                    barrier.wait()  # every thread's edit of this round at once
                    schedule.put("endpoint", 7, interval)
                    if barrier.wait() == 0:  # all of them done: one thread looks
                        count_members()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            barrier.abort()
            errors.append(error)

    schedule.put("endpoint", 70, 30, first_due=1.0)  # another monitor, left alone
    threads = [threading.Thread(target=edit, args=(interval,)) for interval in intervals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(counts) == rounds
    assert set(counts) == {1}, f"{sum(c > 1 for c in counts)} rounds left duplicates"
    assert entries(redis_conn)["endpoint:70:30"] == 1.0
