"""The RQ worker entry (Procfile ``worker``): pushes an app context, then works the queues.

    python worker.py                    work the probes, notifications and default queues
    python worker.py notifications      work only the queues named (a worker dedicated to mail)
    python worker.py --burst            work until the queues are empty, then exit
"""

import argparse
import logging
import sys
import time

import redis
from flask import current_app
from rq import SimpleWorker
from rq.exceptions import StopRequested

from maintenant import create_app
from maintenant.extensions import QUEUES, redis_client
from maintenant.launcher import REDIS_URL_MISSING
from maintenant.logs import configure as configure_logs
from maintenant.monitors.runner import stop_runner

log = logging.getLogger("maintenant.worker")
# Seconds before a new worker takes over from one that rq's loop gave up on.
REDIS_RETRY = 1


class AppWorker(SimpleWorker):
    """Runs jobs in its own process (no fork per job: jobs are small and many).

    Each job gets a fresh app context, so it starts with its own database session and
    leaves no transaction open behind it.
    """

    # Redis unreachable while waiting for jobs: rq retries with a doubling delay, capped here
    # (rq's cap is 60 s) so that the queues are worked again within seconds of its return.
    max_connection_wait_time = 4.0

    stopping = False  # asked to stop (SIGTERM, SIGINT), as opposed to given up on Redis

    def request_stop(self, signum, frame):
        self.stopping = True
        super().request_stop(signum, frame)

    def execute_job(self, job, queue):
        with current_app._get_current_object().app_context():
            return super().execute_job(job, queue)


def work(connection, burst, queues=QUEUES):
    """Work the queues with a new worker; True when done, False when Redis made rq give up.

    rq's loop survives Redis going away only while it waits for a job: an error anywhere
    else (a heartbeat, a job's own bookkeeping) ends it. The process must not end with it,
    or nothing would work the queues once Redis is back.
    """
    worker = AppWorker(queues, connection=connection)
    try:
        worker.work(burst=burst)
    except (redis.ConnectionError, redis.TimeoutError) as error:  # from rq's own clean-up
        log.warning("worker stopped by a Redis failure (%s)", error)
    if burst or worker.stopping:
        return True
    log.warning("rq's work loop ended without being asked to; a new worker starts in %d s",
                REDIS_RETRY)
    return False


def main(argv=None):
    parser = argparse.ArgumentParser(description="Work the maintenant job queues.")
    parser.add_argument("--burst", action="store_true",
                        help="work until the queues are empty, then exit")
    parser.add_argument("queues", nargs="*", metavar="QUEUE",
                        help=f"the queues to work, in order of priority ({', '.join(QUEUES)}); "
                             "all of them by default")
    args = parser.parse_args(argv)
    unknown = [name for name in args.queues if name not in QUEUES]
    if unknown:
        parser.error(f"no such queue: {', '.join(unknown)} (the queues: {', '.join(QUEUES)})")
    configure_logs("worker")

    app = create_app()
    with app.app_context():
        if not redis_client.configured:
            sys.exit(REDIS_URL_MISSING.format(process="worker"))
        # A connection of its own: rq lengthens its socket timeout to cover the blocking
        # wait for jobs, while the app's pool keeps a short one for the jobs' own commands.
        connection = redis.Redis.from_url(app.config["REDIS_URL"])
        try:
            while not work(connection, args.burst, args.queues or QUEUES):
                time.sleep(REDIS_RETRY)
        except StopRequested:  # a signal between two workers (rq's handler is still set)
            pass
        finally:
            # The probe threads are daemons: without this, the results of checks already
            # handed to them would die with the process (every --burst run, every restart).
            stop_runner(app)


if __name__ == "__main__":
    main()
