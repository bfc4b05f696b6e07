"""`python -m worker.healthcheck`: exit 0 when this host's worker beat lately and reports ok.

The container's HEALTHCHECK: it reads the heartbeat the worker's watchdog writes to
WORKER_HEARTBEAT_FILE, so it needs neither Redis nor a reply to a Celery broadcast, and a
worker whose tasks make no progress (`stalled`) is unhealthy too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.dispatch.workers import read_heartbeat_file


def main() -> int:
    path = os.environ.get("WORKER_HEARTBEAT_FILE")
    if not path:
        print("unhealthy: WORKER_HEARTBEAT_FILE is not set", file=sys.stderr)
        return 1
    problem = read_heartbeat_file(Path(path))
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
