"""`mesoclinic revoke-token NAME_OR_ID --clinic NAME --by USERNAME`: stop an API token now."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesoclinic.accounts import actions
from mesoclinic.accounts.models import ApiToken, Clinic, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.log import Actor


def clinic_and_manager(clinic_name: str, username: str) -> tuple[Clinic, User, Actor]:
    """The clinic named exactly so, and one of its managers, as the command's actor."""
    clinic = Clinic.objects.filter(name=clinic_name).first()
    if clinic is None:
        raise CommandError(f"--clinic: no clinic named {clinic_name!r}")
    manager = User.objects.filter(
        username=username, memberships__clinic=clinic, memberships__role=Role.MANAGER
    ).first()
    if manager is None:
        raise CommandError(f"--by: {username!r} is not a clinic manager of {clinic.name}")
    actor = Actor(user_id=str(manager.public_id), username=manager.username, role="manager",
                  via="cli")
    return clinic, manager, actor


class Command(BaseCommand):
    help = ("Revoke one of a clinic's API tokens, by its id or by the name of its only active "
            "token so named. Other server processes refuse it within API_TOKEN_CACHE_SECONDS.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token", metavar="NAME_OR_ID", help="the token's id or name")
        parser.add_argument("--clinic", required=True, help="the clinic's exact name")
        parser.add_argument("--by", required=True, help="username of the clinic manager revoking it")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic, _, actor = clinic_and_manager(options["clinic"], options["by"])
        token = self._find(clinic, options["token"].strip())
        if not actions.revoke_token(token=token, actor=actor):
            raise CommandError(f"token {token.name!r} ({token.public_id}) was already revoked")
        self.stdout.write(f"revoked {token.scope} token {token.name!r} ({token.public_id})")

    @staticmethod
    def _find(clinic: Clinic, name_or_id: str) -> ApiToken:
        tokens = ApiToken.objects.filter(clinic=clinic).select_related("clinic")
        try:
            by_id = tokens.filter(public_id=uuid.UUID(name_or_id)).first()
        except ValueError:
            by_id = None
        if by_id is not None:
            return by_id
        named = [t for t in tokens.filter(name=name_or_id) if t.is_active()]
        if not named:
            raise CommandError(f"NAME_OR_ID: {clinic.name} has no active token {name_or_id!r}")
        if len(named) > 1:
            ids = ", ".join(str(t.public_id) for t in named)
            raise CommandError(f"NAME_OR_ID: {len(named)} active tokens are named {name_or_id!r}; "
                               f"give one id: {ids}")
        return named[0]
