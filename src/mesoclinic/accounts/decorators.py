"""Re-authentication ("sudo mode") for security settings: recovery codes, API tokens."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

REAUTH_AT = "reauthenticated_at"

View = Callable[..., HttpResponse]


def mark_reauthenticated(request: HttpRequest) -> None:
    """The password and a code were just entered (at sign-in or re-authentication)."""
    request.session[REAUTH_AT] = timezone.now().timestamp()


def recently_reauthenticated(request: HttpRequest) -> bool:
    at = request.session.get(REAUTH_AT)
    if not isinstance(at, int | float):
        return False
    age = timezone.now().timestamp() - at
    return 0 <= age <= settings.REAUTH_SECONDS


def require_reauth(view: View) -> View:
    """Send the user to enter their password and a code first, unless they did so lately.

    Like healthchecks' `require_sudo_mode`: a session left open on a clinic workstation, or a
    stolen cookie, must not be enough to mint recovery codes or API tokens. Nothing runs
    without it, whatever the method; afterwards the user comes back here with a GET.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not recently_reauthenticated(request):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:reauth')}?{query}")
        return view(request, *args, **kwargs)

    return wrapper
