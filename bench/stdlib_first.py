"""Import first in every bench script: the standard library before this folder.

Python puts a script's own folder first on ``sys.path``, and this folder holds email.py (its
name is the issue's): without this, every ``import email`` (http.client, smtplib, aiosmtpd,
Flask...) would load that script instead of the standard library's package. This moves the
folder to the end, where ``import probes`` and the like still find the scripts.
"""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]
sys.path.append(str(BENCH))
