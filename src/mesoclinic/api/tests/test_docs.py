"""The API docs page (finding 13): Swagger UI from our own static files, nothing from another
host, no inline script; signed-in staff only in production, open in development."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

DOCS = "/api/v1/docs"
SCHEMA = "/api/v1/openapi.json"


def test_the_docs_reference_only_same_origin_assets(client) -> None:
    response = client.get(DOCS)
    assert response.status_code == 200
    body = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]*)"', body)
    assert urls, body
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert not re.search(r"https?://", body)
    # Every asset it names is one of our static files.
    for url in urls:
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")) is not None, url


def test_the_docs_have_no_inline_script(client) -> None:
    body = client.get(DOCS).content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", body, flags=re.S)
    for attributes, content in scripts:
        # Only external scripts run; the settings block is JSON data, which the CSP allows.
        assert 'src="' in attributes or 'type="application/json"' in attributes, attributes
        if 'type="application/json"' in attributes:
            assert "validatorUrl" in content  # no badge image from validator.swagger.io


def test_the_ui_settings_read_the_schema_from_this_site(client) -> None:
    body = client.get(DOCS).content.decode()
    assert '"url": "/api/v1/openapi.json"' in body
    assert '"validatorUrl": null' in body


@pytest.mark.parametrize("path", [DOCS, SCHEMA])
def test_production_sends_anonymous_readers_to_sign_in(client, settings, path) -> None:
    settings.PRODUCTION = True
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={path}"


@pytest.mark.parametrize("path", [DOCS, SCHEMA])
def test_production_shows_the_docs_to_signed_in_staff(cast, settings, path) -> None:
    settings.PRODUCTION = True
    assert cast.client_for(cast.receptionist).get(path).status_code == 200


def test_development_leaves_the_docs_open(settings) -> None:
    settings.PRODUCTION = False
    assert Client().get(DOCS).status_code == 200


def test_swagger_assets_ship_with_the_pinned_package() -> None:
    bundle = finders.find("ninja/swagger-ui-bundle.js")
    assert bundle is not None
    assert Path(bundle).stat().st_size > 100_000


def test_the_docs_are_served_under_the_strict_csp(client) -> None:
    policy = client.get(DOCS)["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
