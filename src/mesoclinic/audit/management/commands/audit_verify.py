"""`mesoclinic audit-verify`: check the audit trail's hash chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mesoclinic.audit.log import verify_chain
from mesoclinic.audit.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and report the first altered or removed event."

    def handle(self, *args: Any, **options: Any) -> None:
        problem = verify_chain()
        if problem is not None:
            raise CommandError(f"audit trail broken at event #{problem.seq}: {problem.reason}")
        count = AuditEvent.objects.count()
        self.stdout.write(f"audit trail intact: {count} events verified")
