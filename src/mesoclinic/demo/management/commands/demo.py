"""`mesoclinic demo`: migrate, load the demo clinic, print the sign-ins, and serve — with a
background worker beside the server (reminders), stopped when the server stops."""

from __future__ import annotations

import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from mesoclinic.demo.loader import DEMO_STAFF, load_demo


class Command(BaseCommand):
    help = "Set up the embedded database with the demo clinic and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="load the data and stop")
        parser.add_argument("--no-worker", action="store_true",
                            help="serve without the background worker (reminders stay due)")
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
        if options["no_serve"]:
            return
        worker = None
        if not options["no_worker"]:
            # Its own session: Ctrl+C reaches the server only, and the worker gets exactly one
            # SIGTERM below, so it finishes the message in hand instead of being cut off.
            worker = subprocess.Popen(
                [sys.executable, "-m", "mesoclinic.cli", "worker"], start_new_session=True)
        try:
            if worker is not None:
                # A closed terminal or a `kill` must stop the worker too, not leave it running.
                for name in ("SIGTERM", "SIGHUP"):
                    if hasattr(signal, name):
                        signal.signal(getattr(signal, name), _exit)
                self.stdout.write("\nBackground worker started (reminders: emails on this "
                                  "console, texts in the log).")
            self.stdout.write(f"\nServing on http://{options['addrport']}/  (Ctrl+C to stop)\n")
            call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            if worker is not None:
                _stop(worker)


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
