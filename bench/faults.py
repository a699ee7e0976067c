"""The fault script: the Procfile's processes against a private Redis and PostgreSQL, broken on
purpose, and checked for what was lost.

    .venv/bin/python bench/faults.py [--only NAME ...] [--keep]

Each scenario lives in a module of this folder (fault_redis.py, fault_processes.py,
fault_postgres.py) as ``SCENARIOS = {name: function(workdir) -> (ok, lines)}``: it starts
what it needs in ``workdir``, breaks it, prints what it measured in ``lines`` and says whether
every promise held. Scenarios run one after the other (they all want the two cores). Exit
code 0 when every scenario held. See docs/reliability.md for what each one proves.
"""

import stdlib_first  # noqa: F401,I001 (first: see its docstring)
import argparse
import importlib
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

MODULES = ("fault_redis", "fault_processes", "fault_postgres")


def scenarios():
    found = {}
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        found.update(module.SCENARIOS)
    return found


def main(argv=None):
    available = scenarios()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(available),
                        help="run only this scenario (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the logs' folder")
    args = parser.parse_args(argv)
    chosen = args.only or list(available)
    results = []
    for name in chosen:
        workdir = Path(tempfile.mkdtemp(prefix=f"maintenant-fault-{name}-"))
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            ok, lines = available[name](workdir)
        except Exception:  # noqa: BLE001 — a scenario that breaks is a failed scenario
            ok, lines = False, ["the scenario broke:", *traceback.format_exc().splitlines()]
        for line in lines:
            print(f"   {line}", flush=True)
        took = time.monotonic() - started
        print(f"   {name}: {'held' if ok else 'FAILED'} ({took:.0f} s)"
              + (f"; logs in {workdir}" if args.keep or not ok else ""), flush=True)
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        results.append((name, ok))
    failed = [name for name, ok in results if not ok]
    print(f"faults: {len(results) - len(failed)} of {len(results)} scenarios held"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
