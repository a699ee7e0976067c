"""Subscriber notifications: one fan-out job per event, batch jobs that share an SMTP session.

The flow, every step safe to run twice:

1. A service records an event with ``notify`` set (outbox, same transaction as the change).
2. ``sweep`` (periodic) queues ``fan_out(event_id)`` for each event that still owes its mail,
   under a job id of its own, so an event is fanned out by one job at a time.
3. ``fan_out`` splits the event's recipients (confirmed, deliverable, interested in one of its
   components, not yet in the ledger) into batches of BATCH_SIZE and queues ``send_batch`` for
   each, then marks the event notified.
4. ``send_batch`` sends on one SMTP session and writes the ledger row (event, subscriber) as the
   server accepts each message. A batch run again (a worker killed mid-batch, its job retried)
   skips who is in the ledger: at most the message in flight is sent twice. A run that finds
   the batch's lease held by another looks again once that lease could have lapsed, so a batch
   is never dropped because its dead run still seemed alive. A temporary SMTP
   failure re-schedules the rest of the batch with backoff; a permanent rejection (5xx) marks
   the address undeliverable and it gets no more mail.
"""

import logging
import secrets
import smtplib
from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from rq import Retry
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from .. import mail
from ..extensions import QUEUE_NOTIFICATIONS, db, get_queue, redis_client
from ..models import (Component, NotificationDelivery, OutboxEvent, Subscriber,
                      subscriber_components, utcnow)
from . import messages

log = logging.getLogger(__name__)

BATCH_SIZE = 100
# Events older than this that still owe mail are given up (a day-old incident email helps nobody).
MAX_AGE = timedelta(hours=24)
# A temporary SMTP failure: the batch is tried again after these delays, then given up.
RETRY_DELAYS = (30, 120, 600, 1800, 3600)
BATCH_TIMEOUT = 300  # seconds a batch job may run (100 messages on one session)
# A batch's lease lapses this long after its last message (longer than one message can take
# with SMTP_TIMEOUT per command); a batch whose lease lapsed is taken for dead.
LEASE_SECONDS = 60
SENT = "sent"
REJECTED = "rejected"


class TemporaryFailure(Exception):
    """The SMTP server or the network failed in a way worth trying again later."""


def fan_out_job_id(event_id):
    return f"notify-{event_id}"


def batch_job_id(event_id, first_subscriber_id, attempt=0):
    return f"notify-{event_id}-{first_subscriber_id}-{attempt}"


def mail_configured():
    return bool(current_app.config.get("SMTP_HOST"))


def event_components(event):
    """The component ids an event is about (its incident's or window's)."""
    return [ref["id"] if isinstance(ref, dict) else ref
            for ref in (event.payload or {}).get("components") or []]


def recipients_query(event):
    """Ids of the subscribers who should get ``event`` and do not have it yet, in id order.

    Those who confirmed after the event happened do not get it: mail is about what happens
    while one is subscribed (and an event fanned out again, see ``fan_out_again``, never
    reaches someone who signed up since).
    """
    S = Subscriber
    query = db.select(S.id).where(
        S.confirmed.is_(True), S.undeliverable_at.is_(None),
        S.confirmed_at.is_(None) | (S.confirmed_at <= event.created_at),
        ~db.select(NotificationDelivery.id).where(
            NotificationDelivery.event_id == event.id,
            NotificationDelivery.subscriber_id == S.id).exists())
    chose = db.select(subscriber_components.c.component_id).where(
        subscriber_components.c.subscriber_id == S.id)
    ids = event_components(event)
    # Those who chose no component hear about everything; the others about their components.
    interested = ~chose.exists()
    if ids:
        interested = interested | chose.where(subscriber_components.c.component_id.in_(ids)).exists()
    return query.where(interested).order_by(S.id)


def sweep(now=None):
    """Queue the fan-out of every event that still owes its mail; give up on stale ones.

    Also hands abandoned jobs (their worker died) back to the queue through RQ's own cleanup,
    so a batch cut short by a killed worker runs again.
    """
    now = now or utcnow()
    queue = get_queue(QUEUE_NOTIFICATIONS)
    StartedJobRegistry(queue=queue).cleanup()
    recover_abandoned_batches(queue, now)
    pending = db.session.scalars(
        db.select(OutboxEvent).where(OutboxEvent.notify.is_(True),
                                     OutboxEvent.notified_at.is_(None))
        .order_by(OutboxEvent.id).limit(100)).all()
    queued = 0
    for event in pending:
        if event.created_at < now - MAX_AGE:
            log.warning("event %s: notifications given up, older than %s", event.id, MAX_AGE)
            event.notified_at = now
            continue
        if job_waiting_or_running(fan_out_job_id(event.id)):
            continue
        queue.enqueue("maintenant.jobs.fan_out", event.id, job_id=fan_out_job_id(event.id),
                      job_timeout=120, result_ttl=0, failure_ttl=24 * 3600, retry=Retry(max=3))
        queued += 1
    db.session.commit()
    return queued


