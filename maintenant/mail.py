"""Outgoing mail through the SMTP settings: one connection for one message or for many.

    with mail.connection() as mailer:      # one SMTP session...
        for message in messages:
            mailer.send(message)           # ...many messages
    mail.send(message)                     # or one message, one session

Settings (app config, from the environment): SMTP_HOST, SMTP_PORT, SMTP_USERNAME,
SMTP_PASSWORD, SMTP_FROM, SMTP_TLS (starttls | tls | none), SMTP_TIMEOUT.
"""

import smtplib
import ssl
from contextlib import contextmanager
from email.utils import formatdate, make_msgid

from flask import current_app

# What a failed send raises: the server refused, or the network failed.
SEND_ERRORS = (smtplib.SMTPException, OSError)


class Mailer:
    """One open SMTP session."""

    def __init__(self, smtp, sender):
        self.smtp = smtp
        self.sender = sender

    def send(self, message):
        """Send an ``email.message.EmailMessage``; From, Date and Message-ID are filled in
        when missing.

        Returns:
            {address: (code, reply)} of the recipients the server refused (empty when none);
            raises smtplib.SMTPRecipientsRefused when it refused them all.
        """
        if "From" not in message:
            message["From"] = self.sender
        if "Date" not in message:
            message["Date"] = formatdate(localtime=False, usegmt=True)
        if "Message-ID" not in message:
            domain = self.sender.rpartition("@")[2] or None
            message["Message-ID"] = make_msgid(domain=domain)
        return self.smtp.send_message(message)


@contextmanager
def connection(config=None):
    """An SMTP session by the settings (login and TLS as configured), closed on exit.

    Args:
        config: a mapping with the SMTP_* settings; the current app's config by default.
    Raises:
        smtplib.SMTPException or OSError when the server cannot be reached or refuses.
    """
    config = config if config is not None else current_app.config
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    timeout = float(config.get("SMTP_TIMEOUT", 10))
    tls = config.get("SMTP_TLS") or "none"
    if tls == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        yield Mailer(smtp, config["SMTP_FROM"])
    finally:
        try:
            smtp.quit()
        except SEND_ERRORS:
            smtp.close()


def send(message, config=None):
    """Send one message on a session of its own; see ``Mailer.send``."""
    with connection(config) as mailer:
        return mailer.send(message)
