"""`mesoclinic seed --patients N --clinics M`: synthetic data at scale for benchmarks, analysed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesoclinic.demo.loader import seed


class Command(BaseCommand):
    help = "Add N synthetic patients spread over M new clinics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--clinics", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        patients, clinics = options["patients"], options["clinics"]
        if not 1 <= patients <= 5_000_000:
            raise CommandError("--patients must be between 1 and 5000000")
        if not 1 <= clinics <= 1000:
            raise CommandError("--clinics must be between 1 and 1000")
        result = seed(patients=patients, clinics=clinics)
        self.stdout.write(
            f"seeded {patients} patients in {clinics} clinics in {result['seconds']:.1f} s"
            + (" (tables analysed)" if result["analysed"] else "")
        )
