"""The one identity behind every request: a staff member or an API token (later a portal patient)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.http import HttpRequest

from mesoclinic.accounts.models import ApiToken, Clinic, Membership, User
from mesoclinic.accounts.permissions import TOKEN_PERMS, Perm, Role, perms_for
from mesoclinic.audit.log import Actor, actor_from_request


@dataclass
class Principal:
    """Who acts, with its audit identity and its permissions per clinic."""

    actor: Actor
    user: User | None = None
    token: ApiToken | None = None
    memberships: list[Membership] | None = None  # preloaded by the session middleware
    _cache: dict[int, frozenset[Perm]] = field(default_factory=dict)

    @classmethod
    def for_request(cls, request: HttpRequest) -> Principal:
        """The signed-in staff member behind a page request."""
        user = request.user if request.user.is_authenticated else None
        return cls(actor=actor_from_request(request), user=user,
                   memberships=getattr(request, "memberships", None))

    def perms_at(self, clinic: Clinic) -> frozenset[Perm]:
        if clinic.pk not in self._cache:
            self._cache[clinic.pk] = self._compute(clinic)
        return self._cache[clinic.pk]

    def roles_at(self, clinic: Clinic) -> frozenset[str]:
        if self.user is None:
            return frozenset()
        return frozenset(m.role for m in self._memberships() if m.clinic_id == clinic.pk)

    def clinics_with_role(self, role: Role) -> list[Clinic]:
        """The clinics where the principal holds `role`, by name."""
        return sorted({m.clinic for m in self._memberships() if m.role == role}, key=lambda c: c.name)

    def _memberships(self) -> Iterable[Membership]:
        if self.memberships is None:
            assert self.user is not None  # noqa: S101 (callers check)
            self.memberships = list(self.user.memberships.select_related("clinic"))
        return self.memberships

    def _compute(self, clinic: Clinic) -> frozenset[Perm]:
        if self.token is not None:
            if self.token.clinic_id != clinic.pk or not self.token.is_active():
                return frozenset()
            return TOKEN_PERMS[ApiToken.Scope(self.token.scope)]
        return perms_for(self.roles_at(clinic))

    def can_break_glass(self, clinic: Clinic) -> bool:
        """A physician of another clinic of the same organisation may open this clinic's patient."""
        if self.user is None:
            return False
        return any(m.role == Role.PHYSICIAN and m.clinic.organisation_id == clinic.organisation_id
                   for m in self._memberships())
