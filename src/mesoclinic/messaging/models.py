"""The outbox: every message to a patient is a row with its due time, sent by the worker.

A row is the whole truth about a message: when it is due, whether it went out, and why not.
The worker claims a due row with a lease (`claimed_until`, `claim_token`) by a conditional
UPDATE, so two workers never both send it, and a worker that dies mid-send leaves a lease that
expires, after which the row is due again (delivery.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mesoclinic.accounts.models import Clinic


class OutboundMessageQuerySet(models.QuerySet["OutboundMessage"]):
    def claimable(self, now: datetime) -> OutboundMessageQuerySet:
        """Due by `now`, and claimed by no worker whose lease still runs."""
        return self.filter(status=OutboundMessage.Status.DUE, due_at__lte=now).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))

    def for_ref(self, ref: str) -> OutboundMessageQuerySet:
        return self.filter(ref=ref).order_by("due_at", "id")


class OutboundMessage(models.Model):
    class Kind(models.TextChoices):
        # A new kind needs its texts (templates/messaging/<kind>.txt, <kind>_subject.txt) and the
        # context keys it reads in texts.REQUIRED_CONTEXT.
        NSAID_STOP = "nsaid_stop", _("NSAID stop reminder")
        ALLERGY_TEST = "allergy_test", _("Allergy test reminder")
        SESSION_PREPARATION = "session_preparation", _("Session preparation reminder")
        AFTERCARE_SHEET = "aftercare_sheet", _("Aftercare sheet")
        SAFETY_ALERT = "safety_alert", _("Safety alert (to staff)")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        DUE = "due", pgettext_lazy("message status", "Due")
        SENT = "sent", pgettext_lazy("message status", "Sent")
        FAILED = "failed", pgettext_lazy("message status", "Failed")
        CANCELLED = "cancelled", pgettext_lazy("message status", "Cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=10)
    # The values the text is rendered with (names, local times as text): no clinical record.
    context = models.JSONField(default=dict, blank=True)
    # What caused the message, e.g. "appointment:<uuid>"; moves and cancellations go by it.
    ref = models.CharField(max_length=100, db_index=True)
    # The patient's public id, a plain value like the audit trail's (messaging sits below patients).
    patient_id = models.CharField(max_length=36, blank=True)
    due_at = models.DateTimeField(_("due at"))
    # Past this moment the message is pointless (the appointment began): failed, never sent late.
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DUE)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(_("last error"), blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    # A file sent with an email (the aftercare sheet's PDF), kept in the default storage under the
    # message's id; `attachment_name` is the file name the recipient sees.
    attachment = models.FileField(_("attachment"), upload_to="messages/%Y/%m/", blank=True)
    attachment_name = models.CharField(max_length=100, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OutboundMessageQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # The worker's query: due rows by due time.
            models.Index(fields=["status", "due_at"], name="message_status_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["due", "sent", "failed", "cancelled"]),
                                   name="message_status_known"),
            models.CheckConstraint(condition=Q(channel__in=["email", "sms"]),
                                   name="message_channel_known"),
            # A sent message says when; no other one claims to have been sent.
            models.CheckConstraint(condition=Q(status="sent", sent_at__isnull=False)
                                   | (~Q(status="sent") & Q(sent_at__isnull=True)),
                                   name="message_sent_iff_sent_at"),
            # A failed message says why.
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(last_error=""),
                                   name="message_failed_has_reason"),
            # Only an email carries a file, and a file always has the name and type it is sent as.
            models.CheckConstraint(condition=Q(attachment="") | Q(channel="email"),
                                   name="message_attachment_by_email"),
            models.CheckConstraint(condition=Q(attachment="", attachment_name="", attachment_type="")
                                   | (~Q(attachment="") & ~Q(attachment_name="") & ~Q(attachment_type="")),
                                   name="message_attachment_named"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} {self.status} {self.due_at:%Y-%m-%d %H:%M}"
