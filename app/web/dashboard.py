"""/dashboard: the pages and their vendored libraries, under a policy that forbids inline script.

The pages hold no data of their own: they sign in with an API key kept in the tab's
sessionStorage and read everything through the v1 API with it, so a key sees in the dashboard
exactly what it may read through the API.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
_IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.DOTALL)


@lru_cache(maxsize=1)
def content_security_policy() -> str:
    """Scripts from the API only (the page's import map allowed by its hash), styles from the
    API only, no inline handlers, nothing fetched from elsewhere."""
    found = _IMPORT_MAP.search((STATIC / "index.html").read_text(encoding="utf-8"))
    if found is None:
        raise RuntimeError("app/web/static/index.html has no import map")
    digest = base64.b64encode(hashlib.sha256(found.group(1).encode()).digest()).decode()
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'sha256-{digest}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class _DashboardFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = content_security_policy()
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        # Revalidated on each load (ETag), so an upgrade is seen without a hard reload.
        response.headers["Cache-Control"] = "no-cache"
        return response


def install_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at /dashboard/."""

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    app.mount("/dashboard", _DashboardFiles(directory=STATIC, html=True), name="dashboard")
