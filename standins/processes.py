"""Start and stop child processes (stand-ins, API, workers) and wait until they listen."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """Return a TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class ProcessFailed(RuntimeError):
    """A child process exited or never became ready."""


@dataclass
class ManagedProcess:
    """A child process we started, with the log file it writes to."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None = None
    port: int | None = None
    stopped: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait_port(self, host: str, port: int, timeout: float = 30.0) -> None:
        """Block until the child accepts TCP connections on host:port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise ProcessFailed(
                    f"{self.name} exited with {self.popen.returncode}\n{self.log_tail()}"
                )
            if port_open(host, port):
                self.port = port
                return
            time.sleep(0.05)
        raise ProcessFailed(f"{self.name} did not listen on {host}:{port} in {timeout}s")

    def kill(self) -> None:
        """SIGKILL the child and its process group (no clean-up: used by chaos tests)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        self.stopped = True

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child's process group, then SIGKILL it after timeout."""
        if self.stopped:
            return
        self.stopped = True
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the process that started it dies (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    cwd: Path | None = None,
    die_with_parent: bool = False,
) -> ManagedProcess:
    """Start argv in its own process group, output to log_path (or inherited when None).

    `die_with_parent`: the child gets SIGTERM if this process dies, even by SIGKILL (for a
    single-threaded parent such as the launcher; Linux only, ignored elsewhere).
    """
    full_env = {**os.environ, **(env or {})}
    out = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115
    linux = sys.platform.startswith("linux")
    try:
        popen = subprocess.Popen(
            list(argv),
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent and linux else None,
        )
    finally:
        if out is not None:
            out.close()
    return ManagedProcess(name=name, popen=popen, log_path=log_path)


def spawn_module(
    name: str,
    module: str,
    args: Sequence[str] = (),
    *,
    port: int | None = None,
    host: str = LOCALHOST,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    timeout: float = 30.0,
    die_with_parent: bool = False,
) -> ManagedProcess:
    """Run `python -m module args` and, when port is given, wait until it listens there."""
    argv = [sys.executable, "-m", module, *args]
    proc = spawn(name, argv, env=env, log_path=log_path, die_with_parent=die_with_parent)
    if port is not None:
        try:
            proc.wait_port(host, port, timeout)
        except ProcessFailed:
            proc.stop()
            raise
    return proc
