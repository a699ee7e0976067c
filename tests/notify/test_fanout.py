"""Subscriber notifications through a real SMTP server: fan-out, batches, the ledger, failures."""

import logging
from datetime import timedelta

from maintenant.extensions import QUEUE_NOTIFICATIONS, db, get_queue
from maintenant.models import NotificationDelivery, OutboxEvent, Subscriber, utcnow
from maintenant.notify import fanout
from maintenant.schemas import IncidentOut
from maintenant.services.outbox import commit, record_event

from factories import make_component, make_incident

from .conftest import InProcessWorker, subscribe, subscribe_many


def notify_about(incident, kind="incident_created"):
    """Record an event that owes its subscribers an email, as the services do."""
    event = record_event(kind, IncidentOut().dump(incident))
    event.notify = True
    commit()
    return event


def delivered_to(smtp_server):
    return sorted(smtp_server.recipients())


def test_every_subscriber_gets_one_email_in_batches_sharing_a_connection(mail_app, smtp_server,
                                                                        work):
    subscribe_many(250)
    event = notify_about(make_incident("Database down", "critical"))

    assert fanout.sweep() == 1
    work()

    assert len(smtp_server.messages) == 250
    assert len(set(smtp_server.recipients())) == 250
    assert smtp_server.connections == 3  # batches of 100, one SMTP session each
    assert db.session.get(OutboxEvent, event.id).notified_at is not None
    assert db.session.scalar(db.select(db.func.count(NotificationDelivery.id))) == 250


def test_the_email_says_what_happened_and_carries_one_click_unsubscribe(mail_app, smtp_server,
                                                                       work):
    web = make_component("Web <b>app</b>")
    reader = subscribe("reader@example.com")
    notify_about(make_incident("Checkout <script>alert(1)</script>", "major", [web],
                               message="Payments & cards fail <img src=x onerror=alert(1)>"))

    fanout.sweep()
    work()

    [message] = smtp_server.messages
    assert message["To"] == "reader@example.com"
    assert message["Subject"].startswith("[System Status] Incident: Checkout")
    unsubscribe = f"http://status.test/status/subscription/{reader.manage_token}/unsubscribe"
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Payments & cards fail" in text and "Web <b>app</b>" in text
    assert "<script>" not in html and "<img src=x" not in html and "<b>app" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html
    assert f"/status/subscription/{reader.manage_token}" in html


def test_subscribers_who_chose_components_hear_only_about_those(mail_app, smtp_server, work):
    api, web = make_component("API"), make_component("Web")
    subscribe("api@example.com", [api])
    subscribe("web@example.com", [web])
    subscribe("all@example.com")

    notify_about(make_incident("API errors", "minor", [api]))
    fanout.sweep()
    work()

    assert delivered_to(smtp_server) == ["all@example.com", "api@example.com"]


def test_a_batch_run_twice_sends_nothing_twice(mail_app, smtp_server, work):
    subscribe_many(5)
    event = notify_about(make_incident())
    ids = db.session.scalars(db.select(Subscriber.id)).all()

    assert fanout.send_batch(event.id, ids) == 5
    assert fanout.send_batch(event.id, ids) == 0

    assert len(smtp_server.messages) == 5


def test_a_permanent_rejection_is_recorded_and_stops_mail_to_that_address(mail_app, smtp_server,
                                                                          work):
    reader = subscribe("gone@example.com")
    smtp_server.refuse = "550 5.1.1 No such mailbox"
    notify_about(make_incident("First"))
    fanout.sweep()
    work()

    gone = db.session.get(Subscriber, reader.id)
    assert gone.undeliverable_at is not None and "550" in gone.last_error
    [entry] = db.session.scalars(db.select(NotificationDelivery)).all()
    assert entry.status == "rejected"

    smtp_server.refuse = None
    notify_about(make_incident("Second"))
    fanout.sweep()
    work()
    assert smtp_server.messages == []


