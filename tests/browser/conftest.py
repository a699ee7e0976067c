"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and the real app.

The app is the Procfile's web command (gunicorn, gevent workers) on a free port, over a
temporary SQLite database migrated by the release command, on the test Redis with this run's
channel prefix. Playwright never downloads a browser here: it drives /usr/bin/chromium, which
.ci/run installs.
"""

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import TEST_PREFIX, TEST_REDIS_URL
from test_processes import (ROOT, Processes, free_port, marked_pids, procfile, signal_group,
                            wait_for)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"



def skip_without_a_browser():
    """Skip the calling test module when Chromium or Playwright is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)",
                    allow_module_level=True)
    pytest.importorskip("playwright.sync_api",
                        reason="playwright is missing (pip install -e '.[test]')")


@pytest.fixture
def artifacts():
    """The folder screenshots go to (git ignores it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class Server:
    """The web process from the Procfile, and the operator API spoken to over HTTP."""

    def __init__(self, processes, database_url):
        self.processes = processes
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Two workers: a fetch after an event may reach the worker that did not see it first.
        self.env = processes.env(DATABASE_URL=database_url, REDIS_URL=TEST_REDIS_URL,
                                 MAINTENANT_REDIS_PREFIX=TEST_PREFIX, PORT=str(self.port),
                                 WEB_CONCURRENCY="2")
        self.web = None
        self.token = None

    def migrate(self):
        returncode, text = self.processes.run(procfile()["release"], self.env)
        assert returncode == 0, text

    def create_token(self):
        """A write token made the way an operator makes one: ``flask --app app tokens create``."""
        result = subprocess.run(["flask", "--app", "app", "tokens", "create", "browser-test"],
                                cwd=ROOT, env=self.env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        self.token = result.stdout.strip().splitlines()[-1]

    def start(self):
        self.web = self.processes.start(procfile()["web"], self.env, name="web")
        wait_for(self.url + "/healthz", self.web)

    def stop(self):
        """Stop the web process (its whole process group) and wait until all of it is gone.

        gunicorn lets open streams run for its graceful timeout before the workers exit.
        """
        signal_group(self.web, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while marked_pids(self.processes.marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marked_pids(self.processes.marker) == [], "the web process did not stop"
        self.web.wait(5)

    def api(self, method, path, body=None):
        """Call /api/v1 with the write token; returns the decoded JSON (None for 204)."""
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            pytest.fail(f"{method} {path} answered {error.code}: {error.read().decode()}")
        return json.loads(text) if text else None


@pytest.fixture
def server(tmp_path, redis_conn):
    """The real app over HTTP, with an empty database and an operator token."""
    processes = Processes(tmp_path)
    server = Server(processes, "sqlite:///" + str(tmp_path / "maintenant.db"))
    try:
        server.migrate()
        server.create_token()
        server.start()
        yield server
    finally:
        processes.stop_all()
    assert marked_pids(processes.marker) == [], "processes outlived the test"
