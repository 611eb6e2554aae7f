from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mesoclinic.accounts.permissions import Role


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
        # Role names in the reader's language.
        "my_roles": sorted(str(Role(r).label) for r in getattr(request, "roles", frozenset())),
        "my_clinics": clinics,
    }
