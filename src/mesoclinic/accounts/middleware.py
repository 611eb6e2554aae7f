"""Resolve the signed-in staff member's clinic and permissions; end revoked sessions."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from mesoclinic.accounts.permissions import perms_for

SESSION_CLINIC = "clinic_id"
SESSION_EPOCH = "session_epoch"


class StaffSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.clinic = None  # type: ignore[attr-defined]
        request.perms = frozenset()  # type: ignore[attr-defined]
        request.roles = frozenset()  # type: ignore[attr-defined]
        user = request.user
        if user.is_authenticated:
            # "Sign out everywhere" bumps the epoch; older sessions end here.
            if request.session.get(SESSION_EPOCH) != user.session_epoch:
                logout(request)
                return self.get_response(request)
            memberships = list(user.memberships.select_related("clinic"))
            clinics = {m.clinic_id: m.clinic for m in memberships}
            chosen = request.session.get(SESSION_CLINIC)
            clinic_id = chosen if chosen in clinics else next(iter(clinics), None)
            if clinic_id is not None:
                roles = frozenset(m.role for m in memberships if m.clinic_id == clinic_id)
                request.clinic = clinics[clinic_id]  # type: ignore[attr-defined]
                request.roles = roles  # type: ignore[attr-defined]
                request.perms = perms_for(roles)  # type: ignore[attr-defined]
        return self.get_response(request)
