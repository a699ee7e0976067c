"""The Alembic migrations, applied to an empty database, build exactly what the models describe.

Runs on a database of its own (a new SQLite file, or a new database on the PostgreSQL server
of TEST_DATABASE_URL), so the suite's shared test database is never touched.
"""

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, make_url, text

from maintenant import create_app
from maintenant.extensions import db

from conftest import make_config


@pytest.fixture
def empty_database_url(tmp_path):
    """A URL to a database that exists and holds nothing; dropped afterwards."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        yield "sqlite:///" + str(tmp_path / "migrations.db")
        return
    url = make_url(server_url)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"maintenant_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def migration_app(empty_database_url):
    app = create_app(make_config(empty_database_url))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_differences():
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrations_build_what_the_models_describe(migration_app):
    assert inspect(db.engine).get_table_names() == []
    assert schema_differences(), "an empty database must differ from the models"

    upgrade()

    assert schema_differences() == []


def test_migrations_downgrade_to_an_empty_database(migration_app):
    upgrade()
    downgrade(revision="base")

    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
