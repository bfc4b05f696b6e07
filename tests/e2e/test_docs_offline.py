"""/docs and /redoc load everything they need from the API itself: no CDN, so they work offline."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support import Service


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_need_nothing_from_outside(service: Service, page: str) -> None:
    with httpx.Client(base_url=service.topology.api_url) as http:
        html = http.get(page)
        assert html.status_code == 200
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
        outside = [url for url in assets if re.match(r"^(https?:)?//", url)]
        assert outside == [], f"{page} loads from outside the machine"
        assert any(url.endswith(".js") for url in assets), assets
        for url in assets:
            assert http.get(url).status_code == 200, url
        assert http.get("/openapi.json").status_code == 200
