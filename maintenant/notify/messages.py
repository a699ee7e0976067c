"""Emails to subscribers, built from the Jinja templates under templates/email/.

Each message has a plain-text and an HTML part. Operator strings are autoescaped in the HTML
part; in headers, line breaks are folded away so no string can add a header.
"""

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app, render_template

from ..services.settings import get_settings


def one_line(text, limit=200):
    """A header-safe rendering of an operator string: one line, bounded."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def absolute(path):
    """A link for an email: MAINTENANT_BASE_URL + path."""
    return current_app.config["BASE_URL"] + path


def build(to, subject, template, headers=None, **context):
    """An email with text and HTML parts from ``email/<template>.txt`` and ``.html``."""
    settings = get_settings()
    context.update(page_title=settings.title, page_url=absolute("/status/"), subject=subject)
    message = EmailMessage()
    message["Subject"] = one_line(f"[{settings.title}] {subject}", 300)
    message["From"] = formataddr((one_line(settings.title, 100),
                                  current_app.config["SMTP_FROM"]))
    message["To"] = to
    message["Message-ID"] = make_msgid(domain=current_app.config["SMTP_FROM"].rpartition("@")[2]
                                       or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(render_template(f"email/{template}.txt", **context))
    message.add_alternative(render_template(f"email/{template}.html", **context), subtype="html")
    return message


def confirmation(subscriber, token):
    """The double opt-in email: a link to the page whose button confirms."""
    return build(subscriber.email, "Confirm your subscription", "confirm",
                 email=subscriber.email,
                 confirm_url=absolute(f"/status/subscribe/confirm/{token}"))
