"""Plan approval round trip through the page, screening included (issue 8: p95 < 100 ms on PG).

Run: python bench/bench_plan_approval.py [--database-url URL] [--patients 20000] [--plans 300]

Without --database-url a fresh SQLite file under /tmp is used; a PostgreSQL database named in the
URL is dropped, created and dropped again at the end. The script seeds patients with medical
histories (`mesoclinic.demo.loader.seed`), writes one draft plan for each of `--plans` of them
through `plans.actions.create_plan`, signs a physician in, and times

    POST /patients/<id>/plans/<plan>/approve/

through Django's test client: the view, the screening of the plan's treatment against the
patient's history (rules engine, a Screening row and its audit event), the status change and its
audit event, and the redirect. Histories that block the treatment answer 409 with the findings
page — also a full round trip, reported apart.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import is_postgres, percentiles_ms, recreate_postgres, staff_client, start_django

TARGET_P95_MS = 100.0
WARM_UP = 20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file under /tmp")
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--plans", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--sql", action="store_true", help="print the SQL of one approval")
    parser.add_argument("--profile", action="store_true",
                        help="print where the time goes (cProfile, by cumulative time)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mesoclinic-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    postgres = is_postgres(url)
    if postgres:
        recreate_postgres(url, create=True)
    start_django(url, workdir)
    from django.db import connection

    from mesoclinic.accounts.models import Clinic
    from mesoclinic.accounts.permissions import Role
    from mesoclinic.audit.log import Actor
    from mesoclinic.demo.loader import seed
    from mesoclinic.patients.models import Patient
    from mesoclinic.plans import actions
    from mesoclinic.plans.actions import SolutionItem
    from mesoclinic.plans.models import TreatmentPlan
    from mesoclinic.plans.tests.helpers import draft

    try:
        result = seed(patients=args.patients, clinics=2)
        print(f"seeded {args.patients:,} patients over 2 clinics in {result['seconds']:.1f} s")
        clinic = Clinic.objects.filter(organisation__name="Synthetic Clinics").order_by("pk").first()
        assert clinic is not None
        client, user = staff_client("bench.physician", clinic, Role.PHYSICIAN)
        actor = Actor(user_id=str(user.public_id), username=user.username, role="physician",
                      via="web")
        patients = list(Patient.objects.filter(clinic=clinic).order_by("?")[: args.plans + WARM_UP])
        faces = draft("face", "rejuvenation")
        scalps = draft("scalp", "hair_loss", solution=(
            SolutionItem("biotin", Decimal("5"), "mg/ml", Decimal("1.00")),
            SolutionItem("dexpanthenol", Decimal("50"), "mg/ml", Decimal("1.00"))))
        started = time.perf_counter()
        plans: list[TreatmentPlan] = [
            actions.create_plan(patient=p, draft=faces if n % 2 else scalps, by=user, actor=actor)
            for n, p in enumerate(patients)]
        print(f"wrote {len(plans)} draft plans (face and scalp) in "
              f"{time.perf_counter() - started:.1f} s")

        logging.getLogger("django.request").setLevel(logging.ERROR)  # 409s are expected here
        profiler = cProfile.Profile() if args.profile else None
        approved: list[float] = []
        refused: list[float] = []
        shown: set[int] = set()
        for n, plan in enumerate(plans):
            if profiler is not None and n == WARM_UP:
                profiler.enable()
            path = f"/patients/{plan.patient.public_id}/plans/{plan.public_id}/approve/"
            if args.sql and n >= WARM_UP and len(shown) < 2:
                from django.test.utils import CaptureQueriesContext
                with CaptureQueriesContext(connection) as captured:
                    status = client.post(path).status_code
                if status not in shown:
                    shown.add(status)
                    print(f"-- the SQL of one approval answered {status}:")
                    for i, query in enumerate(captured.captured_queries, 1):
                        print(f"{i:3d} {query['sql'][:160]}")
                continue
            t0 = time.perf_counter()
            response = client.post(path)
            elapsed = time.perf_counter() - t0
            if response.status_code not in (302, 409):
                raise SystemExit(f"POST {path} answered {response.status_code}")
            if n >= WARM_UP:
                (approved if response.status_code == 302 else refused).append(elapsed)
        if profiler is not None:
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats("cumulative")
            stats.print_stats(40)
            stats.print_callees("_detail|approve_plan|screen_patient")
        proposed = TreatmentPlan.objects.filter(status="proposed", patient__clinic=clinic).count()
        print(f"{len(approved) + len(refused)} timed approvals: {len(approved)} approved, "
              f"{len(refused)} refused by screening; {proposed} plans proposed in the database")
        ok = True
        for label, samples in (("approved (302, screening + status change)", approved),
                               ("refused (409, findings page)", refused),
                               ("all round trips", approved + refused)):
            if len(samples) < 2:
                continue
            p50, p95, p99, worst = percentiles_ms(samples)
            if label.startswith("all"):
                ok = p95 < TARGET_P95_MS
            print(f"{label:44s} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   p99 {p99:6.2f} ms   "
                  f"max {worst:7.2f} ms")
        print(f"target p95 < {TARGET_P95_MS:.0f} ms: {'met' if ok else 'MISSED'}")
        return 0 if ok else 1
    finally:
        connection.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            if postgres:
                recreate_postgres(url, create=False)


if __name__ == "__main__":
    sys.exit(main())
