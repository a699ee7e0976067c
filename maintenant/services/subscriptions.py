"""Email subscriptions as the public makes them: sign up, confirm, choose components, leave.

Double opt-in: a sign-up mails a single-use link that expires after CONFIRMATION_TTL; the
link opens a page whose button confirms (mail scanners follow links, they do not press
buttons). Nothing here tells a caller whether an address was already known.
"""

import hashlib
import re
import secrets
from datetime import timedelta

from ..errors import Invalid
from ..extensions import db
from ..models import Component, Subscriber, SubscriptionConfirmation, utcnow
from .lookups import name_some

CONFIRMATION_TTL = timedelta(hours=24)
TOKEN_BYTES = 32  # 256 random bits, url-safe base64
# What the tokens we hand out look like; anything else is not looked up at all.
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


def normalize_email(email):
    """The form addresses are kept in: trimmed, the domain lower-cased (the local part of an
    address may be case-sensitive, but in practice nobody relies on it: lower-case it too, so
    one inbox is one subscriber)."""
    return email.strip().lower()


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def public_components(ids, field="components"):
    """The visible components named by ``ids``; hidden or unknown ids are refused alike."""
    if not ids:
        return []
    found = {c.id: c for c in db.session.scalars(
        db.select(Component).where(Component.id.in_(ids), Component.visible.is_(True)))}
    missing = [i for i in ids if i not in found]
    if missing:
        message = f"Unknown component: {name_some(missing)}."
        raise Invalid(message, {field: [message]})
    return [found[i] for i in ids]


def sign_up(email, component_ids, now=None):
    """Record a sign-up and return the confirmation token to mail (the only copy of it).

    The address may be new, pending or confirmed: each gets a new confirmation, which on use
    replaces the components chosen before.
    """
    now = now or utcnow()
    components = public_components(component_ids)
    email = normalize_email(email)
    subscriber = db.session.scalar(db.select(Subscriber).where(Subscriber.email == email))
    if subscriber is None:
        subscriber = Subscriber(email=email, confirmed=False, created_at=now,
                                manage_token=secrets.token_urlsafe(TOKEN_BYTES))
        db.session.add(subscriber)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(SubscriptionConfirmation(
        subscriber=subscriber, token_hash=token_hash(token),
        components=[component.id for component in components],
        created_at=now, expires_at=now + CONFIRMATION_TTL))
    db.session.commit()
    return subscriber, token


def find_confirmation(token, now=None):
    """The confirmation a link's token stands for, if it is unused and unexpired; else None."""
    if not TOKEN.fullmatch(token or ""):
        return None
    confirmation = db.session.scalar(db.select(SubscriptionConfirmation).where(
        SubscriptionConfirmation.token_hash == token_hash(token)))
    if confirmation is None or confirmation.used_at is not None:
        return None
    if confirmation.expires_at <= (now or utcnow()):
        return None
    return confirmation


def confirm(confirmation, now=None):
    """Use a confirmation: the address is subscribed with the components it chose.

    Claimed with a conditional update, so a double click confirms once.
    """
    now = now or utcnow()
    claimed = db.session.execute(
        db.update(SubscriptionConfirmation)
        .where(SubscriptionConfirmation.id == confirmation.id,
               SubscriptionConfirmation.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    subscriber = confirmation.subscriber
    if claimed:
        ids = confirmation.components or []
        subscriber.components = list(db.session.scalars(
            db.select(Component).where(Component.id.in_(ids)))) if ids else []
        if not subscriber.confirmed:
            subscriber.confirmed = True
            subscriber.confirmed_at = now
        subscriber.undeliverable_at = None
    db.session.commit()
    return subscriber


def find_subscriber(manage_token):
    """The subscriber a manage link stands for, or None."""
    if not TOKEN.fullmatch(manage_token or ""):
        return None
    return db.session.scalar(db.select(Subscriber).where(
        Subscriber.manage_token == manage_token, Subscriber.confirmed.is_(True)))


def choose_components(subscriber, component_ids):
    subscriber.components = public_components(component_ids)
    db.session.commit()
    return subscriber


def unsubscribe(subscriber):
    """Forget the address altogether."""
    db.session.delete(subscriber)
    db.session.commit()


def purge_unconfirmed(now=None):
    """Drop expired confirmations, and addresses never confirmed that have none left.

    Returns:
        (confirmations deleted, subscribers deleted)
    """
    now = now or utcnow()
    S, C = Subscriber, SubscriptionConfirmation
    expired = db.session.execute(
        db.delete(C).where((C.expires_at <= now) | (C.used_at.is_not(None)))).rowcount
    live = db.select(C.id).where(C.subscriber_id == S.id).exists()
    orphans = db.session.execute(
        db.delete(S).where(S.confirmed.is_(False), ~live)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return expired, orphans


def component_choices():
    """[(group name or None, [components])]: the visible components as the page orders them,
    ungrouped ones last, for the sign-up and manage forms."""
    from ..models import ComponentGroup

    components = db.session.scalars(
        db.select(Component).outerjoin(ComponentGroup, Component.group_id == ComponentGroup.id)
        .where(Component.visible.is_(True))
        .order_by(ComponentGroup.id.is_(None), ComponentGroup.sort_order, ComponentGroup.id,
                  Component.sort_order, Component.id)
    ).all()
    choices = []
    for component in components:
        heading = component.group.name if component.group else None
        if not choices or choices[-1][0] != heading:
            choices.append((heading, []))
        choices[-1][1].append(component)
    return choices


def chosen_components(ids):
    """The visible components among ``ids`` (those since hidden or deleted left out)."""
    if not ids:
        return []
    return db.session.scalars(db.select(Component).where(
        Component.id.in_(ids), Component.visible.is_(True))
        .order_by(Component.sort_order, Component.id)).all()
