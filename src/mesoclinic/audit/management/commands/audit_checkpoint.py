"""`mesoclinic audit-checkpoint`: sign the audit chain's head into a file outside the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mesoclinic.audit.checkpoints import write_checkpoint


class Command(BaseCommand):
    help = ("Seal pending audit events, then write a signed checkpoint of the chain head "
            "(default folder: AUDIT_CHECKPOINT_DIR).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--directory", type=Path, help="write here instead")

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint, path = write_checkpoint(directory=options["directory"])
        self.stdout.write(f"checkpoint of event #{checkpoint.seq} written to {path}")