def recover_abandoned_batches(queue, now):
    """Queue again the batches whose worker died: started, but their lease has lapsed.

    A running batch renews its lease with every message; RQ itself would notice the dead
    worker only after the job's timeout. The new run skips who is in the ledger already.

    Returns:
        How many batches were queued again.
    """
    registry = StartedJobRegistry(queue=queue)
    recovered = 0
    for job_id in registry.get_job_ids(cleanup=False):
        if not job_id.startswith("notify-") or job_id.count("-") < 3:
            continue  # not a batch (a fan-out job is short; RQ's own cleanup retries it)
        try:
            job = Job.fetch(job_id, connection=redis_client.client)
        except Exception:  # noqa: BLE001 — gone meanwhile
            continue
        if job.get_status() != JobStatus.STARTED or not job.args or len(job.args) < 2:
            continue
        event_id, subscriber_ids = job.args[0], job.args[1]
        started = job.started_at
        if started is not None and started.tzinfo is None:
            started = started.replace(tzinfo=now.tzinfo)
        if not subscriber_ids or (started is not None and
                                  (now - started).total_seconds() < LEASE_SECONDS):
            continue
        if Lease(lease_key(event_id, subscriber_ids)).held():
            continue  # alive (it renewed its lease lately), or dead less than LEASE_SECONDS
        log.warning("event %s: batch %s abandoned by a dead worker; queued again", event_id,
                    job_id)
        registry.remove_executions(job)
        job.set_status(JobStatus.FAILED)
        queue.enqueue("maintenant.jobs.send_batch", event_id, subscriber_ids,
                      *job.args[2:3], job_id=f"{job_id}-r{secrets.token_hex(4)}",
                      job_timeout=BATCH_TIMEOUT, result_ttl=0, failure_ttl=24 * 3600,
                      retry=Retry(max=3))
        recovered += 1
    return recovered


def fan_out_again(now=None):
    """After Redis lost its data: fan out again every event of the last MAX_AGE.

    The batches queued in Redis, and the retries waiting there, are gone with it; the
    ledger knows who has each event, so a new fan-out mails exactly those still owed it.
    Returns how many events will be fanned out again.
    """
    now = now or utcnow()
    again = db.session.execute(
        db.update(OutboxEvent)
        .where(OutboxEvent.notify.is_(True), OutboxEvent.notified_at.is_not(None),
               OutboxEvent.created_at >= now - MAX_AGE)
        .values(notified_at=None)).rowcount
    db.session.commit()
    if again:
        log.warning("Redis lost its data: %d events of the last %s fanned out again (the "
                    "ledger skips who has them)", again, MAX_AGE)
    return again


def lease_key(event_id, subscriber_ids):
    return f"notify-lease:{event_id}:{min(subscriber_ids)}"


def job_waiting_or_running(job_id):
    try:
        status = Job.fetch(job_id, connection=redis_client.client).get_status()
    except Exception:  # noqa: BLE001 — no such job (or expired): not waiting
        return False
    return status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED,
                      JobStatus.DEFERRED)


def fan_out(event_id):
    """Split an event's recipients into batch jobs; returns how many batches were queued."""
    event = db.session.get(OutboxEvent, event_id)
    if event is None or not event.notify or event.notified_at is not None:
        return 0
    if not mail_configured():
        log.info("event %s: no SMTP_HOST, subscriber notifications skipped", event_id)
        event.notified_at = utcnow()
        db.session.commit()
        return 0
    ids = db.session.scalars(recipients_query(event)).all()
    queue = get_queue(QUEUE_NOTIFICATIONS)
    batches = [ids[start:start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)]
    for batch in batches:
        queue.enqueue("maintenant.jobs.send_batch", event_id, batch,
                      job_id=batch_job_id(event_id, batch[0]), job_timeout=BATCH_TIMEOUT,
                      result_ttl=0, failure_ttl=24 * 3600, retry=Retry(max=3))
    event.notified_at = utcnow()
    db.session.commit()
    return len(batches)


def send_batch(event_id, subscriber_ids, attempt=0):
    """Mail one event to some subscribers on one SMTP session; returns how many were sent.

    Holds a lease on the batch while it runs, so a second run of it (a retry that RQ started
    while the first still ran) leaves it alone instead of racing it.
    """
    event = db.session.get(OutboxEvent, event_id)
    if event is None or not subscriber_ids:
        return 0
    lease = Lease(lease_key(event_id, subscriber_ids))
    if not lease.acquire():
        # Alive, the holder sends the batch; dead (its worker killed), its lease lapses within
        # LEASE_SECONDS and nobody else may be left to finish it. So look again then: that run
        # skips whoever got the message meanwhile.
        log.info("event %s: batch from %s is running elsewhere; looked at again in %s s",
                 event_id, min(subscriber_ids), LEASE_SECONDS)
        schedule_batch(event_id, subscriber_ids, attempt, LEASE_SECONDS)
        return 0
    try:
        return send_leased_batch(event, subscriber_ids, attempt, lease)
    finally:
        lease.release()


