"""`mesoclinic demo`: migrate, load the demo clinic, print the sign-ins, and serve."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from mesoclinic.demo.loader import DEMO_STAFF, load_demo


class Command(BaseCommand):
    help = "Set up the embedded database with the demo clinic and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="load the data and stop")
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        counts = load_demo()
        self.stdout.write(
            f"Demo ready: {counts['clinics']} clinics, {counts['staff']} staff, "
            f"{counts['patients_created']} new patients."
        )
        self.stdout.write("\nDemo sign-ins (each asks you to set up an authenticator app the first time):")
        for spec in DEMO_STAFF:
            roles = ", ".join(sorted({role for _, role in spec.roles}))
            self.stdout.write(f"  {spec.username:<18} {spec.password:<22} {roles}")
        if not options["no_serve"]:
            self.stdout.write(f"\nServing on http://{options['addrport']}/  (Ctrl+C to stop)\n")
            call_command("runserver", options["addrport"], use_reloader=False)
