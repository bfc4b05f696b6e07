"""Task services: the lifecycle every status change goes through."""

from app.tasks.lifecycle import TaskLifecycle

__all__ = ["TaskLifecycle"]
