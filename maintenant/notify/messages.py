"""Emails to subscribers, built from the Jinja templates under templates/email/.

Each message has a plain-text and an HTML part. Operator strings are autoescaped in the HTML
part; in headers, line breaks are folded away so no string can add a header. Emails are
written in the page's language (settings ``language``): subscribers have no language of
their own.
"""

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from types import SimpleNamespace

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from ..i18n import DEFAULT_LANGUAGE, LANGUAGES

from ..services.settings import get_settings


def one_line(text, limit=200):
    """A header-safe rendering of an operator string: one line, bounded."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def absolute(path):
    """A link for an email: MAINTENANT_BASE_URL + path."""
    return current_app.config["BASE_URL"] + path


def page_facts():
    """The page settings an email uses, read once (a batch of messages shares them)."""
    settings = get_settings()
    language = settings.language if settings.language in LANGUAGES else DEFAULT_LANGUAGE
    return SimpleNamespace(title=settings.title, timezone=settings.timezone, language=language)


def build(to, subject, template, headers=None, settings=None, **context):
    """An email with text and HTML parts from ``email/<template>.txt`` and ``.html``.

    Args:
        settings: ``page_facts()``, when the caller has them already.
    """
    settings = settings or page_facts()
    with force_locale(settings.language):
        subject = gettext(subject) if not context.pop("translated", False) else subject
        context.update(page_title=settings.title, page_url=absolute("/status/"), subject=subject,
                       language=settings.language)
        text_part = render_template(f"email/{template}.txt", **context)
        html_part = render_template(f"email/{template}.html", **context)
    message = EmailMessage()
    message["Subject"] = one_line(f"[{settings.title}] {subject}", 300)
    message["From"] = formataddr((one_line(settings.title, 100),
                                  current_app.config["SMTP_FROM"]))
    message["To"] = to
    message["Message-ID"] = make_msgid(domain=current_app.config["SMTP_FROM"].rpartition("@")[2]
                                       or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text_part)
    message.add_alternative(html_part, subtype="html")
    return message


def confirmation(subscriber, token):
    """The double opt-in email: a link to the page whose button confirms."""
    return build(subscriber.email, N_("Confirm your subscription"), "confirm",
                 email=subscriber.email,
                 confirm_url=absolute(f"/status/subscribe/confirm/{token}"))


# What each kind of event says, as (subject, heading) templates: {title} is the incident's or
# window's title, {status} its new status in words.
def N_(message):
    """Mark ``message`` for translation (pybabel extracts it); translated when the email is built."""
    return message


EVENT_WORDING = {
    "incident_created": (N_("Incident: {title}"), N_("New incident")),
    "incident_updated": (N_("{status}: {title}"), N_("Incident update")),
    "incident_resolved": (N_("Resolved: {title}"), N_("Incident resolved")),
    "maintenance_scheduled": (N_("Maintenance scheduled: {title}"), N_("Maintenance scheduled")),
    "maintenance_reminder": (N_("Maintenance soon: {title}"), N_("Maintenance starts soon")),
    "maintenance_started": (N_("Maintenance started: {title}"), N_("Maintenance in progress")),
    "maintenance_ended": (N_("Maintenance completed: {title}"), N_("Maintenance completed")),
}
CANCELLED = (N_("Maintenance cancelled: {title}"), N_("Maintenance cancelled"))
RESCHEDULED = (N_("Maintenance rescheduled: {title}"), N_("Maintenance rescheduled"))


def event_content(event, component_names):
    """What every subscriber's email about ``event`` shares (the links differ per subscriber)."""
    from ..public.render import label

    payload = event.payload or {}
    update = payload.get("update") or (payload.get("updates") or [None])[0]
    status = (update or {}).get("status") or payload.get("status") or ""
    subject, heading = EVENT_WORDING.get(event.type, ("{title}", N_("Status update")))
    if event.type == "maintenance_updated":
        subject, heading = CANCELLED if payload.get("cancelled") else RESCHEDULED
    title = one_line(payload.get("title", ""))
    incident = event.type.startswith("incident_")
    page = page_facts()
    with force_locale(page.language):
        subject = gettext(subject).format(
            title=title, status=label(status) if status else gettext("Update"))
        heading = gettext(heading)
    return {
        "kind": event.type,
        "incident": incident,
        "subject": subject,
        "heading": heading,
        "title": payload.get("title", ""),
        "status": status,
        "severity": payload.get("severity"),
        "message": (update or {}).get("message") if incident else payload.get("description"),
        "starts_at": payload.get("starts_at"),
        "ends_at": payload.get("ends_at"),
        "at": (update or {}).get("created_at") or payload.get("updated_at"),
        "components": list(component_names),
        "link": absolute("/status/"),
        "page": page,
    }


def notification(subscriber, content):
    """One subscriber's email about an event, with its manage link and RFC 8058 headers."""
    unsubscribe = absolute(f"/status/subscription/{subscriber.manage_token}/unsubscribe")
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }
    return build(subscriber.email, content["subject"], "notification", headers=headers,
                 translated=True,
                 settings=content["page"], event=content, timezone=content["page"].timezone,
                 manage_url=absolute(f"/status/subscription/{subscriber.manage_token}"),
                 unsubscribe_url=unsubscribe)


def test_message(email):
    """What POST /api/v1/status/subscribers/test sends: proof the mail settings work."""
    return build(email, N_("Test message"), "test", email=email)
