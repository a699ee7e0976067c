"""The processes' log lines: one format, a level from the environment, no secrets in URLs."""

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from maintenant.logs import REDACTED, redact

from conftest import TEST_PREFIX, TEST_REDIS_URL
from test_processes import (  # noqa: F401 (fixtures)
    free_port, output, procfile, processes, sqlite_url, wait_for, wait_until,
)

SECRET = "s3cr3t-token-of-43-characters-aaaaaaaaaaaaa"


@pytest.mark.parametrize("text, expected", [
    (f"GET /ping/{SECRET} HTTP/1.1", f"GET /ping/{REDACTED} HTTP/1.1"),
    (f"/ping/{SECRET}/fail", f"/ping/{REDACTED}/fail"),
    (f"POST /ping/{SECRET}/start?x=1 HTTP/1.1", f"POST /ping/{REDACTED}/start?x=1 HTTP/1.1"),
    (f"/status/subscribe/confirm/{SECRET}", f"/status/subscribe/confirm/{REDACTED}"),
    (f"/status/subscription/{SECRET}/unsubscribe",
     f"/status/subscription/{REDACTED}/unsubscribe"),
    ("GET /status/ HTTP/1.1", "GET /status/ HTTP/1.1"),
    ("/api/v1/heartbeats/3", "/api/v1/heartbeats/3"),
    ("", ""),
    (None, None),
])
def test_secret_parts_of_urls_are_redacted(text, expected):
    assert redact(text) == expected


def run_python(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", **env}, timeout=60)


LOG_SOME = """
import logging
from maintenant.logs import configure
configure("worker")
logging.getLogger("maintenant.outbox").debug("the details")
logging.getLogger("maintenant.outbox").info("kept for later")
logging.getLogger("maintenant.outbox").warning("Redis unavailable")
logging.getLogger("rq.worker").info("default: job started")
"""


def test_lines_name_time_level_process_and_logger():
    result = run_python(LOG_SOME)

    lines = result.stderr.splitlines()
    assert any(line.endswith("INFO worker maintenant.outbox: kept for later") for line in lines)
    warning = next(line for line in lines if "Redis unavailable" in line)
    assert warning.split(" ")[0].count("-") == 2  # starts with the date
    assert "WARNING worker maintenant.outbox: Redis unavailable" in warning
    assert "INFO worker rq.worker: default: job started" in result.stderr  # RQ's, alike
    assert "the details" not in result.stderr  # DEBUG only when asked


def test_the_level_comes_from_the_environment():
    quiet = run_python(LOG_SOME, MAINTENANT_LOG_LEVEL="warning")
    chatty = run_python(LOG_SOME, MAINTENANT_LOG_LEVEL="DEBUG")
    unknown = run_python(LOG_SOME, MAINTENANT_LOG_LEVEL="loud")

    assert "kept for later" not in quiet.stderr and "Redis unavailable" in quiet.stderr
    assert "job started" not in quiet.stderr  # RQ's four lines a job, quieted
    assert "DEBUG worker maintenant.outbox: the details" in chatty.stderr
    assert "kept for later" in unknown.stderr  # not a level: INFO


def test_the_web_access_log_never_shows_ping_or_subscription_tokens(processes, sqlite_url):
    env = processes.env(DATABASE_URL=sqlite_url, REDIS_URL=TEST_REDIS_URL,
                        MAINTENANT_REDIS_PREFIX=TEST_PREFIX, PORT=str(free_port()),
                        WEB_CONCURRENCY="1")
    assert processes.run(procfile()["release"], env)[0] == 0
    web = processes.start(procfile()["web"], env, name="web")
    base = f"http://127.0.0.1:{env['PORT']}"
    wait_for(f"{base}/healthz", web)

    for path in (f"/ping/{SECRET}", f"/ping/{SECRET}/fail",
                 f"/status/subscription/{SECRET}/unsubscribe"):
        try:
            urllib.request.urlopen(base + path, timeout=5).read()
        except urllib.error.HTTPError:
            pass  # unknown tokens: 404, logged all the same

    wait_until(lambda: output(web).count(REDACTED) >= 3, web, "the three requests logged")
    log = output(web)
    assert SECRET not in log
    assert f"/ping/{REDACTED}/fail" in log
