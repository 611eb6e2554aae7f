"""The typed request every staff page receives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

from mesoclinic.accounts.models import Clinic, Membership, User
from mesoclinic.accounts.permissions import Perm

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails


class ClinicRequest(HttpRequest):
    """A request from a signed-in staff member, with the clinic they are working in."""

    user: User
    clinic: Clinic | None
    memberships: list[Membership]
    perms: frozenset[Perm]
    roles: frozenset[str]
    request_id: str
    htmx: HtmxDetails
