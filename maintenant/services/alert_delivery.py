"""Sending one alert delivery to its channel (webhook or email), with retries and backoff.

A delivery's payload is frozen when it is created: a webhook's JSON body, or an email's
subject and text. ``deliver`` claims the row with a conditional UPDATE (so two workers never
send one delivery at once), sends, and records the outcome: sent, retried later
(1, 3, 6, 30, 90, 360 x ALERT_RETRY_BASE_SECONDS) or, after ALERT_MAX_ATTEMPTS, failed.
"""

import hashlib
import hmac
import json
import logging
import re
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import sqlalchemy as sa
import urllib3
from flask import current_app

from .. import mail
from ..extensions import db
from ..models import Alert, AlertDelivery, utcnow
from ..models.alerts import FAILED, NO_CHANNELS, PENDING, SENT

log = logging.getLogger(__name__)

RETRY_FACTORS = (1, 3, 6, 30, 90, 360)
# While an attempt runs its row is due again only after this long: longer than any send
# takes, so a worker that died mid-send is retried, and a live one is never doubled.
LEASE = timedelta(minutes=2)
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
# Of a webhook's answer only this much is read (for the error message).
MAX_RESPONSE_READ = 2048
MAX_ERROR_LENGTH = 1000
USER_AGENT = "maintenant-alerts/1"
SIGNATURE_HEADER = "X-Maintenant-Signature"
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")


class DeliveryError(Exception):
    """An attempt that failed (network, timeout, a non-2xx answer, an SMTP refusal)."""


# Sending


def deliver(delivery_id, now=None):
    """Make one attempt at a delivery that is pending and due.

    Returns:
        The delivery's status after the attempt, or "skipped" when it was not pending and
        due (sent already, or another worker holds it).
    """
    now = now or utcnow()
    if not claim(delivery_id, now):
        return "skipped"
    delivery = db.session.get(AlertDelivery, delivery_id)
    channel = delivery.channel
    refused = None
    try:
        if not channel.enabled and delivery.alert_id is not None:
            give_up(delivery, "the channel is disabled")
        elif channel.type == "webhook":
            send_webhook(channel, delivery)
        else:
            refused = send_email(channel, delivery)
    except DeliveryError as error:
        failed(delivery, str(error))
    except Exception as error:  # noqa: BLE001 — a bug must not retry for ever unbounded
        log.exception("alert delivery %s crashed", delivery_id)
        failed(delivery, f"internal error: {type(error).__name__}")
    else:
        if delivery.status == PENDING:
            delivery.status = SENT
            delivery.sent_at = utcnow()
            delivery.next_attempt_at = None
            delivery.last_error = refused
    alert_id, status = delivery.alert_id, delivery.status
    db.session.commit()
    if alert_id is not None:
        settle_alert(alert_id)
        db.session.commit()
    return status


