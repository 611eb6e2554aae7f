"""Scoped page views: `@clinic_view(perm)` for the active clinic's pages.

The view shape every app follows (the patient equivalent is `patients.access.patient_view`):

    @require_GET
    @clinic_view(Perm.VIEW_STAFF)
    def staff_list(request: ClinicRequest, access: ClinicAccess) -> HttpResponse: ...

Anonymous callers are sent to sign in (their knock is counted); a member without the right gets
403, and the refusal is audited.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.log import Actor, actor_from_request, count_refusal, record
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.principal import Principal

P = ParamSpec("P")


@dataclass(frozen=True)
class ClinicAccess:
    """What a clinic page may do: the principal, the clinic and the rights held there."""

    principal: Principal
    clinic: Clinic
    perms: frozenset[Perm]

    @property
    def actor(self) -> Actor:
        return self.principal.actor

    @property
    def user(self) -> User:
        assert self.principal.user is not None  # noqa: S101 (pages are for signed-in staff)
        return self.principal.user

    def can(self, perm: Perm) -> bool:
        return perm in self.perms

    def audit(self, action: AuditEvent.Action, *, object_type: ObjectType, **fields: Any) -> AuditEvent:
        """Record an event filed under this clinic (and its organisation)."""
        fields.setdefault("organisation_id", str(self.clinic.organisation.public_id))
        return record(self.actor, action=action, object_type=object_type,
                      clinic_id=str(self.clinic.public_id), **fields)


def refuse_anonymous(request: HttpRequest, *, object_type: ObjectType, door: str = "",
                     clinic_id: str = "", patient_id: str = "") -> HttpResponse:
    """Someone not signed in knocked: counted (one event per address, door and minute, so that a
    flood cannot flood the trail), then off to sign in. `door` must come from a small set: a
    route name, or a patient that exists."""
    count_refusal(actor_from_request(request), action=AuditEvent.Action.VIEW,
                  object_type=object_type, door=door, clinic_id=clinic_id, patient_id=patient_id,
                  detail="not signed in")
    return redirect_to_login(request.get_full_path())


def deny(principal: Principal, *, action: AuditEvent.Action, object_type: ObjectType, perm: Perm,
         clinic: Clinic | None, object_id: str = "", patient_id: str = "") -> PermissionDenied:
    """Audit a refusal for a missing right; the caller raises what this returns (403)."""
    record(principal.actor, action=action, object_type=object_type, object_id=object_id,
           clinic_id=str(clinic.public_id) if clinic else "", patient_id=patient_id,
           outcome=AuditEvent.Outcome.DENIED, detail=f"missing permission {perm.value}")
    return PermissionDenied()


def _route(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.view_name[:64] if match else ""


@contextmanager
def in_clinic_time(clinic: Clinic) -> Iterator[None]:
    """Show and read times in the clinic's zone (a patient's clinic may differ from the active
    one under break-glass)."""
    with timezone.override(zoneinfo.ZoneInfo(clinic.timezone)):
        yield


def clinic_view(
    perm: Perm, *, object_type: ObjectType = "clinic", action: AuditEvent.Action = AuditEvent.Action.VIEW
) -> Callable[[Callable[Concatenate[ClinicRequest, ClinicAccess, P], HttpResponseBase]],
              Callable[..., HttpResponseBase]]:
    """A page of the caller's active clinic that needs `perm` there.

    `object_type` and `action` name the refusal in the audit trail; the view audits its own read
    (it knows what it showed: a search and its result count, a list).
    """

    def decorate(
        view: Callable[Concatenate[ClinicRequest, ClinicAccess, P], HttpResponseBase],
    ) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return refuse_anonymous(request, object_type=object_type, door=_route(request))
            staff: ClinicRequest = request  # type: ignore[assignment]
            principal = Principal.for_request(staff)
            if staff.clinic is None:
                raise deny(principal, action=action, object_type=object_type, perm=perm, clinic=None)
            if perm not in staff.perms:
                raise deny(principal, action=action, object_type=object_type, perm=perm,
                           clinic=staff.clinic)
            access = ClinicAccess(principal=principal, clinic=staff.clinic, perms=staff.perms)
            with in_clinic_time(staff.clinic):
                return view(staff, access, *args, **kwargs)

        return wrapper

    return decorate


def signed_in_view(
    view: Callable[Concatenate[ClinicRequest, P], HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Any signed-in staff member with a role at some clinic (pages with no clinical data)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return refuse_anonymous(request, object_type="page", door=_route(request))
        staff: ClinicRequest = request  # type: ignore[assignment]
        if staff.clinic is None:
            raise PermissionDenied
        return view(staff, *args, **kwargs)

    return wrapper
