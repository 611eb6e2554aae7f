"""Stored screenings: the input snapshot, the engine's output, its version, who and when."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic
from mesoclinic.lib.text import visible_text
from mesoclinic.patients.models import Patient


# At module level so that Screening's Meta can constrain to them.
class Decision(models.TextChoices):
    ELIGIBLE = "eligible", _("Eligible")
    WITH_CONDITIONS = "eligible_with_conditions", _("Eligible with conditions")
    INCOMPLETE = "incomplete", _("Incomplete")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")


class Trigger(models.TextChoices):
    MANUAL = "manual", _("Requested")
    RECORD_CHANGED = "record_changed", _("Record changed")
    API = "api", _("API")


class Screening(models.Model):
    Decision = Decision
    Trigger = Trigger

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # PROTECT: a screening is part of the clinical record; deleting the patient must not erase it.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screenings")
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
        constraints = [
            # Later steps (plans, sessions) branch on the stored decision: only the engine's values.
            models.CheckConstraint(condition=models.Q(decision__in=Decision.values),
                                   name="screening_decision_known",
                                   violation_error_message=_("Unknown screening decision.")),
            models.CheckConstraint(condition=models.Q(trigger__in=Trigger.values),
                                   name="screening_trigger_known",
                                   violation_error_message=_("Unknown screening trigger.")),
        ]

    @property
    def treatment(self) -> dict[str, object]:
        return dict(self.input["treatment"])


class FindingAcceptance(models.Model):
    """A physician accepts a `review` finding with a written reason; blocks cannot be accepted."""

    # PROTECT: an accepted finding is a physician's documented decision; it is never erased.
    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="acceptances")
    code = models.CharField(max_length=50)
    reason = models.CharField(_("reason"), max_length=1000, validators=[visible_text])
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["screening", "code"], name="acceptance_once_per_finding",
                                    violation_error_message=_("This finding has already been accepted.")),
            # Accepting a review finding needs a written reason (overrides are justified).
            models.CheckConstraint(condition=~models.Q(reason=""), name="acceptance_reason_given",
                                   violation_error_message=_("Accepting a finding needs a reason.")),
        ]
