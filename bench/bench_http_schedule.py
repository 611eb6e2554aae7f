"""Booking and a practitioner's day list over HTTP under gunicorn, on PostgreSQL (issue 9).

Run: python bench/bench_http_schedule.py [--database-url URL] [--clients 4] [--seconds 8]

The PostgreSQL database of --database-url (default postgresql://postgres@127.0.0.1:5432/
mesoclinic_bench_schedule) is dropped, created, migrated and filled with one clinic: 20
practitioners working Monday to Sunday 08:00 to 20:00, 10 rooms, 40 patients, and a write token;
then dropped again (--keep leaves it). gunicorn serves mesoclinic.wsgi with --workers (2) sync
workers, DEBUG off.

  * book: POST /api/v1/appointments, each call a new 30-minute consultation (its own practitioner,
    patient and room at its own time, so every booking succeeds: 201), through the same action,
    database constraints, audit event and reminder rows as a booking from the calendar;
  * day:  GET /api/v1/appointments?practitioner=…&from=…&to=… — one practitioner's day, with the
    day's ~20 bookings, audited as one read.

One client measures latency (p50/p95); --clients concurrent clients, each with its own
connection, measure throughput for --seconds. Targets (issue 9): 10x GNU Health 5.0 on this kind
of machine with 2 app workers, i.e. ≥ 1350 bookings/s and ≥ 760 day lists/s. Everything shares
this machine's cores (clients, gunicorn, PostgreSQL): run it on a quiet machine, more than once.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import is_postgres, percentiles_ms, recreate_postgres, start_django
from bench_http_api import (
    WARM_UP,
    ApiClient,
    CpuMeter,
    Run,
    children_of,
    gunicorn,
    measured,
    process_cpu,
    run_clients,
)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/mesoclinic_bench_schedule"
GNU_HEALTH = {"book": 135.0, "day": 76.0}  # per second, 2 app workers, this kind of machine
TARGET_FACTOR = 10
PRACTITIONERS, ROOMS, PATIENTS = 20, 10, 40
SLOTS_PER_DAY = 24  # 30-minute slots from 08:00 to 20:00
TZ = ZoneInfo("Europe/Istanbul")


def prepare() -> tuple[str, list[str], list[str], list[str], date]:
    """The clinic, its resources, and a token; returns what the clients need."""
    from io import StringIO

    from django.core.management import call_command

    from mesoclinic.accounts.models import Clinic, Membership, Organisation, User
    from mesoclinic.accounts.permissions import Role
    from mesoclinic.audit.log import Actor
    from mesoclinic.patients.models import Patient
    from mesoclinic.scheduling import actions

    actor = Actor(username="bench", via="cli")
    org = Organisation.objects.create(name="Bench Group")
    clinic = Clinic.objects.create(organisation=org, name="Bench Clinic", timezone="Europe/Istanbul")
    manager = User.objects.create_user(username="bench.manager", display_name="Bench Manager")
    Membership.objects.create(user=manager, clinic=clinic, role=Role.MANAGER)
    staff = []
    for n in range(PRACTITIONERS):
        user = User.objects.create_user(username=f"dr.{n}", display_name=f"Dr {n}")
        Membership.objects.create(user=user, clinic=clinic, role=Role.PHYSICIAN)
        for weekday in range(7):
            actions.set_hours(clinic=clinic, practitioner=user, weekday=weekday,
                              blocks=[(clock(8), clock(20))], actor=actor)
        staff.append(str(user.public_id))
    rooms = [str(actions.add_room(clinic=clinic, name=f"Room {n}", actor=actor).public_id)
             for n in range(ROOMS)]
    patients = [str(Patient.objects.create(clinic=clinic, given_name=f"Bench{n}", family_name="Patient",
                                           birth_date=date(1980, 1, 1), sex="female",
                                           phone=f"+90 532 000 {n:04d}").public_id)
                for n in range(PATIENTS)]
    out = StringIO()
    call_command("issue_token", "bench", "--clinic", clinic.name, "--scope", "write",
                 "--by", manager.username, stdout=out)
    first_day = datetime.now(TZ).date() + timedelta(days=7)
    return out.getvalue().strip(), staff, rooms, patients, first_day


def booking(n: int, staff: list[str], rooms: list[str], patients: list[str], first: date) -> bytes:
    """The n-th booking: a free practitioner, room and patient at a time nobody else has.

    Within a slot, practitioner k (k < 20) takes room k mod 10 only when k < 10, so that no two
    bookings of one slot share a room: 10 bookings per slot, each practitioner on every other slot.
    """
    per_slot = ROOMS
    slot, k = divmod(n, per_slot)
    day, index = divmod(slot, SLOTS_PER_DAY)
    practitioner = staff[(k + (slot % 2) * ROOMS) % PRACTITIONERS]
    start = datetime.combine(first + timedelta(days=day), clock(8), TZ) + timedelta(minutes=30 * index)
    return json.dumps({
        "patient_id": patients[(k + (slot % 4) * ROOMS) % PATIENTS], "kind": "consultation",
        "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
        "practitioner": practitioner, "room": rooms[k]}).encode()


def runs(port: int, token: str, op: str, make: Any, *, clients: int, requests: int, seconds: float,
         meter: CpuMeter, expected: int) -> tuple[Run, Run]:
    conns = [ApiClient(port, token) for _ in range(clients)]
    items = itertools.count()

    def call(index: int, n: int) -> None:
        method, path, body = make(next(items))
        status, data = conns[index].call(method, path, body)
        if status != expected:
            raise SystemExit(f"{op}: {method} {path} answered {status}: {data[:300]!r}")

    run_clients(1, WARM_UP, call)
    single = measured(meter, lambda: run_clients(1, requests, call))
    many = measured(meter, lambda: run_clients(clients, 10**6, call, seconds))
    for conn in conns:
        conn.close()
    return single, many


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not is_postgres(args.database_url):
        raise SystemExit("--database-url: a PostgreSQL URL")
    workdir = Path(tempfile.mkdtemp(prefix="mesoclinic-bench-schedule-"))
    recreate_postgres(args.database_url, create=True)
    try:
        start_django(args.database_url, workdir)
        from django.db import connection

        token, staff, rooms, patients, first = prepare()
        connection.close()
        print(f"load: {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores; gunicorn {args.workers} "
              f"{args.worker_class} workers, {args.clients} clients")
        results: dict[str, tuple[Run, Run]] = {}
        with gunicorn(args.database_url, workdir, workers=args.workers,
                      worker_class=args.worker_class) as (port, master):
            meter = CpuMeter(args.database_url,
                             lambda: {pid: process_cpu(pid) for pid in children_of(master)})
            results["book"] = runs(port, token, "book", lambda n: (
                "POST", "/api/v1/appointments", booking(n, staff, rooms, patients, first)),
                clients=args.clients, requests=args.requests, seconds=args.seconds, meter=meter,
                expected=201)
            # The day list of days the bookings filled.
            def day_list(n: int) -> tuple[str, str, None]:
                day = first + timedelta(days=n % 3)
                start = datetime.combine(day, clock(0), TZ)
                query = (f"practitioner={staff[n % PRACTITIONERS]}&from={start.isoformat()}"
                         f"&to={(start + timedelta(days=1)).isoformat()}").replace("+", "%2B")
                return "GET", f"/api/v1/appointments?{query}", None

            results["day"] = runs(port, token, "day", day_list, clients=args.clients,
                                  requests=args.requests, seconds=args.seconds, meter=meter,
                                  expected=200)
            meter.close()
        ok = True
        print(f"{'operation':<10}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>9}{'target':>9}"
              f"{'CPU ms (app+db)':>18}")
        for op, (single, many) in results.items():
            p50, p95, _p99, _worst = percentiles_ms(single.latencies)
            target = GNU_HEALTH[op] * TARGET_FACTOR
            app, db = many.cpu_ms()
            ok &= many.per_second >= target
            print(f"{op:<10}{p50:>9.1f}{p95:>9.1f}{many.per_second:>9.0f}{target:>9.0f}"
                  f"{app:>10.2f}+{db:.2f}")
        print("targets met" if ok else "targets NOT met")
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            recreate_postgres(args.database_url, create=False)


if __name__ == "__main__":
    sys.exit(main())
