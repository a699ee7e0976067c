"""Sign-up, confirmation and the manage/unsubscribe pages under /status (no auth).

Every form works without JavaScript. A GET never changes anything: links in emails open a
page whose button POSTs (mail scanners follow links, they do not press buttons), except the
RFC 8058 one-click unsubscribe, which mail clients send as a POST.

POST /status/subscribe answers the same whatever the address's state (202 for JSON, a "check
your inbox" page for the form), so nobody learns who subscribes.
"""

import logging

import redis
from flask import current_app, render_template, request
from flask_babel import get_locale
from marshmallow import ValidationError

from .. import ratelimit
from ..api import json_body
from ..api.errors import error_response, flatten_messages
from ..errors import DomainError
from ..extensions import QUEUE_NOTIFICATIONS, get_queue
from ..schemas.subscriptions import ComponentChoiceIn, SignUpIn
from ..services import subscriptions as service
from ..services.settings import get_settings
from . import bp
from .render import N_, branding_context, page_css, style_sources, with_html_headers

log = logging.getLogger(__name__)

HOUR = 3600
# In English (the JSON answers); the pages translate them (N_ marks them for pybabel).
CHECK_INBOX = N_("Check your inbox: if this address can receive our emails, a message with a "
                 "confirmation link is on its way. The link works for 24 hours.")
NO_MAIL = N_("Email notifications are not available: this page has no mail server configured.")
BUSY = N_("Sign-up is unavailable for a moment. Please try again shortly.")
TOO_MANY = N_("Too many sign-ups from your address. Please try again later.")
DEAD_LINK = N_("This link is not valid any more: it was used already, has expired, or the "
               "subscription was removed.")
NOT_NOW = N_("Not now")
LINK_EXPIRED = N_("Link expired")


def html(template, status=200, **context):
    """A sign-up page: the page's style, no script, never cached (it may name an address)."""
    css, style_hash = page_css()
    settings = get_settings()
    brand, accent_hash = branding_context(settings)
    response = current_app.make_response((render_template(
        f"status/subscription/{template}", page=settings, page_css=css,
        accent_css=brand["accent_css"], theme=brand["theme"], current_locale=get_locale(),
        **context), status))
    response.headers["Cache-Control"] = "no-store"
    return with_html_headers(response, style_sources(style_hash, accent_hash))


def component_choices():
    """[(group name or None, [components])] of the visible components, in page order."""
    return service.component_choices()


def wants_form():
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def form_data(schema):
    """A form's fields loaded like the JSON body: components as a list of ids."""
    data = {"components": request.form.getlist("components")}
    if "email" in request.form or schema is SignUpIn:
        data["email"] = request.form.get("email", "")
    try:
        data["components"] = [int(value) for value in data["components"]]
    except ValueError:
        raise ValidationError({"components": ["Not a valid component."]}) from None
    return schema().load(data)


def first_message(error):
    messages = error.messages if isinstance(error.messages, dict) else {"_body": error.messages}
    for field, value in flatten_messages(messages).items():
        text = value[0] if isinstance(value, list) and value else value
        if isinstance(text, dict):  # a list item's errors: {"0": ["..."]}
            text = next(iter(text.values()))[0]
        return f"{'Email address' if field == 'email' else field.capitalize()}: {text}"
    return "The form is not valid."


@bp.get("/subscribe")
def subscribe_form():
    return html("subscribe.html", choices=component_choices())