class Lease:
    """A Redis key held while a batch runs, renewed as it goes; it lapses LEASE_SECONDS after
    its holder died, so the batch's retry can run."""

    def __init__(self, name):
        self.key = redis_client.key(name)
        self.token = secrets.token_hex(8)

    def acquire(self):
        return bool(redis_client.client.set(self.key, self.token, nx=True, ex=LEASE_SECONDS))

    def held(self):
        """Whether anyone holds it (a run alive, or one dead less than LEASE_SECONDS ago)."""
        return bool(redis_client.client.exists(self.key))

    def renew(self):
        redis_client.client.expire(self.key, LEASE_SECONDS)

    def release(self):
        if redis_client.client.get(self.key) == self.token.encode():
            redis_client.client.delete(self.key)


class Recipient(NamedTuple):
    """What a message needs of a subscriber, read once: the ledger's commits expire ORM rows."""

    id: int
    email: str
    manage_token: str


def send_leased_batch(event, subscriber_ids, attempt, lease):
    event_id = event.id
    S = Subscriber
    recipients = [Recipient(*row) for row in db.session.execute(
        db.select(S.id, S.email, S.manage_token)
        .where(S.id.in_(recipients_query(event).where(S.id.in_(subscriber_ids))
                        .order_by(None).scalar_subquery()))
        .order_by(S.id))]
    if not recipients:
        return 0
    content = messages.event_content(event, component_names(event))
    sent = 0
    try:
        with mail.connection() as mailer:
            for recipient in recipients:
                sent += deliver(mailer, event_id, recipient, content)
                lease.renew()
    except (TemporaryFailure, *mail.SEND_ERRORS) as error:  # also: no connection, login, TLS
        retry_later(event_id, [recipient.id for recipient in recipients], attempt, error)
    return sent


def deliver(mailer, event_id, recipient, content):
    """Send to one subscriber and write the ledger; 1 if sent, 0 if rejected for good."""
    message = messages.notification(recipient, content)
    try:
        mailer.send(message)
    except smtplib.SMTPRecipientsRefused as error:
        code, reply = next(iter(error.recipients.values()), (0, b""))
        return refused(event_id, recipient, code, reply)
    except smtplib.SMTPResponseException as error:
        return refused(event_id, recipient, error.smtp_code, error.smtp_error)
    except mail.SEND_ERRORS as error:
        raise TemporaryFailure(str(error)) from error
    record(event_id, recipient.id, SENT)
    return 1


def refused(event_id, recipient, code, reply):
    """A refusal: permanent (5xx) marks the address, anything else is tried again later."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    if 500 <= code < 600:
        log.info("subscriber %s rejected for good (%s %s)", recipient.id, code, text)
        db.session.execute(db.update(Subscriber).where(Subscriber.id == recipient.id)
                           .values(undeliverable_at=utcnow(), last_error=f"{code} {text}"[:500]))
        record(event_id, recipient.id, REJECTED, f"{code} {text}")
        return 0
    raise TemporaryFailure(f"{code} {text}")


def record(event_id, subscriber_id, status, error=None):
    """Write the ledger row for one message, committed at once; a row already there (another
    run of the same batch got there first) is left as it is."""
    db.session.add(NotificationDelivery(event_id=event_id, subscriber_id=subscriber_id,
                                        status=status, error=error, at=utcnow()))
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()


def retry_later(event_id, subscriber_ids, attempt, error):
    """Schedule the batch's remaining recipients again (rq-scheduler), or give up."""
    if attempt >= len(RETRY_DELAYS):
        log.error("event %s: gave up mailing %d subscribers after %d attempts: %s", event_id,
                  len(subscriber_ids), attempt + 1, error)
        return
    delay = RETRY_DELAYS[attempt] * current_app.config.get("NOTIFY_RETRY_SCALE", 1)
    log.warning("event %s: SMTP failed (%s); %d subscribers tried again in %ss", event_id, error,
                len(subscriber_ids), delay)
    schedule_batch(event_id, subscriber_ids, attempt + 1, delay)


def schedule_batch(event_id, subscriber_ids, attempt, delay):
    """Run a batch again in ``delay`` seconds (rq-scheduler moves it onto the queue)."""
    from rq_scheduler import Scheduler

    Scheduler(queue=get_queue(QUEUE_NOTIFICATIONS), connection=redis_client.client).enqueue_in(
        timedelta(seconds=delay), "maintenant.jobs.send_batch", event_id, subscriber_ids,
        attempt)


def component_names(event):
    ids = event_components(event)
    if not ids:
        return []
    return db.session.scalars(db.select(Component.name).where(Component.id.in_(ids))
                              .order_by(Component.sort_order, Component.id)).all()
