"""Who may reach which patient: the only way views and the API load patient records."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from django.utils import timezone

from mesoclinic.accounts.models import ApiToken, Clinic, User
from mesoclinic.accounts.permissions import Perm, Role, perms_for
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients.models import BreakGlassGrant, Patient


class PatientNotFound(Exception):
    """Unknown, or outside every clinic of the caller: both answer 404, revealing nothing."""


class AccessDenied(Exception):
    """The caller may see the patient but lacks the permission asked for."""


@dataclass
class Principal:
    """A signed-in staff member or an API token, with its audit identity."""

    actor: Actor
    user: User | None = None
    token: ApiToken | None = None
    _cache: dict[int, frozenset[Perm]] = field(default_factory=dict)

    def perms_at(self, clinic: Clinic) -> frozenset[Perm]:
        if clinic.pk not in self._cache:
            self._cache[clinic.pk] = self._compute(clinic)
        return self._cache[clinic.pk]

    def _compute(self, clinic: Clinic) -> frozenset[Perm]:
        if self.token is not None:
            if self.token.clinic_id != clinic.pk or not self.token.is_active():
                return frozenset()
            if self.token.scope == ApiToken.Scope.WRITE:
                return frozenset({Perm.VIEW_DEMOGRAPHICS, Perm.EDIT_DEMOGRAPHICS})
            return frozenset({Perm.VIEW_DEMOGRAPHICS})
        if self.user is None:
            return frozenset()
        return perms_for(self.user.roles_in(clinic))

    def can_break_glass(self, clinic: Clinic) -> bool:
        """A physician of another clinic of the same organisation may open this clinic's patient."""
        if self.user is None:
            return False
        return self.user.memberships.filter(
            role=Role.PHYSICIAN, clinic__organisation_id=clinic.organisation_id
        ).exists()


@dataclass(frozen=True)
class PatientAccess:
    patient: Patient
    perms: frozenset[Perm]
    break_glass: bool


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
    audit_as: str | None = AuditEvent.Action.VIEW,
    object_type: str = "patient",
) -> PatientAccess:
    """Load a patient the principal may act on with `perm`; every denial is audited.

    `audit_as` names the read being done (one event per page or call); pass None when the
    caller goes on to an action that writes its own event, so a write is audited exactly once.
    """
    patient = Patient.objects.select_related("clinic").filter(public_id=public_id).first()
    if patient is None:
        record(principal.actor, action=audit_as or "view", object_type=object_type,
               object_id=str(public_id)[:64], outcome=AuditEvent.Outcome.DENIED,
               detail="no such patient")
        raise PatientNotFound
    perms = principal.perms_at(patient.clinic)
    break_glass = False
    if not perms and _active_grant(principal, patient) is not None:
        perms = perms_for([Role.PHYSICIAN])
        break_glass = True
    common = {
        "object_type": object_type,
        "object_id": str(patient.public_id),
        "clinic_id": str(patient.clinic.public_id),
        "patient_id": str(patient.public_id),
        "break_glass": break_glass,
    }
    if not perms:
        record(principal.actor, action=audit_as or "view", outcome=AuditEvent.Outcome.DENIED,
               detail="no role at the patient's clinic", **common)  # type: ignore[arg-type]
        raise PatientNotFound
    if perm not in perms:
        record(principal.actor, action=audit_as or "view", outcome=AuditEvent.Outcome.DENIED,
               detail=f"missing permission {perm.value}", **common)  # type: ignore[arg-type]
        raise AccessDenied
    if audit_as is not None:
        record(principal.actor, action=audit_as, **common)  # type: ignore[arg-type]
    return PatientAccess(patient=patient, perms=perms, break_glass=break_glass)