@bp.post("/subscribe")
def subscribe():
    form = wants_form()
    try:
        data = form_data(SignUpIn) if form else SignUpIn().load(json_body())
    except ValidationError as error:
        if form:
            return html("subscribe.html", 422, error=first_message(error),
                        email=request.form.get("email", "")[:254], choices=component_choices())
        return error_response(422, "The request body is not valid.", "validation_failed",
                              flatten_messages(error.messages))
    except DomainError as error:  # 400 malformed JSON, 415 not JSON
        return error_response(error.status_code, error.message, error.code, error.fields)
    if not current_app.config.get("SMTP_HOST"):
        return refuse(form, 503, NO_MAIL)
    try:
        if not ratelimit.allow("signup-address", request.remote_addr or "-",
                               current_app.config["SIGNUP_LIMIT_PER_ADDRESS"], HOUR):
            return refuse(form, 429, TOO_MANY, {"Retry-After": str(HOUR)})
        mail_allowed = ratelimit.allow("signup-email", service.normalize_email(data["email"]),
                                       current_app.config["SIGNUP_LIMIT_PER_EMAIL"], HOUR)
    except redis.RedisError as error:
        log.warning("sign-up refused, Redis unavailable: %s", error)
        return refuse(form, 503, BUSY, {"Retry-After": "30"})
    try:
        subscriber, token = service.sign_up(data["email"], data["components"])
    except DomainError as error:  # an unknown or hidden component
        if form:
            return html("subscribe.html", error.status_code, error=error.message,
                        email=data["email"], choices=component_choices())
        return error_response(error.status_code, error.message, error.code, error.fields)
    if mail_allowed:
        # The token travels only in the job (and then the email); the database keeps its hash.
        try:
            get_queue(QUEUE_NOTIFICATIONS).enqueue(
                "maintenant.jobs.send_confirmation", subscriber.id, token,
                job_timeout=60, result_ttl=0, failure_ttl=24 * HOUR)
        except redis.RedisError as error:
            log.warning("confirmation mail not queued, Redis unavailable: %s", error)
            return refuse(form, 503, BUSY, {"Retry-After": "30"})
    else:
        log.info("confirmation mail not sent: too many sign-ups for one address this hour")
    if form:
        return html("sent.html", email=data["email"])
    return {"message": CHECK_INBOX}, 202


def refuse(form, status, message, headers=None):
    if form:
        response = html("message.html", status, heading=NOT_NOW, message=message)
        response.headers.update(headers or {})
        return response
    return error_response(status, message, headers=headers)


@bp.route("/subscribe/confirm/<token>", methods=("GET", "POST"))
def confirm_subscription(token):
    confirmation = service.find_confirmation(token)
    if confirmation is None:
        return html("message.html", 404, heading=LINK_EXPIRED, message=DEAD_LINK)
    if request.method == "GET":
        return html("confirm.html", subscriber=confirmation.subscriber,
                    components=service.chosen_components(confirmation.components))
    subscriber = service.confirm(confirmation)
    return html("confirmed.html", subscriber=subscriber)


@bp.route("/subscription/<token>", methods=("GET", "POST"))
def manage_subscription(token):
    subscriber = service.find_subscriber(token)
    if subscriber is None:
        return html("message.html", 404, heading=LINK_EXPIRED, message=DEAD_LINK)
    saved, error, status = False, None, 200
    if request.method == "POST":
        try:
            data = form_data(ComponentChoiceIn) if wants_form() else \
                ComponentChoiceIn().load(json_body())
            service.choose_components(subscriber, data["components"])
            saved = True
        except ValidationError as invalid:
            error, status = first_message(invalid), 422
        except DomainError as refused:
            error, status = refused.message, refused.status_code
    return html("manage.html", status, subscriber=subscriber, saved=saved, error=error,
                choices=component_choices(),
                chosen=[component.id for component in subscriber.components])


@bp.route("/subscription/<token>/unsubscribe", methods=("GET", "POST"))
def unsubscribe(token):
    """GET shows a button; POST (the button, or a mail client's RFC 8058 one-click) leaves."""
    subscriber = service.find_subscriber(token)
    if subscriber is None:
        if request.method == "POST":  # already gone: leaving twice is not an error
            return html("unsubscribed.html")
        return html("message.html", 404, heading=LINK_EXPIRED, message=DEAD_LINK)
    if request.method == "GET":
        return html("unsubscribe.html", subscriber=subscriber)
    service.unsubscribe(subscriber)
    return html("unsubscribed.html")
