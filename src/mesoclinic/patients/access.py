"""Who may reach which patient: the only way views and the API load patient records.

Pages use `@patient_view(perm)`; the API calls `patient_for` and maps the two refusals to 404/403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Concatenate, ParamSpec
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.accounts.permissions import BREAK_GLASS_PERMS, Perm
from mesoclinic.audit.log import Actor, record, tracking
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.principal import Principal
from mesoclinic.kernel.views import in_clinic_time, refuse_anonymous
from mesoclinic.patients.models import BreakGlassGrant, Patient

P = ParamSpec("P")


class PatientNotFound(Exception):
    """Unknown, or outside every clinic of the caller: both answer 404, revealing nothing."""


class AccessDenied(Exception):
    """The caller may see the patient but lacks the permission asked for."""


@dataclass(frozen=True)
class PatientAccess:
    """A patient the caller may act on, with the rights held and whether by break-glass."""

    principal: Principal
    patient: Patient
    perms: frozenset[Perm]
    break_glass: bool

    @property
    def actor(self) -> Actor:
        return self.principal.actor

    @property
    def user(self) -> User:
        assert self.principal.user is not None  # noqa: S101 (pages are for signed-in staff)
        return self.principal.user

    @property
    def clinic(self) -> Clinic:
        return self.patient.clinic

    def can(self, perm: Perm) -> bool:
        return perm in self.perms

    def audit(self, action: AuditEvent.Action, *, object_type: ObjectType = "patient",
              **fields: str) -> AuditEvent:
        """Record an event about this patient (filed under the patient's clinic)."""
        fields.setdefault("object_id", str(self.patient.public_id))
        return record(self.actor, action=action, object_type=object_type,
                      clinic_id=str(self.patient.clinic.public_id),
                      patient_id=str(self.patient.public_id), break_glass=self.break_glass,
                      **fields)  # type: ignore[arg-type]


def _active_grant(principal: Principal, patient: Patient) -> BreakGlassGrant | None:
    if principal.user is None:
        return None
    return (
        BreakGlassGrant.objects.filter(
            user=principal.user, patient=patient, expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )


def patient_for(
    principal: Principal,
    public_id: UUID | str,
    perm: Perm,
    *,
    audit_as: AuditEvent.Action | None = AuditEvent.Action.VIEW,
    object_type: ObjectType = "patient",
) -> PatientAccess:
    """Load a patient the principal may act on with `perm`; every denial is audited.

    `audit_as` names the read being done (one event per page or call); pass None when the
    caller goes on to an action that writes its own event, so a write is audited exactly once.
    """
    # A slice, not .first(): public_id is unique, and ordering it would cost every read a sort.
    found = list(Patient.objects.select_related("clinic").filter(public_id=public_id)[:1])
    patient = found[0] if found else None
    if patient is None:
        record(principal.actor, action=audit_as or AuditEvent.Action.VIEW, object_type=object_type,
               object_id=str(public_id)[:64], outcome=AuditEvent.Outcome.DENIED,
               detail="no such patient")
        raise PatientNotFound
    perms = principal.perms_at(patient.clinic)
    break_glass = False
    if not perms and _active_grant(principal, patient) is not None:
        perms = BREAK_GLASS_PERMS
        break_glass = True
    common = {
        "object_type": object_type,
        "object_id": str(patient.public_id),
        "clinic_id": str(patient.clinic.public_id),
        "patient_id": str(patient.public_id),
        "break_glass": break_glass,
    }
    if not perms:
        record(principal.actor, action=audit_as or AuditEvent.Action.VIEW, outcome=AuditEvent.Outcome.DENIED,
               detail="no role at the patient's clinic", **common)  # type: ignore[arg-type]
        raise PatientNotFound
    if perm not in perms:
        record(principal.actor, action=audit_as or AuditEvent.Action.VIEW, outcome=AuditEvent.Outcome.DENIED,
               detail=f"missing permission {perm.value}", **common)  # type: ignore[arg-type]
        raise AccessDenied
    if audit_as is not None:
        record(principal.actor, action=audit_as, **common)  # type: ignore[arg-type]
    return PatientAccess(principal=principal, patient=patient, perms=perms, break_glass=break_glass)


def patient_view(
    perm: Perm, *, object_type: ObjectType = "patient"
) -> Callable[[Callable[Concatenate[ClinicRequest, PatientAccess, P], HttpResponseBase]],
              Callable[..., HttpResponseBase]]:
    """A page about one patient (`public_id` in the URL) that needs `perm` for them.

    404 outside the caller's scope, 403 without the right, both audited. The response is audited
    once as a read of `object_type` — error pages included — unless the view's action already
    recorded an event for this patient (a write is audited exactly once). Times render in the
    patient's clinic's zone.
    """

    def decorate(
        view: Callable[Concatenate[ClinicRequest, PatientAccess, P], HttpResponseBase],
    ) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, public_id: str, *args: P.args,
                    **kwargs: P.kwargs) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return _refuse_anonymous(request, public_id)
            staff: ClinicRequest = request  # type: ignore[assignment]
            if staff.clinic is None:
                raise PermissionDenied
            try:
                access = patient_for(Principal.for_request(staff), public_id, perm,
                                     audit_as=None, object_type=object_type)
            except PatientNotFound:
                raise Http404("No such patient") from None
            except AccessDenied:
                raise PermissionDenied from None
            with in_clinic_time(access.patient.clinic), tracking() as tracked:
                response = view(staff, access, *args, **kwargs)
            if response.status_code // 100 != 3 and str(access.patient.public_id) not in \
                    tracked.patient_ids:
                detail = "" if staff.method in ("GET", "HEAD") else \
                    f"refused {staff.method} shown (status {response.status_code})"
                access.audit(AuditEvent.Action.VIEW, object_type=object_type, detail=detail)
            return response

        return wrapper

    return decorate


def _refuse_anonymous(request: HttpRequest, public_id: str) -> HttpResponse:
    # Even an anonymous knock on a patient's door is on the record.
    clinic = (Patient.objects.filter(public_id=public_id)
              .values_list("clinic__public_id", flat=True).first())
    return refuse_anonymous(request, object_type="patient", door=str(public_id) if clinic else "",
                            clinic_id=str(clinic or ""), patient_id=str(public_id) if clinic else "")
