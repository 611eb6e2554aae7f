"""The append-only audit trail; each event's keyed hash chains to the previous one.

An event is written unsealed (no seq, no hash) in the writer's transaction, without any lock;
`audit.log.seal` later gives it its place in the chain in a short transaction of its own. Once
sealed, a row never changes: the model refuses it, and so do database triggers (migration 0004).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal, get_args

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mesoclinic.audit import keys

# The audit vocabulary: what an event is about, and through which door it came. A name outside
# these lists is a programming error (record() refuses it; mypy catches literals).
ObjectType = Literal[
    "patient", "medical_history", "medication", "allergy", "lab_result", "workup", "screening",
    "user", "api_token", "staff", "clinic", "knowledge_pack", "audit_trail", "audit_checkpoint", "api",
    "page", "treatment_plan", "consent", "quote", "price_list",
    "appointment", "schedule_resource", "calendar_feed", "message",
    "treatment_session", "allergy_test", "aftercare_sheet", "product", "lot", "stock_move",
    "adverse_event", "safety_alert", "check_in", "safety_cluster", "safety_settings",
    "photo", "photo_set", "simulation", "outcome_measure",
]
OBJECT_TYPES: tuple[str, ...] = get_args(ObjectType)
Via = Literal["web", "api", "cli", "worker"]
VIAS: tuple[str, ...] = get_args(Via)


class AppendOnlyError(RuntimeError):
    """Audit events are never changed or deleted by the application."""


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    # Readers see the chain, so pending events are sealed before a read (one cheap query when
    # nothing is pending). The sealer itself reads through `AuditEvent.chain`, which does not.
    seal_on_read = True

    def _fetch_all(self) -> None:
        if self._result_cache is None and self.seal_on_read:
            from mesoclinic.audit.log import seal

            seal(using=self.db)
        super()._fetch_all()

    def iterator(self, chunk_size: int | None = None) -> Iterator[AuditEvent]:
        if self.seal_on_read:
            from mesoclinic.audit.log import seal

            seal(using=self.db)
        return super().iterator(chunk_size=chunk_size)

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit events cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")

    def visible_events(self, *, clinic_ids: Iterable[str],
                       organisation_ids: Iterable[str]) -> AuditQuerySet:
        """What an auditor of these clinics may see: their clinics' events, events of their
        clinics' organisations that belong to no clinic (knowledge-pack edits), and events that
        belong to neither (anonymous knocks, unknown sign-in names)."""
        return self.filter(
            Q(clinic_id__in=sorted(clinic_ids))
            | Q(clinic_id="", organisation_id__in=sorted(organisation_ids))
            | Q(clinic_id="", organisation_id="")
        )


class _ChainQuerySet(AuditQuerySet):
    seal_on_read = False


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", _("View")
        SEARCH = "search", pgettext_lazy("audit action", "Search")
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        DELETE = "delete", _("Delete")
        EXPORT = "export", _("Export")
        SIGN_IN = "sign_in", pgettext_lazy("audit action", "Sign in")
        SIGN_OUT = "sign_out", pgettext_lazy("audit action", "Sign out")
        BREAK_GLASS = "break_glass", _("Break-glass access")

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        DENIED = "denied", _("Denied")

    # Plain values, not foreign keys: deleting a user or clinic must never rewrite history.
    seq = models.BigIntegerField(unique=True, null=True)  # null until sealed
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user_id = models.CharField(max_length=36, blank=True, db_index=True)
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=100, blank=True)
    clinic_id = models.CharField(max_length=36, blank=True, db_index=True)
    # For events of no clinic (knowledge-pack edits): the organisation whose auditors see them.
    organisation_id = models.CharField(max_length=36, blank=True, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=50, choices=[(t, t.replace("_", " ")) for t in OBJECT_TYPES])
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.CharField(max_length=36, blank=True, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    client_address = models.CharField(max_length=45, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    via = models.CharField(max_length=10, default="web", choices=[(v, v) for v in VIAS])
    changes = models.JSONField(default=dict, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    break_glass = models.BooleanField(default=False)
    key_id = models.CharField(max_length=16, blank=True)  # the AUDIT_KEYS entry that signed it
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditQuerySet.as_manager()
    chain = _ChainQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["clinic_id", "-at"], name="audit_clinic_at"),
            # The sealer's queue: only the few rows not yet in the chain.
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="audit_unsealed"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.username} {self.action} {self.object_type} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")

    HASHED_FIELDS = (
        "seq", "at", "user_id", "username", "role", "clinic_id", "organisation_id", "action",
        "object_type", "object_id", "patient_id", "outcome", "client_address", "request_id", "via",
        "changes", "detail", "break_glass", "key_id",
    )
    # Columns a sealer may fill in; every other column is fixed from the moment of insertion.
    SEAL_FIELDS = ("seq", "key_id", "prev_hash", "hash")

    def compute_hash(self) -> str:
        """HMAC-SHA256, under the key named by `key_id`, over the previous hash and the content."""
        body = {name: getattr(self, name) for name in self.HASHED_FIELDS}
        return keys.event_hash(self.key_id, self.prev_hash, body)

    def changed_fields(self) -> list[str]:
        """The names of the fields an edit changed: what an auditor is shown, never the values.
        (A refused request changed nothing; its `changes` hold a refusal count.)"""
        if self.outcome == self.Outcome.DENIED or not isinstance(self.changes, dict):
            return []
        return sorted(self.changes)


class RefusalTally(models.Model):
    """Refused anonymous requests, counted per source address, minute and door; a closed minute
    becomes one audit event carrying the count (a flood must not flood the trail)."""

    minute = models.DateTimeField()
    source = models.CharField(max_length=45)
    via = models.CharField(max_length=10)
    action = models.CharField(max_length=20, choices=AuditEvent.Action.choices)
    door = models.CharField(max_length=64)
    object_type = models.CharField(max_length=50)
    clinic_id = models.CharField(max_length=36, blank=True)
    patient_id = models.CharField(max_length=36, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    request_id = models.CharField(max_length=64, blank=True)  # the minute's first request
    count = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            # One row per bucket: the upsert in audit.log.count_refusal increments it atomically.
            models.UniqueConstraint(fields=["minute", "source", "via", "action", "door"],
                                    name="refusal_tally_bucket"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.minute:%Y-%m-%d %H:%M} {self.door} ×{self.count}"
