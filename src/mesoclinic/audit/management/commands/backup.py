"""`mesoclinic backup`: a consistent copy of the database, with a signed audit checkpoint beside it.

First a checkpoint goes to the checkpoint folder, as `audit-checkpoint` writes it; then the copy
is made, and a checkpoint of the head the copy holds is written beside it.

SQLite: the online backup API (safe while the app runs). PostgreSQL: `pg_dump -Fc` of a snapshot
exported from a REPEATABLE READ transaction, so the checkpoint names exactly the chain head the
dump holds.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from mesoclinic.audit.checkpoints import sign_head, write_checkpoint, write_file
from mesoclinic.audit.log import GENESIS

HEAD_SQL = ("SELECT seq, hash FROM audit_auditevent WHERE seq IS NOT NULL "
            "ORDER BY seq DESC LIMIT 1")


class Command(BaseCommand):
    help = ("Write a consistent copy of the database (SQLite backup API, or pg_dump -Fc on "
            "PostgreSQL) and a signed audit checkpoint of the head it holds, beside it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, help="the backup file (default: "
                            "DATA_DIR/backups/mesoclinic-<time>.sqlite3 or .dump)")

    def handle(self, *args: Any, **options: Any) -> None:
        # A durable checkpoint for this installation first; its event and everything pending go
        # into the copy as part of the chain.
        write_checkpoint()
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        suffix = ".dump" if connection.vendor == "postgresql" else ".sqlite3"
        output: Path = options["output"] or Path(settings.DATA_DIR) / "backups" / (
            f"mesoclinic-{stamp}{suffix}")
        output.parent.mkdir(parents=True, exist_ok=True)
        if connection.vendor == "postgresql":
            head = self._pg_dump(output)
        elif connection.vendor == "sqlite":
            head = self._sqlite_backup(output)
        else:  # pragma: no cover
            raise CommandError(f"no backup method for {connection.vendor}")
        checkpoint = sign_head(*head)
        beside = write_file(checkpoint, output.with_name(output.name + ".checkpoint.json"))
        self.stdout.write(f"backup written to {output}; checkpoint of event #{checkpoint.seq} "
                          f"written to {beside}")

    def _sqlite_backup(self, output: Path) -> tuple[int, str]:
        connection.ensure_connection()
        source = connection.connection
        with sqlite3.connect(output) as copy:
            source.backup(copy)
            row = copy.execute(HEAD_SQL).fetchone()
        copy.close()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def _pg_dump(self, output: Path) -> tuple[int, str]:
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise CommandError("pg_dump is not installed (PostgreSQL client tools)")
        db = connection.settings_dict
        env = dict(os.environ)
        if db.get("PASSWORD"):
            env["PGPASSWORD"] = str(db["PASSWORD"])
        target = [f"--dbname={db['NAME']}"]
        target += [f"--host={db['HOST']}"] if db.get("HOST") else []
        target += [f"--port={db['PORT']}"] if db.get("PORT") else []
        target += [f"--username={db['USER']}"] if db.get("USER") else []
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            cursor.execute(HEAD_SQL)
            row = cursor.fetchone()
            # The dump reads the very snapshot the head came from; this transaction stays open
            # until it is done.
            result = subprocess.run(  # noqa: S603 (fixed program, arguments from settings)
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={output}",
                 *target], env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)
