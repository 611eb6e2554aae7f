"""Typed requests and the request-id middleware."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from mesoclinic.accounts.models import Clinic, User
    from mesoclinic.accounts.permissions import Perm

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ClinicRequest(HttpRequest):
    """A request from a signed-in staff member, with the clinic they are working in."""

    user: User
    clinic: Clinic | None
    perms: frozenset[Perm]
    roles: frozenset[str]
    request_id: str
    htmx: HtmxDetails


class RequestIdMiddleware:
    """Tag each request with an id (kept from X-Request-ID when sane) for logs and the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def client_address(request: HttpRequest) -> str | None:
    """The peer address (a proxy in front is expected to set REMOTE_ADDR correctly)."""
    return request.META.get("REMOTE_ADDR") or None
