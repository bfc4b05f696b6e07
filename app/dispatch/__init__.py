"""Enqueue, claim and process tasks: the only code that talks to Celery."""
