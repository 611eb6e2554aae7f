from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def staff_context(request: HttpRequest) -> dict[str, Any]:
    """Expose the active clinic and permissions to every template."""
    # Error pages can render before AuthenticationMiddleware ran (e.g. a static-file 404).
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    clinics = sorted({m.clinic for m in user.memberships.select_related("clinic")}, key=str)
    return {
        "active_clinic": getattr(request, "clinic", None),
        "perms": {p.value for p in getattr(request, "perms", frozenset())},
        "my_roles": sorted(getattr(request, "roles", frozenset())),
        "my_clinics": clinics,
    }
