"""`mesoclinic issue-token NAME --clinic NAME --scope read|write --by USERNAME`: an API token."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesoclinic.accounts import actions
from mesoclinic.accounts.management.commands.revoke_token import clinic_and_manager


class Command(BaseCommand):
    help = "Issue an API token for an integration; it is printed once and only its hash is kept."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--clinic", required=True, help="the clinic's exact name")
        parser.add_argument("--scope", required=True, choices=["read", "write"])
        parser.add_argument("--by", required=True, help="username of the clinic manager issuing it")
        parser.add_argument("--days", type=int, default=365, help="valid for this many days")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["days"] <= 3650:
            raise CommandError("--days: between 1 and 3650")
        name = options["name"].strip()
        if not name or len(name) > 100:
            raise CommandError("name: between 1 and 100 characters")
        clinic, manager, actor = clinic_and_manager(options["clinic"], options["by"])
        _, raw = actions.issue_token(clinic=clinic, name=name, scope=options["scope"],
                                     days=options["days"], by=manager, actor=actor)
        self.stdout.write(raw)
