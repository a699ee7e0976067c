"""The page's template filters: local times with the zone named, labels."""

from datetime import datetime, timezone

from maintenant.public.render import label, local_time, utc_iso, zone_name


def test_local_time_names_the_zone_and_follows_summer_time():
    assert local_time("2026-11-27T13:03:00+00:00", "Europe/Paris") == "27 Nov 2026, 14:03 CET"
    assert local_time("2026-07-01T13:03:00+00:00", "Europe/Paris") == "1 Jul 2026, 15:03 CEST"
    assert local_time("2026-07-01T13:03:00Z", "UTC") == "1 Jul 2026, 13:03 UTC"
    assert local_time(datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc), "America/New_York") == \
        "1 Jan 2026, 22:04 EST"


def test_local_time_of_a_span_end_drops_the_date_on_the_same_local_day():
    start = "2026-11-27T13:00:00+00:00"
    assert local_time("2026-11-27T15:00:00+00:00", "Europe/Paris", start) == "16:00 CET"
    assert local_time("2026-11-27T23:30:00+00:00", "Europe/Paris", start) == \
        "28 Nov 2026, 00:30 CET"


def test_an_unknown_zone_falls_back_to_utc():
    assert local_time("2026-11-27T13:03:00+00:00", "Mars/Olympus") == "27 Nov 2026, 13:03 UTC"
    assert zone_name("Mars/Olympus") == "UTC"
    assert zone_name("Europe/Paris") == "Europe/Paris"


def test_utc_iso_is_for_time_elements():
    assert utc_iso("2026-11-27T14:03:09.123456+01:00") == "2026-11-27T13:03:09Z"
    assert utc_iso(None) == ""


def test_labels():
    assert label("partial_outage") == "Partial outage"
    assert label("in_progress") == "In progress"
    assert label("something_new") == "Something new"