def test_a_temporary_failure_schedules_the_batch_again(mail_app, smtp_server, work, redis_conn):
    from rq_scheduler import Scheduler

    subscribe_many(3)
    smtp_server.refuse = "451 4.3.0 Try again later"
    event = notify_about(make_incident())
    fanout.sweep()
    work()

    assert smtp_server.messages == []
    assert db.session.scalar(db.select(db.func.count(NotificationDelivery.id))) == 0
    [retry] = Scheduler(connection=redis_conn).get_jobs()
    assert retry.func_name == "maintenant.jobs.send_batch"
    assert retry.args[0] == event.id and len(retry.args[1]) == 3 and retry.args[2] == 1

    smtp_server.refuse = None
    assert fanout.send_batch(*retry.args) == 3  # as the scheduler will run it
    assert len(smtp_server.messages) == 3


def test_an_event_that_owes_no_mail_sends_none(mail_app, smtp_server, work):
    subscribe("reader@example.com")
    record_event("incident_created", IncidentOut().dump(make_incident()))
    commit()

    assert fanout.sweep() == 0
    work()
    assert smtp_server.messages == []


def test_without_a_mail_server_notifications_are_skipped_with_a_log_line(app, work, caplog):
    app.config["SMTP_HOST"] = None
    subscribe("reader@example.com")
    event = notify_about(make_incident())

    with caplog.at_level(logging.INFO, logger="maintenant.notify.fanout"):
        fanout.sweep()
        work()

    assert db.session.get(OutboxEvent, event.id).notified_at is not None
    assert any("no SMTP_HOST" in record.getMessage() for record in caplog.records)


def test_unconfirmed_and_unsubscribed_addresses_get_nothing(mail_app, smtp_server, work):
    from maintenant.services import subscriptions

    subscriptions.sign_up("pending@example.com", [])
    leaving = subscribe("leaving@example.com")
    subscriptions.unsubscribe(leaving)
    subscribe("stays@example.com")

    notify_about(make_incident())
    fanout.sweep()
    work()

    assert delivered_to(smtp_server) == ["stays@example.com"]


def test_a_batch_held_by_another_run_is_left_to_it(mail_app, smtp_server, redis_conn):
    subscribe_many(3)
    event = notify_about(make_incident())
    ids = db.session.scalars(db.select(Subscriber.id)).all()
    other_run = fanout.Lease(f"notify-lease:{event.id}:{min(ids)}")
    assert other_run.acquire()

    assert fanout.send_batch(event.id, ids) == 0
    assert smtp_server.messages == []

    other_run.release()  # it died: its lease lapses, and the retry sends
    assert fanout.send_batch(event.id, ids) == 3


def lose_redis_queues(redis_conn):
    """What a Redis restarted without its data does to the mail already queued in it."""
    get_queue(QUEUE_NOTIFICATIONS).empty()


def test_mail_queued_in_a_redis_that_lost_its_data_goes_out_once_fanned_out_again(
        mail_app, smtp_server, work, redis_conn):
    subscribe_many(150)
    event = notify_about(make_incident("Database down", "critical"))
    fanout.sweep()
    InProcessWorker([QUEUE_NOTIFICATIONS], connection=redis_conn).work(burst=True, max_jobs=2)
    assert 0 < len(smtp_server.messages) < 150  # the fan-out and the first batch ran
    lose_redis_queues(redis_conn)
    late = subscribe("late@example.com")  # signed up after the incident
    db.session.expire_all()

    assert fanout.fan_out_again() == 1
    fanout.sweep()
    work()

    recipients = smtp_server.recipients()
    assert len(recipients) == 150 and len(set(recipients)) == 150  # all of them, once each
    assert late.email not in recipients
    assert db.session.get(OutboxEvent, event.id).notified_at is not None


def test_events_older_than_a_day_are_not_fanned_out_again(mail_app, smtp_server, work):
    subscribe_many(2)
    event = notify_about(make_incident("Old news"))
    fanout.sweep()
    work()
    db.session.get(OutboxEvent, event.id).created_at = utcnow() - fanout.MAX_AGE - timedelta(1)
    db.session.commit()

    assert fanout.fan_out_again() == 0
    assert len(smtp_server.messages) == 2
