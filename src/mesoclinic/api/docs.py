"""The API's Swagger UI page from our own static files, and who may read it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from ninja.openapi.docs import Swagger

from mesoclinic.accounts.models import User

# ninja's own template (INSTALLED_APPS has "ninja") loads swagger-ui from STATIC_URL and passes
# its settings in a JSON data block read by swagger-ui-init.js: no CDN and no inline script, so
# the page works under our CSP. No online validator: its badge is an image from another host.
DOCS = Swagger(settings={"validatorUrl": None})


def staff_only_in_production(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """In production the docs and the schema are for signed-in staff; open in development."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        # Read at request time, so that a test can switch the profile on.
        if settings.PRODUCTION and not (
            user.is_authenticated and isinstance(user, User) and user.kind == User.Kind.STAFF
        ):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper
