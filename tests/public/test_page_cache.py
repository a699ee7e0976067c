"""The page cache: /status/ and /status/api rendered once per change, in fixed queries."""

import re
import time
from datetime import timedelta

import pytest

from conftest import make_config
from factories import counting_queries, make_component, make_group, make_incident, make_maintenance
from maintenant import create_app
from maintenant.events import get_broker, newest_event_id, stop_broker
from maintenant.extensions import db
from maintenant.models import Incident, utcnow
from maintenant.public import cache
from maintenant.public.cache import API, PAGE, PageCache, next_clock_change, page_cache
from maintenant.services.components import get_component, update_component, update_group
from maintenant.services.incidents import post_incident_update
from maintenant.services.maintenance import change_maintenance

WAIT = 5
PATHS = ("/status/", "/status/api")




@pytest.fixture
def live(app):
    """The app's broker, subscribed: the cache may be used."""
    broker = get_broker()
    assert broker.wait_until_healthy(WAIT)
    yield broker
    stop_broker(app)


def settled(broker):
    """Wait until the broker has heard every event so far: none will drop the cache later."""
    deadline = time.monotonic() + WAIT
    while broker.last_event_id < newest_event_id():
        assert time.monotonic() < deadline, "the broker never heard the events"
        time.sleep(0.01)


def queries_for(client, path, **kwargs):
    with counting_queries() as statements:
        response = client.get(path, **kwargs)
    assert response.status_code in (200, 304)
    return len(statements), response


def status_of(client):
    return client.get("/status/api").get_json()["components"][0]["status"]


def headline_of(client):
    """The overall status the HTML page shows."""
    page = client.get("/status/").get_data(as_text=True)
    return re.search(r'class="banner status-([a-z_]+)" id="overall"', page).group(1)


# Served from the cache


@pytest.mark.parametrize("path", PATHS)
def test_a_second_request_runs_no_query(client, live, path):
    make_component("API")
    settled(live)
    first_count, first = queries_for(client, path)

    second_count, second = queries_for(client, path)

    assert first_count > 0
    assert second_count == 0
    assert second.get_data() == first.get_data()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers.get("Content-Security-Policy") == \
        first.headers.get("Content-Security-Policy")


