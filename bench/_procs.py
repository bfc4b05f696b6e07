"""What the benchmarks share: CPU time and peak memory of a process, a bare Celery worker."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from standins.processes import ManagedProcess, spawn
from standins.topology import Topology

ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """VmHWM (peak resident set) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def start_bare_worker(
    topology: Topology, name: str, app: str, concurrency: int, loglevel: str = "INFO"
) -> ManagedProcess:
    """A Celery worker of a bare anchor app (`bench._x:app`), threads pool, from the repo root."""
    argv = [
        sys.executable, "-m", "celery", "-A", app, "worker", "--hostname", f"{name}@%h",
        "--pool", "threads", "--concurrency", str(concurrency), "--loglevel", loglevel,
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    log_path = topology.workdir / f"{name}.log"
    proc = spawn(name, argv, env=topology.env, log_path=log_path, cwd=ROOT)
    topology.processes.append(proc)
    return proc
