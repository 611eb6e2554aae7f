"""POST /api/v1/screenings server time (issue 3 target: p95 < 20 ms).

Run: python bench/bench_screening_api.py [--requests 1000] [--seed 3] [--database-url URL]

Without --database-url a fresh SQLite file under /tmp is created and migrated. The script issues
a write token for one clinic and posts a varied, reproducible mix of intakes (the same generator
as bench_screening.py: clean, incomplete, blocked, NSAIDs, allergies, missing tests, several UTC
offsets) through Django's test client in-process, so each timing is the whole server path:
middleware, token lookup, strict JSON decoding, the knowledge pack in force, parse + screen +
serialise, the audit event it appends, and the JSON response. Warm-up requests come first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import percentiles_ms, start_django
from bench_screening import make_input

TARGET_P95_MS = 20.0
WARM_UP = 50
AS_OF = "2026-11-20T12:00:00+00:00"  # fixed, so every run screens the same intakes alike


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--database-url", help="default: a fresh SQLite file under /tmp")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file afterwards")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mesoclinic-bench-api-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    start_django(url, workdir)
    from django.db import connection
    from django.test import Client

    from mesoclinic.accounts.models import ApiToken, Clinic, Membership, Organisation, User
    from mesoclinic.accounts.permissions import Role
    from mesoclinic.audit.models import AuditEvent
    from mesoclinic.knowledge.store import active_pack
    from mesoclinic.screening.contract import screen_json

    try:
        org = Organisation.objects.create(name="Bench Group")
        clinic = Clinic.objects.create(organisation=org, name="Bench Clinic",
                                       timezone="Europe/Istanbul")
        user = User.objects.create_user(username="bench.physician", display_name="Bench Physician")
        Membership.objects.create(user=user, clinic=clinic, role=Role.PHYSICIAN)
        _, token = ApiToken.issue(name="bench", clinic=clinic, scope="write", created_by=user)

        rng = Random(args.seed)
        bodies = [json.dumps({"as_of": AS_OF, **make_input(rng)})
                  for _ in range(args.requests + WARM_UP)]
        client = Client(HTTP_HOST="localhost", headers={"Authorization": f"Bearer {token}"})

        def post(body: str) -> tuple[float, dict[str, object]]:
            t0 = time.perf_counter()
            response = client.post("/api/v1/screenings", body, content_type="application/json")
            elapsed = time.perf_counter() - t0
            if response.status_code != 200:
                raise SystemExit(f"POST answered {response.status_code}: {response.content[:200]!r}")
            return elapsed, response.json()

        for body in bodies[:WARM_UP]:
            post(body)

        events_before = AuditEvent.objects.count()
        times: list[float] = []
        decisions: Counter[str] = Counter()
        for body in bodies[WARM_UP:]:
            elapsed, output = post(body)
            times.append(elapsed)
            decisions[str(output["decision"])] += 1
        audited = AuditEvent.objects.count() - events_before

        # The engine's share: the same intakes through the contract alone, no HTTP, no database.
        pack, now = active_pack(), datetime.now(UTC)
        decoded = [json.loads(b) for b in bodies[WARM_UP:]]
        t0 = time.perf_counter()
        for data in decoded:
            screen_json(data, now=now, pack=pack)
        engine_ms = (time.perf_counter() - t0) / len(decoded) * 1000

        p50, p95, p99, worst = percentiles_ms(times)
        print(f"{len(times)} requests after {WARM_UP} warm-up; {audited} audit events written")
        print("decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(decisions.items())))
        print(f"POST /api/v1/screenings   p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   "
              f"p99 {p99:6.2f} ms   max {worst:7.2f} ms   mean {statistics.fmean(times) * 1000:.2f} ms")
        print(f"engine alone (screen_json, same intakes): mean {engine_ms:.3f} ms")
        ok = p95 < TARGET_P95_MS
        print(f"target p95 < {TARGET_P95_MS:.0f} ms: {'met' if ok else 'MISSED'}")
        return 0 if ok else 1
    finally:
        connection.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
