"""Fixtures that start the real topology: stand-ins, redis-server, the API and Celery workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import Service, running_service


@pytest.fixture(scope="session")
def service() -> Iterator[Service]:
    """The whole service on real processes, with two Celery worker processes."""
    with running_service(workers=2, concurrency=4) as running:
        yield running
