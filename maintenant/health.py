"""/healthz: liveness and readiness for the platform (database and Redis reachable)."""

from flask import Blueprint, jsonify

from .db_errors import RETRY_AFTER_SECONDS, describe
from .extensions import db, redis_client

bp = Blueprint("health", __name__)


def check_database():
    db.session.execute(db.text("SELECT 1"))


def check_redis():
    redis_client.client.ping()


@bp.get("/healthz")
def healthz():
    checks = {}
    for name, check in (("database", check_database), ("redis", check_redis)):
        try:
            check()
            checks[name] = "ok"
        except Exception as error:  # any failure means "not ready", with the reason
            checks[name] = f"unavailable: {describe(error)}"
            if name == "database":
                db.session.rollback()
    healthy = all(value == "ok" for value in checks.values())
    response = jsonify({"status": "ok" if healthy else "unavailable", "checks": checks})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    if not healthy:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
