"""`mesoclinic audit-verify`: check the audit trail's keyed hash chain and its newest checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesoclinic.audit.checkpoints import Checkpoint, CheckpointError, check_against, latest_checkpoint
from mesoclinic.audit.log import seal, verify_chain
from mesoclinic.audit.models import AuditEvent


class Command(BaseCommand):
    help = ("Verify the audit trail's keyed hash chain, and that it still ends where the newest "
            "signed checkpoint says; report the first altered or removed event.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--checkpoint", type=Path, help="check against this checkpoint file "
                            "(e.g. the one beside a restored backup) instead of the newest one")

    def handle(self, *args: Any, **options: Any) -> None:
        seal()
        problem = verify_chain()
        if problem is None:
            try:
                found = ((Checkpoint.from_file(options["checkpoint"]), options["checkpoint"])
                         if options["checkpoint"] else latest_checkpoint())
            except CheckpointError as exc:
                raise CommandError(str(exc)) from None
            if found is None:
                self.stderr.write("warning: no audit checkpoint found; removal of the newest "
                                  "events cannot be ruled out (run `mesoclinic audit-checkpoint`)")
            else:
                problem = check_against(found[0], found[1].name)
        if problem is not None:
            raise CommandError(f"audit trail broken at event #{problem.seq}: {problem.reason}")
        count = AuditEvent.chain.filter(seq__isnull=False).count()
        self.stdout.write(f"audit trail intact: {count} events verified")