def claim(delivery_id, now):
    """Count an attempt and hold the row for LEASE; False when it is not pending and due."""
    claimed = db.session.execute(
        sa.update(AlertDelivery)
        .where(AlertDelivery.id == delivery_id, AlertDelivery.status == PENDING,
               sa.or_(AlertDelivery.next_attempt_at.is_(None),
                      AlertDelivery.next_attempt_at <= now))
        .values(attempts=AlertDelivery.attempts + 1, next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def retry_delay(attempts):
    """The wait after the ``attempts``-th failed attempt."""
    factor = RETRY_FACTORS[min(attempts, len(RETRY_FACTORS)) - 1]
    return timedelta(seconds=current_app.config["ALERT_RETRY_BASE_SECONDS"] * factor)


def failed(delivery, error):
    if delivery.attempts >= current_app.config["ALERT_MAX_ATTEMPTS"]:
        give_up(delivery, error)
        return
    delivery.last_error = error[:MAX_ERROR_LENGTH]
    delivery.next_attempt_at = utcnow() + retry_delay(delivery.attempts)


def give_up(delivery, error):
    delivery.status = FAILED
    delivery.last_error = error[:MAX_ERROR_LENGTH]
    delivery.next_attempt_at = None


def settle_alert(alert_id):
    """A pending alert whose deliveries are all done becomes sent, or failed if one failed.

    Run after the delivery's own commit: whichever of two concurrent workers commits last
    sees the other's outcome.
    """
    deliveries = AlertDelivery.__table__.c
    of_alert = deliveries.alert_id == alert_id
    db.session.execute(
        sa.update(Alert)
        .where(Alert.id == alert_id, Alert.status == PENDING,
               ~sa.exists().where(of_alert, deliveries.status == PENDING))
        .values(status=sa.case(
            (sa.exists().where(of_alert, deliveries.status == FAILED), FAILED),
            (sa.exists().where(of_alert), SENT),
            else_=NO_CHANNELS))
        .execution_options(synchronize_session=False)
    )


def webhook_body(payload):
    """The exact bytes posted (and signed)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(secret, body):
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def send_webhook(channel, delivery):
    """POST the payload; any 2xx answer is a success. No redirects, no retries here."""
    url = channel.url or ""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise DeliveryError("the channel's URL is not http or https")
    body = webhook_body(delivery.payload)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "X-Maintenant-Event": str(delivery.payload.get("event", "alert")),
               "X-Maintenant-Delivery": str(delivery.id)}
    if channel.secret:
        headers[SIGNATURE_HEADER] = signature(channel.secret, body)
    pool = urllib3.PoolManager(num_pools=1, retries=False,
                               timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT,
                                                       read=READ_TIMEOUT))
    try:
        response = pool.request("POST", url, body=body, headers=headers, redirect=False,
                                retries=False, preload_content=False)
        try:
            start = response.read(MAX_RESPONSE_READ, decode_content=False)
        finally:
            response.close()
    except urllib3.exceptions.HTTPError as error:
        raise DeliveryError(describe(error)) from None
    finally:
        pool.clear()
    if not 200 <= response.status < 300:
        text = CONTROL_CHARACTERS.sub(" ", start.decode("utf-8", "replace")).strip()[:200]
        raise DeliveryError(f"HTTP {response.status}" + (f": {text}" if text else ""))


def describe(error):
    """A network failure in plain words."""
    # NewConnectionError is a ConnectTimeoutError to urllib3: test it first.
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        reason = str(error).rpartition("] ")[2] or str(error)
        return f"could not connect: {reason}"
    if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    if isinstance(error, urllib3.exceptions.ReadTimeoutError):
        return f"no answer within {READ_TIMEOUT:g} s"
    return f"{type(error).__name__}: {error}"


def send_email(channel, delivery):
    """Mail the frozen subject and text to the channel's addresses (as they are now).

    Returns:
        None, or the addresses the server refused when it took the others.
    """
    message = EmailMessage()
    message["Subject"] = delivery.payload["subject"]
    message["To"] = ", ".join(channel.addresses)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(delivery.payload["text"])
    try:
        refused = mail.send(message)
    except mail.SEND_ERRORS as error:
        raise DeliveryError(f"SMTP: {error}") from None
    return f"refused by the server: {', '.join(sorted(refused))}" if refused else None


# Rendering


def payload_for(channel, document):
    """What a channel is sent for an event document ({"event", "alert", "monitor"} or a
    test): a webhook posts the document itself, an email gets a subject and plain text."""
    if channel.type == "webhook":
        return document
    from .settings import get_settings

    title = get_settings().title
    return {"subject": one_line(email_subject(document, title)), "text": email_text(document)}


def one_line(text):
    return CONTROL_CHARACTERS.sub(" ", text).strip()


def email_subject(document, title):
    if document["event"] == "test":
        return f"[{title}] Test alert"
    alert = document["alert"]
    subject = f"[{title}] {alert['monitor_name']} is {alert['to_status']}"
    if alert["count"] > 1:
        subject += f" ({alert['count']} changes)"
    return subject


def email_text(document):
    if document["event"] == "test":
        return (f"This is a test message from maintenant.\n\n"
                f"Alerts sent to the channel \"{document['channel']['name']}\" reach this "
                f"address.\n")
    alert, monitor = document["alert"], document["monitor"]
    was = f" (was {alert['from_status']})" if alert["from_status"] else ""
    components = ", ".join(c["name"] for c in monitor["components"]) or "none"
    lines = [
        f"{alert['monitor_name']} is {alert['to_status']}{was}.",
        "",
        f"Monitor:     {alert['monitor_name']} ({alert['monitor_type']} #{alert['monitor_id']})",
        f"Change:      {alert['from_status'] or 'none'} -> {alert['to_status']}",
        f"Reason:      {alert['reason'] or '-'}",
        f"At:          {alert['created_at']}",
        f"Components:  {components}",
    ]
    if alert["count"] > 1:
        lines.append(f"Flapping:    {alert['count']} changes from {alert['created_at']} to "
                     f"{alert['last_at']}, coalesced into this alert")
    base = current_app.config["BASE_URL"]
    lines += ["", f"Alert #{alert['id']}: {base}/api/v1/alerts/{alert['id']}", ""]
    return "\n".join(lines)
