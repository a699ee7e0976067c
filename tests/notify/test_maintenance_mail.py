"""Maintenance mails: scheduled, reminded, started, ended, cancelled; filtered by components."""

from datetime import timedelta

from maintenant.notify import fanout
from maintenant.services import lifecycle
from maintenant.services.maintenance import cancel_maintenance
from maintenant.services.settings import update_settings

from factories import make_component, make_maintenance

from .conftest import subscribe

HOUR = timedelta(hours=1)


def deliver(work):
    fanout.sweep()
    work()


def test_a_window_mails_its_whole_life_to_the_readers_of_its_components(mail_app, smtp_server,
                                                                      work):
    update_settings({"timezone": "Europe/Paris"})
    db_component, web = make_component("Database"), make_component("Web")
    subscribe("db@example.com", [db_component])
    subscribe("web@example.com", [web])
    window = make_maintenance("Database upgrade", [db_component], starts_in=3 * HOUR,
                              description="Expect a minute of read-only mode.")

    lifecycle.advance(window.starts_at - HOUR + timedelta(minutes=1))
    lifecycle.advance(window.starts_at + timedelta(minutes=1))
    lifecycle.advance(window.ends_at + timedelta(minutes=1))
    deliver(work)

    assert {m["To"] for m in smtp_server.messages} == {"db@example.com"}
    assert sorted(m["Subject"] for m in smtp_server.messages) == sorted([
        "[System Status] Maintenance scheduled: Database upgrade",
        "[System Status] Maintenance soon: Database upgrade",
        "[System Status] Maintenance started: Database upgrade",
        "[System Status] Maintenance completed: Database upgrade"])
    scheduled = next(m for m in smtp_server.messages if "scheduled" in m["Subject"])
    text = scheduled.get_body(("plain",)).get_content()
    assert "Expect a minute of read-only mode." in text and "Affected: Database" in text
    assert "CET" in text  # times in the page's time zone, zone named


def test_cancelling_a_window_tells_those_who_were_told_of_it(mail_app, smtp_server, work):
    subscribe("reader@example.com")
    window = make_maintenance("Network change", starts_in=5 * HOUR)
    cancel_maintenance(window)
    deliver(work)

    assert sorted(m["Subject"] for m in smtp_server.messages) == [
        "[System Status] Maintenance cancelled: Network change",
        "[System Status] Maintenance scheduled: Network change"]
