"""Operator API tokens: create, list, revoke, authenticate."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from ..errors import Conflict, NotFound
from ..extensions import db
from ..models import ApiToken, utcnow
from ..models.tokens import SCOPE_READ, SCOPE_WRITE

TOKEN_PREFIX = "mt_"
# Writing last_used_at on every request would turn reads into writes; once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling the API and what they may do."""

    name: str
    scope: str

    @property
    def can_write(self):
        return self.scope == SCOPE_WRITE


def hash_token(raw):
    """The stored form of a token: SHA-256 is enough for 256 random bits."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(name, read_only=False):
    """Create a named token; returns (token, secret). The secret is never stored."""
    if db.session.scalar(db.select(ApiToken).filter_by(name=name)) is not None:
        raise Conflict(f"A token named {name!r} already exists.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, scope=SCOPE_READ if read_only else SCOPE_WRITE,
                     token_hash=hash_token(secret))
    db.session.add(token)
    db.session.commit()
    return token, secret


def list_tokens():
    return db.session.scalars(db.select(ApiToken).order_by(ApiToken.name)).all()


def revoke_token(name):
    token = db.session.scalar(db.select(ApiToken).filter_by(name=name))
    if token is None:
        raise NotFound(f"No token named {name!r}.")
    db.session.delete(token)
    db.session.commit()


def authenticate(raw, bootstrap_token=None):
    """The principal a bearer token stands for, or None.

    Args:
        raw: the token from the Authorization header.
        bootstrap_token: MAINTENANT_API_TOKEN, accepted with write scope when set.
    """
    if not raw:
        return None
    if bootstrap_token and hmac.compare_digest(raw.encode(), bootstrap_token.encode()):
        return Principal("MAINTENANT_API_TOKEN", SCOPE_WRITE)
    token = db.session.scalar(db.select(ApiToken).filter_by(token_hash=hash_token(raw)))
    if token is None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return Principal(token.name, token.scope)
