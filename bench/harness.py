"""What the fault script and the soak share: private servers and the Procfile's processes.

- ``RedisServer``: a private redis-server on a port of its own that can be stopped and started
  again on the same port (no persistence: a restart empties it, like a PaaS Redis losing its
  data).
- ``PostgresServer``: a private PostgreSQL cluster (initdb in a temporary folder, run as the
  ``postgres`` user when started by root), stoppable and startable on the same port, so a
  fault never touches the machine's own cluster.
- ``Process`` and ``procfile_process``: a Procfile line run as it is, in a session of its own,
  its output in a file; ``kill`` sends a signal to the whole group.
- ``request``, ``wait_until``, ``wait_for_http``: small HTTP and polling helpers.
"""

import http.client
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, what, timeout=60.0, poll=0.1, process=None):
    """Poll ``condition()`` until it is truthy; return its value.

    Raises:
        TimeoutError: after ``timeout`` seconds, or at once when ``process`` has exited.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.popen.poll() is not None:
            raise TimeoutError(f"{what}: {process.name} exited:\n{process.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(poll)


# --- processes ------------------------------------------------------------------------------

class Process:
    """A process in a session of its own, its output appended to ``<log_dir>/<name>.log``."""

    def __init__(self, name, args, env, log_dir, cwd=ROOT, stop_signal=signal.SIGTERM):
        self.name = name
        self.args = args
        self.env = env
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.log_path = Path(log_dir) / f"{name}.log"
        self.popen = None
        self.start()

    def start(self):
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(self.args, cwd=self.cwd, env=self.env,
                                          stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def output(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self, signum=signal.SIGKILL):
        """Send ``signum`` to the process's whole group (a gunicorn master and its workers)."""
        try:
            os.killpg(self.popen.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace=15):
        if self.alive:
            self.kill(self.stop_signal)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.popen.wait()
        self.kill(signal.SIGKILL)  # anything left in its session
        if self.popen is not None:
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def children(self):
        """The process's children (gunicorn's workers), as psutil processes."""
        import psutil

        try:
            return psutil.Process(self.popen.pid).children()
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self):
        return cpu_seconds(self.popen.pid)

    def rss(self):
        """Resident memory of the process and its children, in bytes."""
        import psutil

        total = 0
        try:
            process = psutil.Process(self.popen.pid)
            for member in [process, *process.children(recursive=True)]:
                try:
                    total += member.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
        except psutil.NoSuchProcess:
            pass
        return total


def cpu_seconds(pid):
    """User + system CPU of a process and its children, live and reaped."""
    import psutil

    try:
        process = psutil.Process(pid)
        total = sum(process.cpu_times()[:4])
        for child in process.children(recursive=True):
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return 0.0


def procfile():
    """{name: command line} from the project's Procfile."""
    from honcho.environ import parse_procfile

    return parse_procfile((ROOT / "Procfile").read_text()).processes


def process_env(database_url, redis_url, **settings):
    """The environment of a Procfile process: this machine's, minus the project's own
    settings, plus the given ones (``MAINTENANT_FOO="x"`` style keyword arguments)."""
    env = {name: value for name, value in os.environ.items()
           if not re.match(r"^(DATABASE_URL|REDIS_URL|PORT|WEB_CONCURRENCY|GUNICORN_CMD_ARGS|"
                           r"SMTP_\w+|MAINTENANT_\w+|TEST_\w+)$", name)}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, PYTHONUNBUFFERED="1")
    env.update({name: str(value) for name, value in settings.items()})
    return env


def command(line, env):
    """A Procfile line as an argument list, its program found on the processes' PATH."""
    args = shlex.split(line)
    args[0] = shutil.which(args[0], path=env["PATH"]) or args[0]
    return args


def procfile_process(kind, env, log_dir, name=None):
    """Start the Procfile's ``kind`` line (web, worker, scheduler, release) as it is."""
    return Process(name or kind, command(procfile()[kind], env), env, log_dir)


def release(env, log_dir, timeout=120):
    """Run the Procfile's release line (the migrations) to completion."""
    process = procfile_process("release", env, log_dir)
    try:
        process.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        process.stop()
        raise
    if process.popen.returncode != 0:
        raise RuntimeError(f"release failed:\n{process.output()[-3000:]}")


# --- HTTP ----------------------------------------------------------------------------------

def request(port, method, path, body=None, token=None, timeout=30, headers=None):
    """One HTTP request; (status, parsed JSON or raw bytes, response headers)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    sent = dict(headers or {})
    if body is not None:
        sent["Content-Type"] = "application/json"
    if token:
        sent["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, None if body is None else json.dumps(body), sent)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    if response.headers.get_content_type() == "application/json" and data:
        try:
            data = json.loads(data)
        except ValueError:
            pass
    return response.status, data, response.headers


def wait_for_http(process, port, path="/healthz", timeout=60):
    """Wait until ``GET path`` answers 200."""
    def up():
        try:
            return request(port, "GET", path, timeout=5)[0] == 200
        except OSError:
            return False

    wait_until(up, f"{process.name} answering {path}", timeout, poll=0.2, process=process)


# --- private servers ------------------------------------------------------------------------

class RedisServer:
    """A private redis-server that can be stopped and started again on the same port."""

    def __init__(self, workdir, name="redis", maxclients=20000):
        self.workdir = Path(workdir)
        self.name = name
        self.port = free_port()
        self.maxclients = maxclients
        self.process = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=5, socket_connect_timeout=2)

    def start(self, timeout=10):
        import redis

        self.process = Process(self.name, [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--maxclients", str(self.maxclients),
            "--dir", str(self.workdir)], os.environ.copy(), self.workdir)

        def answers():
            try:
                return self.client().ping()
            except redis.RedisError:
                return False

        wait_until(answers, "redis-server starting", timeout, poll=0.05, process=self.process)
        return self

    def stop(self):
        """Stop at once (SIGKILL): what a crash or a lost host looks like to its clients."""
        if self.process is not None:
            self.process.kill(signal.SIGKILL)
            self.process.popen.wait(10)
            self.process = None

    def restart(self):
        self.stop()
        return self.start()


def _postgres_bin(program):
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{program}"))
    if found:
        return str(found[-1])
    return shutil.which(program) or program


class PostgresServer:
    """A private PostgreSQL cluster in a temporary folder, on a port of its own.

    Run as the ``postgres`` user when this process is root (PostgreSQL refuses root), so its
    folder is made in the system's temporary folder, which that user can reach (a scenario's
    own folder is private to root). Trust authentication on 127.0.0.1; one database,
    ``maintenant``.
    """

    def __init__(self, name="postgres"):
        self.name = name
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="maintenant-pg-"))
        self.data = self.workdir / "data"
        self.log = self.workdir / "postgres.log"
        self._user = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self.workdir, entry.pw_uid, entry.pw_gid)
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U",
                  "postgres", "--no-sync", "-E", "UTF8")
        self.start()
        self._run(_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "postgres", "maintenant")

    @property
    def url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}/maintenant"

    def _run(self, *args):
        if self._user:
            args = ("runuser", "-u", self._user, "--", *args)
        completed = subprocess.run(args, capture_output=True, text=True)
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{completed.stdout}{completed.stderr}")
        return completed

    def start(self):
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                  "-o", f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c max_connections=200", "start")
        return self

    def stop(self, mode="immediate"):
        """Stop the server; ``immediate`` drops every connection at once, like a crash."""
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self):
        try:
            self.stop()
        except RuntimeError:
            pass
        shutil.rmtree(self.workdir, ignore_errors=True)
