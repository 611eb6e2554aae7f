"""`mesoclinic add-staff USERNAME --clinic NAME --role ROLE`: create or extend a staff account."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from mesoclinic.accounts.models import Clinic, Membership, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent


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
        if not username or len(username) > 150:
            raise CommandError("username: between 1 and 150 characters")
        clinic = Clinic.objects.filter(name=options["clinic"]).first()
        if clinic is None:
            known = ", ".join(Clinic.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(f"--clinic: no clinic named {options['clinic']!r} (known: {known})")
        if options["medical_director"] and options["role"] != Role.PHYSICIAN:
            raise CommandError("--medical-director: only a physician can be the medical director")
        user = User.objects.filter(username=username).first()
        password = None
        if user is None:
            password = os.environ.get("MESOCLINIC_PASSWORD") or getpass.getpass("Password: ")
            candidate = User(username=username, email=options["email"],
                             display_name=options["name"])
            try:
                validate_password(password, candidate)
            except ValidationError as exc:
                raise CommandError("password: " + " ".join(exc.messages)) from None
        actor = Actor(username=getpass.getuser(), role="operator", via="cli")
        with transaction.atomic():
            if user is None:
                user = User(username=username, email=options["email"],
                            display_name=options["name"])
                user.set_password(password)
                user.save()
            if options["medical_director"] and not user.medical_director:
                user.medical_director = True
                user.save(update_fields=["medical_director"])
            _, created = Membership.objects.get_or_create(user=user, clinic=clinic,
                                                          role=options["role"])
            record(actor, action=AuditEvent.Action.UPDATE, object_type="user",
                   object_id=str(user.public_id), clinic_id=str(clinic.public_id),
                   changes={"role": [None, options["role"]]} if created else {},
                   detail="staff added" if created else "role already held")
        verb = "now holds" if created else "already held"
        self.stdout.write(f"{username} {verb} the role {options['role']} at {clinic.name}")
