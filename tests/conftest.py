"""Fixtures that start the real topology: stand-ins, redis-server, the API and Celery workers."""

from __future__ import annotations

import faulthandler
import sys
from collections.abc import Iterator

import pytest

from tests.support import Service, running_service

# After the session the interpreter must exit. A thread or a library's exit hook that waits on
# something that never ends (an in-process app's event loop whose shutdown hangs) would hold
# CI until its deadline without a word: past this, every thread's stack is printed and the
# process exits with status 1.
EXIT_DEADLINE_SECONDS = 60


@pytest.fixture(scope="session")
def service() -> Iterator[Service]:
    """The whole service on real processes, with two Celery worker processes."""
    with running_service(workers=2, concurrency=4) as running:
        yield running


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    faulthandler.dump_traceback_later(EXIT_DEADLINE_SECONDS, exit=True, file=sys.__stderr__)
