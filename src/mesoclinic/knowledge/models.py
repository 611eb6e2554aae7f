"""Revisions of the knowledge pack: the bundled files, then each medical director's edit."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class KnowledgeRevision(models.Model):
    """A complete, validated copy of the pack's files; the newest one is the one in force."""

    number = models.PositiveIntegerField(unique=True)
    version = models.CharField(max_length=20, unique=True)
    # {file name: YAML text}, exactly as validated by the pure loader.
    documents = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    changed_file = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            # Revisions count from 1; the editor's `based_on` is the number it was opened at.
            models.CheckConstraint(condition=models.Q(number__gte=1), name="knowledge_revision_from_1",
                                   violation_error_message=_("Revision numbers start at 1.")),
        ]

    def __str__(self) -> str:
        return f"pack {self.version} (revision {self.number})"
