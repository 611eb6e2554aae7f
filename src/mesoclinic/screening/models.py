"""Stored screenings: the input snapshot, the engine's output, its version, who and when."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic
from mesoclinic.patients.models import Patient


class Screening(models.Model):
    class Decision(models.TextChoices):
        ELIGIBLE = "eligible", _("Eligible")
        WITH_CONDITIONS = "eligible_with_conditions", _("Eligible with conditions")
        INCOMPLETE = "incomplete", _("Incomplete")
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("Requested")
        RECORD_CHANGED = "record_changed", _("Record changed")
        API = "api", _("API")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="screenings")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices,
                               default=Trigger.MANUAL)
    trigger_detail = models.CharField(max_length=200, blank=True)
    # The contract's input and output JSON, exactly as screened: later steps read these.
    input = models.JSONField()
    output = models.JSONField()
    decision = models.CharField(_("decision"), max_length=30, choices=Decision.choices)
    rules_version = models.CharField(max_length=100)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def treatment(self) -> dict[str, object]:
        return dict(self.input["treatment"])


class FindingAcceptance(models.Model):
    """A physician accepts a `review` finding with a written reason; blocks cannot be accepted."""

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="acceptances")
    code = models.CharField(max_length=50)
    reason = models.CharField(_("reason"), max_length=1000)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["screening", "code"], name="acceptance_once_per_finding")
        ]
