"""Resolve the signed-in staff member's clinic, permissions, time zone and language."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control

from mesoclinic.accounts.permissions import perms_for
from mesoclinic.accounts.session import SESSION_CLINIC, SESSION_EPOCH, SESSION_TOUCHED


class StaffSessionMiddleware:
    """After authentication: the active clinic, its roles and permissions; pages render in the
    clinic's time zone and in the member's language (else the clinic's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.clinic = None  # type: ignore[attr-defined]
        request.memberships = []  # type: ignore[attr-defined]
        request.perms = frozenset()  # type: ignore[attr-defined]
        request.roles = frozenset()  # type: ignore[attr-defined]
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        # "Sign out everywhere" bumps the epoch; older sessions end here.
        if request.session.get(SESSION_EPOCH) != user.session_epoch:
            logout(request)
            return self.get_response(request)
        # Activity keeps the session alive: touching it makes SessionMiddleware save it with a
        # fresh expiry, at most once a SESSION_TOUCH_SECONDS.
        now = int(time.time())
        if now - request.session.get(SESSION_TOUCHED, 0) >= settings.SESSION_TOUCH_SECONDS:
            request.session[SESSION_TOUCHED] = now
        memberships = list(user.memberships.select_related("clinic__organisation"))
        request.memberships = memberships  # type: ignore[attr-defined]
        clinics = {m.clinic_id: m.clinic for m in memberships}
        chosen = request.session.get(SESSION_CLINIC)
        clinic_id = chosen if chosen in clinics else next(iter(clinics), None)
        language = user.language or settings.LANGUAGE_CODE
        if clinic_id is None:
            with translation.override(language):
                return self.get_response(request)
        clinic = clinics[clinic_id]
        roles = frozenset(m.role for m in memberships if m.clinic_id == clinic_id)
        request.clinic = clinic  # type: ignore[attr-defined]
        request.roles = roles  # type: ignore[attr-defined]
        request.perms = perms_for(roles)  # type: ignore[attr-defined]
        with (timezone.override(zoneinfo.ZoneInfo(clinic.timezone)),
              translation.override(user.language or clinic.language)):
            return self.get_response(request)


class NoStoreMiddleware:
    """No browser or proxy keeps a copy of a page or API answer that may hold patient data.

    The rule needs no list of pages: every response to a signed-in staff member or to an API
    token, and the sign-in pages (codes, recovery codes), is `no-store`. Static files never
    reach here (WhiteNoise, or runserver's handler in development, answer them first).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Read before the view: signing out ends the session, yet that answer was for staff too.
        signed_in = request.user.is_authenticated
        response = self.get_response(request)
        match = request.resolver_match
        if (signed_in or request.user.is_authenticated
                or getattr(request, "auth", None) is not None
                or (match is not None and "accounts" in match.namespaces)):
            patch_cache_control(response, no_store=True, no_cache=True, must_revalidate=True,
                                private=True, max_age=0)
            response["Pragma"] = "no-cache"
        return response
