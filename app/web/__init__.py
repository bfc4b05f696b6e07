"""The operator dashboard: static pages served by the API that call its public v1 routes."""

from app.web.dashboard import content_security_policy, install_dashboard

__all__ = ["content_security_policy", "install_dashboard"]
