"""The append-only audit trail; each event's hash chains to the previous one."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from django.db import models
from django.utils import timezone


class AppendOnlyError(RuntimeError):
    """Audit events are never changed or deleted by the application."""


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit events cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")

    def visible_to_clinics(self, clinic_ids: list[str]) -> AuditQuerySet:
        return self.filter(clinic_id__in=clinic_ids)


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "View"
        SEARCH = "search", "Search"
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        EXPORT = "export", "Export"
        SIGN_IN = "sign_in", "Sign in"
        SIGN_OUT = "sign_out", "Sign out"
        BREAK_GLASS = "break_glass", "Break-glass access"

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Allowed"
        DENIED = "denied", "Denied"

    # Plain values, not foreign keys: deleting a user or clinic must never rewrite history.
    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user_id = models.CharField(max_length=36, blank=True, db_index=True)
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=100, blank=True)
    clinic_id = models.CharField(max_length=36, blank=True, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.CharField(max_length=36, blank=True, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    client_address = models.CharField(max_length=45, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    via = models.CharField(max_length=10, default="web")  # web | api | cli
    changes = models.JSONField(default=dict, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    break_glass = models.BooleanField(default=False)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["clinic_id", "-at"], name="audit_clinic_at")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.username} {self.action} {self.object_type} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")

    HASHED_FIELDS = (
        "seq", "at", "user_id", "username", "role", "clinic_id", "action", "object_type",
        "object_id", "patient_id", "outcome", "client_address", "request_id", "via", "changes",
        "detail", "break_glass",
    )

    def compute_hash(self) -> str:
        """SHA-256 over the previous hash and this event's canonical JSON."""
        body: dict[str, Any] = {name: getattr(self, name) for name in self.HASHED_FIELDS}
        body["at"] = self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256((self.prev_hash + canonical).encode()).hexdigest()
