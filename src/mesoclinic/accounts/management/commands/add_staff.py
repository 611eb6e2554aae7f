"""`mesoclinic add-staff USERNAME --clinic NAME --role ROLE`: create or extend a staff account."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesoclinic.accounts import actions
from mesoclinic.accounts.models import Clinic, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.log import Actor


class Command(BaseCommand):
    help = ("Create a staff account (or give an existing one another role). The password is read "
            "from MESOCLINIC_PASSWORD or asked for; the user enrols two-factor at first sign-in.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--clinic", required=True, help="the clinic's exact name")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--name", default="", help="display name, e.g. 'Dr. Selin Aydın'")
        parser.add_argument("--email", default="")
        parser.add_argument("--medical-director", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"].strip()
        clinic = Clinic.objects.filter(name=options["clinic"]).first()
        if clinic is None:
            known = ", ".join(Clinic.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(f"--clinic: no clinic named {options['clinic']!r} (known: {known})")
        if options["medical_director"] and options["role"] != Role.PHYSICIAN:
            raise CommandError("--medical-director: only a physician can be the medical director")
        password = None
        if username and not User.objects.filter(username=username).exists():
            password = os.environ.get("MESOCLINIC_PASSWORD") or getpass.getpass("Password: ")
        try:
            _, created = actions.add_staff(
                username=username, clinic=clinic, role=options["role"], password=password,
                display_name=options["name"], email=options["email"],
                medical_director=options["medical_director"],
                actor=Actor(username=getpass.getuser(), role="operator", via="cli"),
            )
        except ValidationError as exc:
            field, messages = next(iter(exc.message_dict.items()))
            raise CommandError(f"{field}: " + " ".join(messages)) from None
        verb = "now holds" if created else "already held"
        self.stdout.write(f"{username} {verb} the role {options['role']} at {clinic.name}")
