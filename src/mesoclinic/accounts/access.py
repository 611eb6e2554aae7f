"""Scoped getters for accounts objects, and the cached bearer-token lookup the API uses."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.utils import timezone

from mesoclinic.accounts.models import ApiToken, Clinic

# Longer than any bearer token we issue ("mc_" + 43 characters); longer ones are not looked up.
MAX_TOKEN_LENGTH = 200


def _cache_key(token_hash: str) -> str:
    return f"api-token:{token_hash}"


def active_token(raw: str) -> ApiToken | None:
    """The active token with this raw value, or None; cached for API_TOKEN_CACHE_SECONDS.

    The cache is per process (LocMem): `forget_token` makes a revocation count at once in the
    revoking process, and other processes honour it once their copy expires. Expiry is checked
    on every call against the cached `expires_at`, so an expired token is refused to the second.
    """
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    token_hash = ApiToken.hash(raw)
    key = _cache_key(token_hash)
    token: ApiToken | None = cache.get(key)
    if token is None:
        token = ApiToken.objects.select_related("clinic__organisation").filter(token_hash=token_hash).first()
        if token is None or not token.is_active():
            return None  # unknown tokens are not cached: nothing to look up cheaply next time
        # "Last used" costs one UPDATE per token per process per cache lifetime, not per call.
        token.last_used_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=token.last_used_at)
        cache.set(key, token, timeout=settings.API_TOKEN_CACHE_SECONDS)
    if not token.is_active():
        cache.delete(key)
        return None
    return token


def forget_token(token: ApiToken) -> None:
    """Drop this process's cached copy of the token (after a revocation)."""
    cache.delete(_cache_key(token.token_hash))


def token_for(clinic: Clinic, public_id: uuid.UUID | str) -> ApiToken:
    """One of the clinic's tokens; any other clinic's token is a 404, like a missing one."""
    token = (
        ApiToken.objects.select_related("clinic", "created_by")
        .filter(clinic=clinic, public_id=public_id)
        .first()
    )
    if token is None:
        raise Http404("no such token")
    return token
