"""The Celery face: configuration and thin task wrappers around `app`."""
