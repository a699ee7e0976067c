"""maintenant: a self-hosted status service."""

import os

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import Config, default_sqlite_url, normalize_database_url
from .extensions import db, migrate, redis_client


def create_app(config=None):
    """Build the app: configuration, extensions, blueprints and CLI — all wiring is here.

    Args:
        config: a mapping that overrides the environment's settings (tests use it).
    """
    app = Flask(__name__, instance_relative_config=True,
                template_folder=os.path.join(os.path.dirname(os.path.dirname(__file__)),
                                             "templates"))
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(
        app.config.get("SQLALCHEMY_DATABASE_URI")
    ) or default_sqlite_url(app.instance_path)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 15}})
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A restarted PostgreSQL leaves every pooled connection dead: each one is checked as it
        # is handed out (one round trip), so the first requests after an outage get a new
        # connection rather than an error. A server that does not answer at all fails a
        # connect within seconds (a 503), instead of holding the request.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {
            "pool_pre_ping": True, "connect_args": {"connect_timeout": 5},
            "pool_size": app.config["DB_POOL_SIZE"],
            "max_overflow": app.config["DB_MAX_OVERFLOW"]})
    app.json.sort_keys = False
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from . import models  # noqa: F401  (register the tables on the metadata)
    from . import write_lock  # noqa: F401  (one writer at a time on PostgreSQL)
    from .services.monitors import register_state_lookups

    register_state_lookups()

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)),
                                                     "migrations"))
    redis_client.init_app(app)

    from . import i18n

    i18n.init_app(app)

    from .api import bp as api_bp
    from .health import bp as health_bp
    from .public import bp as public_bp
    from .public.ping import bp as ping_bp
    from .public.statuspage import bp as statuspage_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(ping_bp)
    app.register_blueprint(statuspage_bp)
    app.register_blueprint(health_bp)

    from .api.errors import register_error_handlers

    register_error_handlers(app)

    from .cli import register_cli

    register_cli(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL and a busy timeout let web, worker and scheduler write one SQLite file."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
