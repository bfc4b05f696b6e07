"""Agent orchestrator: the library shared by the API and the Celery workers."""
