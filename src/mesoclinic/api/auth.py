"""Bearer-token authentication for integrations (tokens are scoped to a clinic and read/write)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from mesoclinic.accounts.access import active_token
from mesoclinic.accounts.models import ApiToken
from mesoclinic.audit.log import Actor
from mesoclinic.kernel.principal import Principal
from mesoclinic.lib.http import client_address


class WriteScopeRequired(Exception):
    """A read-only token called an endpoint that writes; refused before the body is read."""

    def __init__(self, principal: Principal) -> None:
        super().__init__("this token is read-only")
        self.principal = principal


class TokenAuth(HttpBearer):
    """Resolve the bearer token; `write=True` endpoints refuse read-only tokens up front."""

    def __init__(self, *, write: bool = False) -> None:
        super().__init__()
        self.write = write

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        # Cached per process for a few seconds: no database query on most calls (accounts.access).
        found = active_token(token)
        if found is None:
            return None
        actor = Actor(
            user_id=str(found.public_id),
            username=f"token:{found.name}",
            role=f"api:{found.scope}",
            client_address=client_address(request) or "",
            request_id=getattr(request, "request_id", ""),
            via="api",
        )
        principal = Principal(actor=actor, token=found)
        if self.write and found.scope != ApiToken.Scope.WRITE:
            raise WriteScopeRequired(principal)
        return principal


class StaffSession(APIKeyCookie):
    """A signed-in staff member's browser session (CSRF-checked on writes): the tablet pages and
    scripts in the clinic use the API with the member's own roles, exactly as on the pages."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # No session cookie: not this scheme (a caller without credentials gets 401, not a CSRF 403).
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        if not request.user.is_authenticated or getattr(request, "clinic", None) is None:
            return None
        return Principal.for_request(request)
