"""Command-line faces of the service (`python -m app.cli ...`)."""
