"""Running probes in the worker: many at once on threads, results stored in batches.

A probe job only hands its checks to this process's pool and returns, so a slow or hanging
target holds one thread (until its own timeout), never the queue. Finished checks are
collected by one recorder thread and written a batch at a time, so thousands of monitors
cost a handful of transactions per second, and no process is forked per check.
"""

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import current_app

from ..models import utcnow
from .base import ProbeResult

log = logging.getLogger(__name__)

RECORD_EVERY = 0.5  # seconds between two batches of results written
RECORD_BATCH = 1000


def build_check(monitor):
    """A no-argument callable that probes ``monitor`` (read now, run later on a thread).

    TLS is verified against the system's trust store, or the CA file of the app's
    PROBE_CA_FILE setting when it has one (a private CA).
    """
    ca_file = current_app.config.get("PROBE_CA_FILE")
    if monitor.monitor_type == "endpoint":
        from .endpoint import probe_endpoint

        settings = dict(target=monitor.target, method=monitor.method, headers=dict(monitor.headers or {}),
                        follow_redirects=monitor.follow_redirects, verify_tls=monitor.verify_tls,
                        expected_statuses=monitor.expected_statuses, keyword=monitor.keyword,
                        timeout=monitor.timeout_seconds,
                        latency_threshold_ms=monitor.latency_threshold_ms, ca_certs=ca_file)
        return lambda: with_latency_detail(probe_endpoint(**settings))
    if monitor.monitor_type == "certificate":
        from .certificate import probe_certificate

        settings = dict(host=monitor.host, port=monitor.port, server_name=monitor.server_name,
                        warning_days=monitor.warning_days,
                        timeout=current_app.config["CERTIFICATE_TIMEOUT"], cafile=ca_file)
        return lambda: certificate_details(probe_certificate(**settings))
    raise ValueError(f"{monitor.monitor_type} monitors are not probed")


def with_latency_detail(result):
    return ProbeResult(result.state, result.latency_ms, result.error,
                       {**result.details, "last_latency_ms": result.latency_ms})


def certificate_details(result):
    """Keep only what a Certificate row stores (days_left is derived from expires_at)."""
    details = {name: result.details.get(name) for name in ("expires_at", "issuer", "subject")
               if name in result.details}
    return ProbeResult(result.state, result.latency_ms, result.error, details)


# The failed state of each probed kind, for a check that raised instead of answering.
FAILED_STATE = {"endpoint": "down", "certificate": "unreachable"}


def safely(check, monitor_type="endpoint"):
    """Run a check; any exception becomes a failed result in plain words, never a lost check."""
    try:
        return check()
    except Exception as error:  # a probe bug must not take the others down
        log.exception("probe failed unexpectedly")
        return ProbeResult(FAILED_STATE[monitor_type], None,
                           f"probe error: {type(error).__name__}: {error}")


class ProbeRunner:
    """A probe pool and its recorder thread, bound to one app (its database and Redis)."""

    def __init__(self, app, concurrency):
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="probe")
        self.results = queue.Queue()
        self.recorder = threading.Thread(target=self._record_forever, name="probe-recorder",
                                         daemon=True)
        self.recorder.start()

    def submit(self, monitor_type, monitor_id, check, due_epoch):
        self.pool.submit(self._run, monitor_type, monitor_id, check, due_epoch)

    def stop(self, timeout=None):
        """Stop taking checks, let the started ones end (each within its own timeout),
        record every result, end the threads."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.results.put(_STOP)
        self.recorder.join(timeout)

    def _run(self, monitor_type, monitor_id, check, due_epoch):
        # Checks popped slightly early (the dispatcher looks ahead) wait for their due time.
        delay = due_epoch - time.time()
        if delay > 0:
            time.sleep(delay)
        result = safely(check, monitor_type)
        self.results.put((monitor_type, monitor_id, result, utcnow()))

    def _record_forever(self):
        from ..services.monitors import record_results

        stopping = False
        while not stopping:
            batch = [self.results.get()]
            if batch[0] is _STOP:
                return
            time.sleep(RECORD_EVERY)
            while len(batch) < RECORD_BATCH:
                try:
                    batch.append(self.results.get_nowait())
                except queue.Empty:
                    break
            stopping = _STOP in batch
            batch = [item for item in batch if item is not _STOP]
            if not batch:
                continue
            try:
                with self.app.app_context():
                    record_results(batch)
            except Exception:  # keep recording the next batches whatever happened
                log.exception("could not record %d probe results", len(batch))


_STOP = object()
RUNNER = "maintenant.probe_runner"
_runner_lock = threading.Lock()


def get_runner():
    """The current app's runner, started on first use (one per app, so one per process in
    the worker; an app never records through another app's database)."""
    app = current_app._get_current_object()
    with _runner_lock:
        runner = app.extensions.get(RUNNER)
        if runner is None:
            runner = app.extensions[RUNNER] = ProbeRunner(app, app.config["PROBE_CONCURRENCY"])
        return runner


def stop_runner(app, timeout=10):
    """Stop ``app``'s runner, if it started one (tests; an orderly shutdown)."""
    with _runner_lock:
        runner = app.extensions.pop(RUNNER, None)
    if runner is not None:
        runner.stop(timeout)


def load_checks(refs):
    """[(type, id, check)] for the monitors of ``refs`` that still exist and are not paused."""
    from ..services.monitors import load_monitors

    monitors = load_monitors(refs)
    return [(kind, monitor_id, build_check(monitors[(kind, monitor_id)]))
            for kind, monitor_id in refs
            if (kind, monitor_id) in monitors and not monitors[(kind, monitor_id)].paused]


def start_probes(due):
    """Hand due checks [(type, id, due_epoch)] to the pool; returns how many were started."""
    due_at = {(kind, monitor_id): at for kind, monitor_id, at in due}
    checks = load_checks(list(due_at))
    runner = get_runner()
    for kind, monitor_id, check in checks:
        runner.submit(kind, monitor_id, check, due_at[(kind, monitor_id)])
    return len(checks)


def probe_now(refs):
    """Probe monitors at once and store the results before returning (API "check now", tests)."""
    from ..services.monitors import record_results

    checks = load_checks(refs)
    pool = get_runner().pool
    futures = [(kind, monitor_id, pool.submit(safely, check, kind))
               for kind, monitor_id, check in checks]
    results = [(kind, monitor_id, future.result(), utcnow()) for kind, monitor_id, future in futures]
    return record_results(results)
