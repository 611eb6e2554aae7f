"""`mesoclinic issue-token NAME --clinic NAME --scope read|write --by USERNAME`: an API token."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesoclinic.accounts.models import ApiToken, Clinic, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent


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
        clinic = Clinic.objects.filter(name=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"--clinic: no clinic named {options['clinic']!r}")
        issuer = User.objects.filter(
            username=options["by"], memberships__clinic=clinic, memberships__role=Role.MANAGER
        ).first()
        if issuer is None:
            raise CommandError(f"--by: {options['by']!r} is not a clinic manager of {clinic.name}")
        token, raw = ApiToken.issue(name=name, clinic=clinic, scope=options["scope"],
                                    created_by=issuer, days=options["days"])
        record(Actor(user_id=str(issuer.public_id), username=issuer.username, role="manager",
                     via="cli"),
               action=AuditEvent.Action.CREATE, object_type="api_token",
               object_id=str(token.public_id), clinic_id=str(clinic.public_id),
               detail=f"{options['scope']} token {name!r}")
        self.stdout.write(raw)
