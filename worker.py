"""The RQ worker entry (Procfile ``worker``): pushes an app context, then works the queues.

    python worker.py            work the probes, notifications and default queues
    python worker.py --burst    work until the queues are empty, then exit
"""

import argparse
import sys

import redis
from flask import current_app
from rq import SimpleWorker

from maintenant import create_app
from maintenant.extensions import QUEUES, redis_client
from maintenant.launcher import REDIS_URL_MISSING
from maintenant.monitors.runner import stop_runner


class AppWorker(SimpleWorker):
    """Runs jobs in its own process (no fork per job: jobs are small and many).

    Each job gets a fresh app context, so it starts with its own database session and
    leaves no transaction open behind it.
    """

    def execute_job(self, job, queue):
        with current_app._get_current_object().app_context():
            return super().execute_job(job, queue)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Work the maintenant job queues.")
    parser.add_argument("--burst", action="store_true",
                        help="work until the queues are empty, then exit")
    args = parser.parse_args(argv)

    app = create_app()
    with app.app_context():
        if not redis_client.configured:
            sys.exit(REDIS_URL_MISSING.format(process="worker"))
        # A connection of its own: rq lengthens its socket timeout to cover the blocking
        # wait for jobs, while the app's pool keeps a short one for the jobs' own commands.
        connection = redis.Redis.from_url(app.config["REDIS_URL"])
        worker = AppWorker(QUEUES, connection=connection)
        try:
            worker.work(burst=args.burst)
        finally:
            # The probe threads are daemons: without this, the results of checks already
            # handed to them would die with the process (every --burst run, every restart).
            stop_runner(app)


if __name__ == "__main__":
    main()
