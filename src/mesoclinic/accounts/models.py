"""Organisations, clinics, staff, their roles and credentials, two-factor and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
import zoneinfo
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.permissions import Perm, Role, perms_for


def validate_timezone(value: str) -> None:
    """Reject names that the IANA database does not know."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)r is not a known time zone"), params={"value": value})


class Organisation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)

    def __str__(self) -> str:
        return self.name


class Clinic(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="clinics")
    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("address"), blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC",
                                validators=[validate_timezone])
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    # Staff who chose no language of their own see the clinic's.
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES,
                                default="en-gb")
    licence_number = models.CharField(_("licence number"), max_length=100, blank=True)
    licence_valid_until = models.DateField(_("licence valid until"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="clinic_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def licence_valid_on(self, day: object) -> bool:
        return self.licence_valid_until is not None and self.licence_valid_until >= day  # type: ignore[operator]


class User(AbstractUser):
    """A staff member (patients get portal accounts of kind `patient` in a later issue)."""

    class Kind(models.TextChoices):
        STAFF = "staff", _("Staff")
        PATIENT = "patient", _("Patient")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.STAFF)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    # Bumped by "sign out everywhere": sessions carrying an older epoch are ended.
    session_epoch = models.PositiveIntegerField(default=0)
    # The medical director (a physician) may edit the clinical knowledge pack.
    medical_director = models.BooleanField(_("medical director"), default=False)
    # Blank: the clinic's language.
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def roles_in(self, clinic: Clinic) -> frozenset[str]:
        return frozenset(
            m.role for m in self.memberships.all() if m.clinic_id == clinic.pk
        )

    def perms_in(self, clinic: Clinic) -> frozenset[Perm]:
        return perms_for(self.roles_in(clinic))

    @property
    def has_mfa(self) -> bool:
        return TOTPDevice.objects.filter(user=self, confirmed=True).exists()


class Membership(models.Model):
    """One role a user holds at one clinic; a user may hold several."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=[(r.value, r.label) for r in Role])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic", "role"], name="membership_unique_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.clinic}"


# A credential running out this soon is flagged on the staff pages.
EXPIRY_WARNING_DAYS = 30


class Credential(models.Model):
    """A practitioner's licence or training certificate (F-CREDENTIALS)."""

    class LicenceType(models.TextChoices):
        MEDICAL = "medical", _("Medical licence")
        NURSING = "nursing", _("Nursing licence")
        SPECIALIST = "specialist", _("Specialist certificate")
        TRAINING = "training", _("Training certificate")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="credentials")
    licence_type = models.CharField(_("licence type"), max_length=20, choices=LicenceType.choices)
    number = models.CharField(_("number"), max_length=100)
    issuing_body = models.CharField(_("issuing body"), max_length=200)
    specialisation = models.CharField(_("specialisation"), max_length=200,
                                      help_text=_("e.g. dermatology; mesotherapy"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        ordering = ["licence_type", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="credential_valid_range",
            )
        ]

    def is_valid_on(self, day: object) -> bool:
        return self.valid_from <= day and (  # type: ignore[operator]
            self.valid_until is None or self.valid_until >= day  # type: ignore[operator]
        )

    def status_on(self, day: date) -> str:
        """"expired", "expiring" (within EXPIRY_WARNING_DAYS), "not_yet" valid, or "valid"."""
        if self.valid_until is not None and self.valid_until < day:
            return "expired"
        if self.valid_from > day:
            return "not_yet"
        if self.valid_until is not None and self.valid_until <= day + timedelta(
                days=EXPIRY_WARNING_DAYS):
            return "expiring"
        return "valid"


class TOTPDevice(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp")
    secret = models.CharField(max_length=64)
    confirmed = models.BooleanField(default=False)
    # The last accepted time step: a code is never accepted twice (replay).
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)


class RecoveryCode(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def hash(code: str) -> str:
        return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


class LoginFailure(models.Model):
    """One failed sign-in or re-authentication; counted per (username, address), per address,
    and (second-factor failures only) per username, to slow guessing down (accounts/rules.py)."""

    class Stage(models.TextChoices):
        PASSWORD = "password", "Password"
        # Reaching the code step proves the password was right.
        CODE = "code", "Second factor"

    username = models.CharField(max_length=150, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.PASSWORD)

    class Meta:
        indexes = [
            models.Index(fields=["username", "client_address", "at"], name="loginfailure_pair_at"),
            models.Index(fields=["client_address", "at"], name="loginfailure_address_at"),
        ]


class ApiToken(models.Model):
    """A bearer token for an integration, scoped to one clinic and to read or write."""

    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="api_tokens")
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.READ)
    # Only a hash is kept: a leaked database does not leak working tokens.
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Refreshed when a process loads the token into its cache: accurate to the cache's lifetime.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(
        cls, *, name: str, clinic: Clinic, scope: str, created_by: User, days: int | None = 365
    ) -> tuple[ApiToken, str]:
        """Create a token row; pages and commands call `accounts.actions.issue_token`, which audits."""
        raw = "mc_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            name=name,
            clinic=clinic,
            scope=scope,
            token_hash=cls.hash(raw),
            created_by=created_by,
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        return token, raw

    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def status(self) -> ApiToken.Status:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.ACTIVE
