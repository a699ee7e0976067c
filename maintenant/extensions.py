"""Extensions, created unbound and bound to the app in create_app."""

import redis
from flask import current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Named constraints make migrations reviewable and let SQLite batch mode alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()


class RedisClient:
    """The Redis connection pool of the current app, bound to its REDIS_URL in create_app.

    Each app keeps its own client in ``app.extensions``, so two apps in one process (tests,
    tools) never share or re-point each other's connection.
    """

    EXTENSION = "maintenant.redis"

    def init_app(self, app):
        url = app.config.get("REDIS_URL")
        client = (
            redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2,
                                 health_check_interval=30)
            if url
            else None
        )
        app.extensions[self.EXTENSION] = (client, app.config["REDIS_PREFIX"])

    def _state(self):
        return current_app.extensions[self.EXTENSION]

    @property
    def configured(self):
        return self._state()[0] is not None

    @property
    def client(self):
        client = self._state()[0]
        if client is None:
            raise redis.ConnectionError("REDIS_URL is not set")
        return client

    @property
    def prefix(self):
        return self._state()[1]

    def key(self, name):
        """A key or channel name under this installation's prefix."""
        return self.prefix + name


redis_client = RedisClient()


# Queue names, the one place they are spelled.
QUEUE_PROBES = "probes"
QUEUE_NOTIFICATIONS = "notifications"
QUEUE_DEFAULT = "default"
QUEUES = (QUEUE_PROBES, QUEUE_NOTIFICATIONS, QUEUE_DEFAULT)

# Pub/sub channel and replay backlog of status events (under the Redis prefix).
EVENTS_CHANNEL = "events"
EVENTS_BACKLOG = "events:backlog"


def get_queue(name=QUEUE_DEFAULT):
    """An RQ queue on the process's Redis."""
    from rq import Queue

    return Queue(name, connection=redis_client.client)
