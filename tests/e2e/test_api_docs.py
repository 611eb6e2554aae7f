"""The API docs in a real browser: Swagger UI renders from our own static files under the CSP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Problems

pytestmark = pytest.mark.e2e


def test_swagger_ui_renders_the_schema_without_csp_violations(page: Any, problems: Problems,
                                                              live_server: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/v1/docs")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for()
    assert "Mesoclinic API" in title.inner_text()
    page.locator("#operations-tokens-mesoclinic_api_views_revoke_current_token").wait_for()
    assert problems.all() == []
    assert requested
    assert [url for url in requested if not url.startswith(live_server.url + "/")] == []