@pytest.mark.parametrize("path", PATHS)
def test_a_cached_response_answers_304_to_its_etag(client, live, path):
    etag = client.get(path).headers["ETag"]

    count, again = queries_for(client, path, headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert count == 0
    assert "no-cache" in again.headers["Cache-Control"]


def test_a_write_in_this_process_is_seen_at_once(client, live):
    component = make_component("API")
    tags = {path: client.get(path).headers["ETag"] for path in PATHS}

    update_component(get_component(component.id), {"status_override": "major_outage"})

    assert status_of(client) == "major_outage"
    for path, etag in tags.items():
        response = client.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 200 and response.headers["ETag"] != etag


def test_an_event_from_another_process_drops_the_cache(client, live, database_url):
    component_id = make_component("API").id
    settled(live)
    assert status_of(client) == "operational"
    assert queries_for(client, "/status/api")[0] == 0, "cached"

    other = create_app(make_config(database_url))  # another web process, same DB and Redis
    with other.app_context():
        update_component(get_component(component_id), {"status_override": "degraded"})
        db.session.remove()
        db.engine.dispose()

    deadline = time.monotonic() + WAIT
    while status_of(client) != "degraded":
        assert time.monotonic() < deadline, "the page stayed stale"
        time.sleep(0.02)


def test_a_group_or_description_change_reaches_the_page(client, live):
    # Needs the group_changed event and "description" among the visible attributes
    # (services.components): a change that records no event leaves every cache stale.
    group = make_group("Core")
    component = make_component("API", group_id=group.id)
    settled(live)
    client.get("/status/api")

    update_group(group, {"name": "Platform"})
    update_component(get_component(component.id), {"description": "The public API"})

    shown = client.get("/status/api").get_json()["groups"][0]
    assert (shown["name"], shown["components"][0]["description"]) == ("Platform",
                                                                       "The public API")


def test_nothing_is_cached_while_the_broker_is_down(app, client, live):
    make_component("API")
    client.get("/status/api")
    live.stop()

    assert not live.healthy
    for path in PATHS:
        assert queries_for(client, path)[0] > 0
        assert queries_for(client, path)[0] > 0


def test_nothing_is_cached_before_the_broker_is_live(app, client, monkeypatch):
    monkeypatch.setattr(type(get_broker()), "healthy", property(lambda self: False))

    for path in PATHS:
        assert queries_for(client, path)[0] > 0
        assert queries_for(client, path)[0] > 0
    stop_broker(app)


def test_a_page_request_starts_the_broker(app, client):
    client.get("/status/")

    assert get_broker().started
    stop_broker(app)


# The cache's bookkeeping


def test_a_render_that_began_before_a_change_is_not_kept():
    store = PageCache()
    generation = store.generation
    store.invalidate()  # an event arrived while the render ran

    assert store.put(PAGE, cache.Rendered(b"old", [], 1, None), generation) is False
    assert store.get(PAGE, utcnow()) is None
    assert store.put(PAGE, cache.Rendered(b"new", [], 2, None), store.generation) is True
    assert store.get(PAGE, utcnow()).body == b"new"


def test_the_cache_is_one_per_app_and_hears_the_broker(app, live):
    store = page_cache()
    assert page_cache() is store
    store.put(API, cache.Rendered(b"x", [], 0, None), store.generation)

    live.changed()

    assert store.get(API, utcnow()) is None


# The clock


class Clock:
    """Moves the time the page is rendered at (cache.utcnow) without touching anything else."""

    def __init__(self, monkeypatch):
        self.offset = timedelta()
        monkeypatch.setattr(cache, "utcnow", lambda: utcnow() + self.offset)

    def advance(self, delta):
        self.offset += delta


def maintenance_of(client):
    return [(window["title"], window["status"]) for window in
            client.get("/status/api").get_json()["maintenance"]]


def test_the_page_changes_when_a_window_starts_and_ends(client, live, monkeypatch):
    clock = Clock(monkeypatch)
    component = make_component("Database")
    make_maintenance("Upgrade", [component], starts_in=timedelta(minutes=10),
                     lasts=timedelta(minutes=30))
    settled(live)
    assert maintenance_of(client) == [("Upgrade", "scheduled")]
    assert queries_for(client, "/status/api")[0] == 0, "cached until the window starts"

    assert headline_of(client) == "operational"
    assert queries_for(client, "/status/")[0] == 0

    clock.advance(timedelta(minutes=11))
    assert maintenance_of(client) == [("Upgrade", "in_progress")]
    assert status_of(client) == "maintenance"
    assert headline_of(client) == "maintenance"

    clock.advance(timedelta(minutes=30))
    assert maintenance_of(client) == []
    assert status_of(client) == "operational"
    assert headline_of(client) == "operational"


def test_the_page_changes_when_a_resolved_incident_gets_old(app, client, live, monkeypatch):
    clock = Clock(monkeypatch)
    incident = make_incident("Outage")
    post_incident_update(incident, {"status": "resolved", "message": "Fixed."})
    assert len(client.get("/status/api").get_json()["resolved_incidents"]) == 1

    clock.advance(timedelta(days=app.config["RESOLVED_INCIDENT_DAYS"], seconds=-5))
    assert len(client.get("/status/api").get_json()["resolved_incidents"]) == 1
    clock.advance(timedelta(seconds=10))
    assert client.get("/status/api").get_json()["resolved_incidents"] == []


def test_next_clock_change_is_the_earliest_start_end_or_incident_leaving(app):
    now = utcnow()
    assert next_clock_change(now) is None
    component = make_component("Database")
    running = make_maintenance("Running", [component], starts_in=timedelta(minutes=-5),
                               lasts=timedelta(hours=2))
    make_maintenance("Later", [component], starts_in=timedelta(hours=1))
    cancelled = make_maintenance("Cancelled", [component], starts_in=timedelta(minutes=10))
    change_maintenance(cancelled, {"cancelled": True})
    now = utcnow()

    assert abs(next_clock_change(now) - (now + timedelta(hours=1))) < timedelta(seconds=5)

    incident = make_incident("Outage")
    post_incident_update(incident, {"status": "resolved", "message": "Fixed."})
    db.session.get(Incident, incident.id).resolved_at = now - timedelta(days=7) + \
        timedelta(minutes=3)
    db.session.commit()

    assert next_clock_change(now) == incident.resolved_at + timedelta(days=7)
    assert next_clock_change(running.ends_at) is None or \
        next_clock_change(running.ends_at) > running.ends_at


def test_the_snapshot_id_is_the_newest_event_when_rendering_began(app, live):
    make_component("API")

    entry = cache.rendered(API)

    assert entry.event_id == newest_event_id()


# Queries: a fixed number, however big the page


def build_page(groups, per_group, incidents, updates, windows):
    components = []
    for g in range(groups):
        group = make_group(f"Group {g}")
        components += [make_component(f"Component {g}.{c}", group_id=group.id)
                       for c in range(per_group)]
    components.append(make_component("Ungrouped"))
    for i in range(incidents):
        incident = make_incident(f"Incident {i}", components_=components[i:i + 3])
        for u in range(updates - 1):
            post_incident_update(incident, {"status": "identified", "message": f"Update {u}"})
    for w in range(windows):  # the first one in progress, the others upcoming
        make_maintenance(f"Window {w}", components[w:w + 2],
                         starts_in=timedelta(hours=w) - timedelta(minutes=30))
    resolved = make_incident("Old news", components_=components[:1])
    post_incident_update(resolved, {"status": "resolved", "message": "Fixed."})


def uncached_queries(client, path):
    page_cache().invalidate()
    count, _ = queries_for(client, path)
    return count


@pytest.mark.parametrize("path", PATHS)
def test_one_render_runs_the_same_queries_however_big_the_page(app, client, live, path):
    build_page(groups=1, per_group=2, incidents=1, updates=1, windows=1)
    small = uncached_queries(client, path)
    db.session.expire_all()

    build_page(groups=8, per_group=5, incidents=10, updates=5, windows=5)
    large = uncached_queries(client, path)

    page = client.get("/status/").get_data(as_text=True)
    assert len(re.findall(r'id="component-\d+"', page)) == 2 + 1 + 40 + 1
    assert len(client.get("/status/api").get_json()["incidents"]) == 11
    assert small == large, f"{small} queries for a small page, {large} for a large one"
