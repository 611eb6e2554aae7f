"""Bearer-token authentication for integrations (tokens are scoped to a clinic and read/write)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from mesoclinic.accounts.models import ApiToken
from mesoclinic.audit.log import Actor
from mesoclinic.lib.http import client_address
from mesoclinic.patients.access import Principal


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        if len(token) > 200:
            return None
        found = (
            ApiToken.objects.select_related("clinic")
            .filter(token_hash=ApiToken.hash(token))
            .first()
        )
        if found is None or not found.is_active():
            return None
        actor = Actor(
            user_id=str(found.public_id),
            username=f"token:{found.name}",
            role=f"api:{found.scope}",
            client_address=client_address(request) or "",
            request_id=getattr(request, "request_id", ""),
            via="api",
        )
        return Principal(actor=actor, token=found)
