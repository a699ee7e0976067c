"""The PostgreSQL pool's size comes from the environment (small plans allow few connections)."""

import subprocess
import sys

SHOW_POOL = """
from maintenant import create_app
from maintenant.extensions import db
app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql://127.0.0.1:1/none", "REDIS_URL": None})
with app.app_context():
    pool = db.engine.pool
    print(pool.size(), pool._max_overflow, pool._pre_ping)
"""


def pool_of(**env):
    result = subprocess.run([sys.executable, "-c", SHOW_POOL], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", **env}, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_default_pool_keeps_five_and_opens_ten_more_when_busy():
    assert pool_of() == ["5", "10", "True"]


def test_the_pool_is_set_from_the_environment():
    assert pool_of(MAINTENANT_DB_POOL_SIZE="2", MAINTENANT_DB_MAX_OVERFLOW="1") == \
        ["2", "1", "True"]
