"""The recall query with 1,000,000 session records on PostgreSQL (issue 10 target: < 500 ms).

Run: python bench/bench_recall.py [--database-url URL] [--sessions 1000000] [--runs 30] [--fresh]

The PostgreSQL database of --database-url (default: DATABASE_URL, else postgresql://postgres@
127.0.0.1:5432/mesoclinic_bench) is created if missing and migrated. The first run loads, in one
transaction, an organisation (its name is the marker: a later run finds it and reuses the data;
--fresh drops and recreates the database first) with 4 clinics, a physician each, 1 patient for
every 16 sessions, 2 plans a patient, and --sessions treatment sessions over 4 years, signed but
the last 1,000. Every session has a hyaluronic acid component from one of 500 lots of its clinic
(2,000 in all, five open at a time: ~500 sessions a lot); every tenth session also a lidocaine
component from one of 5 lots of its clinic (~5,000 sessions a lot: the largest). Sessions carry a
check input of the contract's size (~1 KB), as the product stores it. Rows are written with
INSERT ... SELECT generate_series through Django's connection, not the ORM; every NOT NULL column
of the models must be given (the script says which one is not, if the models grow one). Then
VACUUM ANALYZE, as autovacuum would leave the tables.

Then, for a few lots (typical lots of each clinic, the largest, the newest still in use):
`charting.recall.affected(lot, organisation=, clinic=)` --runs times (the lot read as the page
reads it), p50/p95/max, and the query it sends alone (fetched through the cursor, no Python rows);
EXPLAIN (ANALYZE, BUFFERS) of that query for a typical and for the largest lot; and the recall
page and its CSV over Django's test client, signed in as a physician (view, audit event,
template). Figures are warm-cache: the first call of each lot is reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import _admin_url, is_postgres, percentiles_ms, recreate_postgres, staff_client, start_django

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/mesoclinic_bench"
TARGET_MS = 500.0
CLINICS = 4
SESSIONS_PER_PATIENT = 16
PLANS_PER_PATIENT = 2
OPEN_LOTS = 5  # hyaluronic acid lots in use at once in a clinic
SESSIONS_PER_LOT = 500
LIDOCAINE_EVERY = 10  # sessions
LIDOCAINE_LOTS = 5  # per clinic
IN_PROGRESS = 1000  # the newest sessions, not signed yet
YEARS = 4


def marker(sessions: int) -> str:
    return f"Recall bench ({sessions:,} sessions)"


# --- loading ------------------------------------------------------------------------------------

def insert_select(cursor: Any, model: Any, values: dict[str, str], source: str,
                  params: list[Any] | None = None) -> int:
    """INSERT INTO model's table (columns of `values`) SELECT their SQL expressions `source`."""
    from django.db.models.fields import NOT_PROVIDED

    fields = {f.name: f for f in model._meta.concrete_fields}
    unknown = sorted(set(values) - set(fields))
    missing = [f.name for f in fields.values() if not f.primary_key and not f.null
               and f.db_default is NOT_PROVIDED and f.name not in values]
    if unknown or missing:
        raise SystemExit(f"bench_recall is out of date with {model.__name__}: unknown {unknown}, "
                         f"no value for the NOT NULL {missing}")
    columns = ", ".join(fields[name].column for name in values)
    sql = (f"INSERT INTO {model._meta.db_table} ({columns}) "
           f"SELECT {', '.join(values.values())} {source}")
    cursor.execute(sql, params or [])
    count: int = cursor.rowcount
    return count


def check_input() -> str:
    """A pre-session check input of the size the product keeps with each session."""
    credentials = [{"kind": k, "valid_from": "2015-01-01", "valid_until": "2099-12-31"}
                   for k in ("medical_licence", "dermatology", "mesotherapy_training")]
    return json.dumps({
        "now": "2026-03-02T10:00:00+03:00", "timezone": "Europe/Istanbul",
        "screening": {"at": "2026-03-02T09:40:00+03:00", "decision": "eligible", "open": []},
        "record_changed_at": "2026-02-20T16:00:00+03:00",
        "plan": {"version": 1, "status": "active", "ingredients": ["hyaluronic_acid", "lidocaine"],
                 "uses_anaesthetic_cream": True, "approved_by_physician": True},
        "consent": {"plan_version": 1, "signed_at": "2026-02-21T11:00:00+03:00",
                    "withdrawn_at": None},
        "allergy_test": {"at": "2026-02-25T10:00:00+03:00",
                         "ingredients": ["hyaluronic_acid", "lidocaine"], "reactions": []},
        "workup": {"signed_off_at": "2026-02-21T10:30:00+03:00"},
        "cream_applied_at": "2026-03-02T09:25:00+03:00",
        "performer": {"role": "physician", "credentials": credentials},
        "clinic_licence": {"valid_from": "2024-01-01", "valid_until": "2099-12-31"},
        "open_adverse_events": [],
        "lots": [{"product": "hyaluronic_acid", "lot": "HA-1-0042", "expires": "2027-01-31",
                  "recalled": False, "available": 31.5, "needed": 2.0},
                 {"product": "lidocaine", "lot": "LID-1-0003", "expires": "2027-06-30",
                  "recalled": False, "available": 120.0, "needed": 0.5}]})


def load(sessions: int) -> None:
    """The organisation, its clinics, patients, plans, lots and `sessions` sessions."""
    from django.db import connection, transaction
    from django.utils import timezone

    from mesoclinic.accounts.models import Clinic, Membership, Organisation, User
    from mesoclinic.accounts.permissions import Role
    from mesoclinic.charting.models import SessionComponent, TreatmentSession
    from mesoclinic.inventory.models import Lot, Product
    from mesoclinic.patients.models import Patient
    from mesoclinic.patients.search import fold
    from mesoclinic.patients.seed import FAMILY, GIVEN_F, GIVEN_M
    from mesoclinic.plans.models import TreatmentPlan

    patients = max(CLINICS, sessions // SESSIONS_PER_PATIENT)
    plans = patients * PLANS_PER_PATIENT
    ha_lots = max(OPEN_LOTS, round(sessions / CLINICS / SESSIONS_PER_LOT / OPEN_LOTS) * OPEN_LOTS)
    window = -(-sessions // (ha_lots // OPEN_LOTS))  # sessions (all clinics) per set of open lots
    now = timezone.now()
    first = now - timedelta(days=365 * YEARS)
    step = (now - first).total_seconds() / sessions
    stamp = f"{os.getpid()}"
    started = time.perf_counter()

    def lap(what: str, rows: int | None = None) -> None:
        counted = f"{rows:,} " if rows is not None else ""
        print(f"  {counted}{what}: {time.perf_counter() - started:6.1f} s")

    with transaction.atomic(), connection.cursor() as cursor:
        org = Organisation.objects.create(name=marker(sessions))
        clinics = [Clinic.objects.create(organisation=org, name=f"Recall clinic {n + 1}",
                                         timezone="Europe/Istanbul" if n % 2 else "Europe/Berlin",
                                         licence_number=f"LIC-{n + 1}")
                   for n in range(CLINICS)]
        physicians = []
        for n, clinic in enumerate(clinics):
            user = User.objects.create_user(username=f"recall.dr{n + 1}.{stamp}",
                                            display_name=f"Dr Recall {n + 1}")
            Membership.objects.create(user=user, clinic=clinic, role=Role.PHYSICIAN)
            physicians.append(user)
        lots: list[tuple[int, str, int, Lot]] = []  # clinic id, kind, index, lot
        for n, clinic in enumerate(clinics):
            ha = Product.objects.create(clinic=clinic, name="Hyaluronic acid 1.5%", kind="component",
                                        unit="ml")
            lido = Product.objects.create(clinic=clinic, name="Lidocaine 2%", kind="component",
                                          unit="ml", multi_dose=True, in_use_days=28)
            for k in range(ha_lots):
                lots.append((clinic.pk, "ha", k, Lot(
                    product=ha, clinic=clinic, number=f"HA-{n + 1}-{k:04d}",
                    expires_on=(first + timedelta(days=400 + k * 365 * YEARS // ha_lots)).date(),
                    supplier="MesoPharm", received_quantity=1000, on_hand=0)))
            for k in range(LIDOCAINE_LOTS):
                lots.append((clinic.pk, "lido", k, Lot(
                    product=lido, clinic=clinic, number=f"LID-{n + 1}-{k:04d}",
                    expires_on=(first + timedelta(days=500 + k * 365 * YEARS // LIDOCAINE_LOTS)).date(),
                    supplier="Anesthe GmbH", received_quantity=2500, on_hand=0)))
        Lot.objects.bulk_create([lot for *_, lot in lots], batch_size=2000)
        lap("lots", len(lots))

        cursor.execute("CREATE TEMP TABLE bench_clinic (n int, clinic_id bigint, physician_id bigint)"
                       " ON COMMIT DROP")
        cursor.execute("INSERT INTO bench_clinic SELECT * FROM unnest(%s::int[], %s::bigint[], "
                       "%s::bigint[])", [list(range(CLINICS)), [c.pk for c in clinics],
                                         [u.pk for u in physicians]])
        cursor.execute("CREATE TEMP TABLE bench_lot (clinic_id bigint, kind text, k int, lot_id bigint)"
                       " ON COMMIT DROP")
        cursor.execute("INSERT INTO bench_lot SELECT * FROM unnest(%s::bigint[], %s::text[], "
                       "%s::int[], %s::bigint[])",
                       [[c for c, *_ in lots], [kind for _, kind, *_ in lots],
                        [k for _, _, k, _ in lots], [lot.pk for *_, lot in lots]])
        cursor.execute("CREATE INDEX ON bench_lot (clinic_id, kind, k)")

        given = GIVEN_F + GIVEN_M
        rows = insert_select(cursor, Patient, {
            "public_id": "gen_random_uuid()", "clinic": "c.clinic_id",
            "given_name": "(%s::text[])[1 + g %% %s]", "family_name": "(%s::text[])[1 + (g / 7) %% %s]",
            "birth_date": "date '1950-01-01' + (g * 7919) %% 20000",
            "sex": "CASE WHEN g %% %s < %s THEN 'female' ELSE 'male' END",
            "phone": "'+90 532 ' || lpad((g / 10000)::text, 3, '0') || ' ' "
                     "|| lpad((g %% 10000)::text, 4, '0')",
            "email": "'patient' || g || '@example.org'", "address": "''", "national_id": "''",
            "emergency_contact_name": "''", "emergency_contact_phone": "''",
            "preferred_language": "CASE WHEN g %% 3 = 0 THEN 'en' ELSE 'tr' END",
            "given_key": "(%s::text[])[1 + g %% %s]", "family_key": "(%s::text[])[1 + (g / 7) %% %s]",
            "phone_key": "reverse('90532' || lpad((g / 10000)::text, 3, '0') "
                         "|| lpad((g %% 10000)::text, 4, '0'))",
            "created_at": "%s::timestamptz + (g %% 1000) * interval '1 day'",
            "updated_at": "%s::timestamptz", "version": "1",
        }, "FROM generate_series(0, %s - 1) AS g JOIN bench_clinic c ON c.n = g %% %s ORDER BY g", [
            given, len(given), FAMILY, len(FAMILY), len(given), len(GIVEN_F),
            [fold(x) for x in given], len(given), [fold(x) for x in FAMILY], len(FAMILY),
            first, now, patients, CLINICS])
        lap("patients", rows)
        cursor.execute("CREATE TEMP TABLE bench_patient ON COMMIT DROP AS SELECT row_number() OVER "
                       "(ORDER BY p.id) - 1 AS n, p.id, p.clinic_id FROM patients_patient p "
                       "WHERE p.clinic_id = ANY(%s)", [[c.pk for c in clinics]])
        rows = insert_select(cursor, TreatmentPlan, {
            "public_id": "gen_random_uuid()", "patient": "p.id", "clinic": "p.clinic_id",
            "status": "CASE WHEN k = 0 THEN 'completed' ELSE 'active' END", "version": "1",
            "created_at": "%s::timestamptz", "created_by": "c.physician_id",
            "updated_at": "%s::timestamptz", "stop_reason": "''",
        }, "FROM bench_patient p CROSS JOIN generate_series(0, %s - 1) AS k "
           "JOIN bench_clinic c ON c.clinic_id = p.clinic_id ORDER BY p.n, k",
            [first, now, PLANS_PER_PATIENT])
        lap("plans", rows)
        cursor.execute("CREATE TEMP TABLE bench_plan ON COMMIT DROP AS SELECT row_number() OVER "
                       "(ORDER BY t.id) - 1 AS n, t.id, t.patient_id, t.clinic_id "
                       "FROM plans_treatmentplan t WHERE t.clinic_id = ANY(%s)",
                       [[c.pk for c in clinics]])
        cursor.execute("CREATE UNIQUE INDEX ON bench_plan (n)")
        signed = f"g < {sessions - IN_PROGRESS}"
        start = "(%s::timestamptz + (g * %s) * interval '1 second')"
        rows = insert_select(cursor, TreatmentSession, {
            "public_id": "gen_random_uuid()", "clinic": "pl.clinic_id", "patient": "pl.patient_id",
            "plan": "pl.id", "plan_version": "1", "session_number": f"g / {plans} + 1",
            "status": f"CASE WHEN {signed} THEN 'signed' ELSE 'in_progress' END",
            "performer": "c.physician_id", "performer_role": "'physician'",
            "areas": """CASE WHEN g %% 3 = 0 THEN '["scalp"]' ELSE '["face"]' END::jsonb""",
            "technique": "'point_by_point'", "delivery": "'needle'",
            "depth_min_mm": "1.0", "depth_max_mm": "2.5",
            "anaesthesia": "CASE WHEN g %% 10 = 0 THEN 'Anaesthetic cream: lidocaine' ELSE '' END",
            "started_at": start,
            "ended_at": f"CASE WHEN {signed} THEN {start} + interval '40 minutes' END",
            "immediate_reactions": "CASE WHEN g %% 17 = 0 THEN 'Mild erythema, settled' ELSE '' END",
            "notes": "'Tolerated well.'", "check_input": "%s::jsonb",
            "check_output": """'{"ready": true, "blocking": []}'::jsonb""",
            "signed_at": f"CASE WHEN {signed} THEN {start} + interval '45 minutes' END",
            "signed_by": f"CASE WHEN {signed} THEN c.physician_id END",
            "version": f"CASE WHEN {signed} THEN 3 ELSE 2 END",
        }, f"FROM generate_series(0, %s - 1) AS g JOIN bench_plan pl ON pl.n = g %% {plans} "
           "JOIN bench_clinic c ON c.clinic_id = pl.clinic_id ORDER BY g",
            [first, step, first, step, check_input(), first, step, sessions])
        lap("sessions", rows)
        cursor.execute("CREATE TEMP TABLE bench_session ON COMMIT DROP AS SELECT row_number() OVER "
                       "(ORDER BY s.id) - 1 AS g, s.id, s.clinic_id FROM charting_treatmentsession s "
                       "WHERE s.clinic_id = ANY(%s)", [[c.pk for c in clinics]])
        component = {"session": "s.id", "ingredient": "'hyaluronic_acid'",
                     "concentration": "'1.5 %%'", "lot": "l.lot_id", "quantity": "2.00",
                     "position": "0"}
        rows = insert_select(cursor, SessionComponent, component,
                             "FROM bench_session s JOIN bench_lot l ON l.clinic_id = s.clinic_id "
                             f"AND l.kind = 'ha' AND l.k = (s.g / {window}) * {OPEN_LOTS} "
                             f"+ s.g %% {OPEN_LOTS} ORDER BY s.g")
        rows += insert_select(cursor, SessionComponent, component | {
            "ingredient": "'lidocaine'", "concentration": "'2 %%'", "quantity": "0.50",
            "position": "1"},
            "FROM bench_session s JOIN bench_lot l ON l.clinic_id = s.clinic_id "
            f"AND l.kind = 'lido' AND l.k = s.g * {LIDOCAINE_LOTS} / {sessions} "
            f"WHERE s.g %% {LIDOCAINE_EVERY} = 0 ORDER BY s.g")
        lap("session components", rows)
    tables = [m._meta.db_table for m in (Patient, TreatmentPlan, TreatmentSession, SessionComponent, Lot)]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    lap("VACUUM ANALYZE")


def describe(sessions: int) -> Any:
    """The organisation, and sessions a lot (min / median / max) of its lots."""
    from django.db import connection

    from mesoclinic.accounts.models import Organisation

    org = Organisation.objects.get(name=marker(sessions))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(n), percentile_disc(0.5) WITHIN GROUP (ORDER BY n), max(n) FROM ("
            " SELECT l.id, count(sc.id) AS n FROM inventory_lot l JOIN accounts_clinic c ON"
            " c.id = l.clinic_id LEFT JOIN charting_sessioncomponent sc ON sc.lot_id = l.id"
            " WHERE c.organisation_id = %s GROUP BY l.id) per_lot", [org.pk])
        lots, low, median, high = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM charting_treatmentsession s JOIN accounts_clinic c ON"
                       " c.id = s.clinic_id WHERE c.organisation_id = %s", [org.pk])
        (count,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM charting_treatmentsession")
        (everyone,) = cursor.fetchone()
    print(f"data: {count:,} sessions of the bench's {CLINICS} clinics ({everyone:,} in the table); "
          f"{lots:,} lots with {low:,} / {median:,} / {high:,} sessions each (min / median / max)")
    if count != sessions:
        raise SystemExit(f"expected {sessions:,} sessions under {marker(sessions)!r}: run with --fresh")
    return org


# --- timing -------------------------------------------------------------------------------------

def picked_lots(org: Any, seed: int) -> list[tuple[str, Any]]:
    """Typical lots (one of each clinic), the largest, and the newest one in use."""
    from django.db.models import Count

    from mesoclinic.inventory.models import Lot

    rng = random.Random(seed)
    ours = Lot.objects.select_related("product", "clinic").filter(clinic__organisation=org)
    chosen: list[tuple[str, Any]] = []
    for clinic_id in sorted(set(ours.values_list("clinic_id", flat=True))):
        numbers = list(ours.filter(clinic_id=clinic_id, number__startswith="HA-")
                       .order_by("number").values_list("pk", flat=True))
        chosen.append(("typical", ours.get(pk=numbers[rng.randrange(max(1, len(numbers) - 2 * OPEN_LOTS))])))
    largest = ours.annotate(uses=Count("session_uses")).order_by("-uses", "pk").first()
    newest = ours.filter(number__startswith="HA-").order_by("-expires_on", "-pk").first()
    # The lot of the newest session: the one still in use.
    from mesoclinic.charting.models import SessionComponent

    last = (SessionComponent.objects.filter(lot__clinic__organisation=org, position=0)
            .order_by("-session__started_at").values_list("lot_id", flat=True).first())
    chosen.append(("largest", ours.get(pk=largest.pk)))  # type: ignore[union-attr]
    chosen.append(("newest (in use)", ours.get(pk=last or newest.pk)))  # type: ignore[union-attr]
    return chosen


def timed(call: Callable[[], Any], runs: int) -> tuple[float, list[float], Any]:
    t0 = time.perf_counter()
    result = call()
    first = time.perf_counter() - t0
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return first, samples, result


def captured_sql(lot: Any) -> str:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mesoclinic.charting import recall

    with CaptureQueriesContext(connection) as captured:
        recall.affected(lot, organisation=lot.clinic.organisation, clinic=lot.clinic)
    if len(captured.captured_queries) != 1:
        print(f"note: affected() sent {len(captured.captured_queries)} queries; the last one is shown")
    return str(captured.captured_queries[-1]["sql"])


def explain(label: str, lot: Any) -> None:
    from django.db import connection

    sql = captured_sql(lot)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = [row[0] for row in cursor.fetchall()]
    print(f"\n-- EXPLAIN (ANALYZE, BUFFERS), {label} lot {lot.number}:\n{sql}\n")
    print("\n".join(plan))


def time_queries(org: Any, runs: int, seed: int) -> bool:
    from django.db import connection

    from mesoclinic.charting import recall

    ok = True
    lots = picked_lots(org, seed)
    print(f"\nrecall.affected(lot, organisation=, clinic=): {runs} runs a lot after a first call")
    print(f"{'lot':>18s} {'':16s} {'sessions':>9s} {'first ms':>9s} {'p50 ms':>8s} {'p95 ms':>8s}"
          f" {'max ms':>8s} {'SQL p50':>8s}")
    for label, lot in lots:
        def call(lot: Any = lot) -> list[recall.Exposure]:
            return recall.affected(lot, organisation=lot.clinic.organisation, clinic=lot.clinic)

        first, samples, rows = timed(call, runs)
        sql = captured_sql(lot)

        def fetch(sql: str = sql) -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                cursor.fetchall()

        _f, sql_samples, _r = timed(fetch, runs)
        p50, p95, _p99, worst = percentiles_ms(samples)
        ok &= p95 < TARGET_MS
        print(f"{lot.number:>18s} {label:16s} {len(rows):9,d} {first * 1000:9.1f} {p50:8.1f} "
              f"{p95:8.1f} {worst:8.1f} {statistics.median(sql_samples) * 1000:8.1f}")
    explain("a typical", lots[0][1])
    explain("the largest", next(lot for label, lot in lots if label == "largest"))
    http_page(lots)
    return ok


def http_page(lots: list[tuple[str, Any]]) -> None:
    """The recall page and its CSV through Django's test client, signed in as a physician."""
    from mesoclinic.accounts.permissions import Role

    print("\nthe recall page over Django's test client (view, audit event, template), physician:")
    clients: dict[int, Any] = {}
    for label, lot in lots:
        if lot.clinic_id not in clients:  # a physician of the lot's clinic
            clients[lot.clinic_id], _user = staff_client(
                f"recall.reader.{os.getpid()}.{time.time_ns()}", lot.clinic, Role.PHYSICIAN)
        client = clients[lot.clinic_id]
        for kind, path in (("page", f"/recalls/{lot.public_id}/"),
                           ("CSV", f"/recalls/{lot.public_id}/patients.csv")):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    raise SystemExit(f"GET {path} answered {response.status_code}")
            size = len(response.content)
            print(f"  {kind:4s} {lot.number:>12s} {label:16s} first {times[0] * 1000:7.1f} ms, "
                  f"median of 5 {statistics.median(times) * 1000:7.1f} ms ({size / 1024:,.0f} KiB)")


def ensure_database(url: str, fresh: bool) -> None:
    import psycopg

    if fresh:
        recreate_postgres(url, create=True)
        return
    admin, name = _admin_url(url.replace("postgresql+psycopg", "postgresql"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL,
                        help=f"default: DATABASE_URL, else {DEFAULT_URL}")
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30, help="timed calls a lot")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--fresh", action="store_true",
                        help="drop and recreate the database, then load again")
    args = parser.parse_args()
    if not is_postgres(args.database_url):
        raise SystemExit("--database-url: a PostgreSQL URL")
    if args.sessions < 10 * IN_PROGRESS:
        raise SystemExit(f"--sessions: at least {10 * IN_PROGRESS:,}")
    ensure_database(args.database_url, args.fresh)
    start_django(args.database_url, Path(tempfile.mkdtemp(prefix="mesoclinic-bench-recall-")))
    from django.db import connection

    from mesoclinic.accounts.models import Organisation

    if Organisation.objects.filter(name=marker(args.sessions)).exists():
        print(f"reusing the data of {marker(args.sessions)!r} (--fresh loads it again)")
    else:
        print(f"loading {args.sessions:,} sessions (once; later runs reuse them):")
        load(args.sessions)
    org = describe(args.sessions)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), current_setting('shared_buffers'), "
                       "current_setting('work_mem'), pg_size_pretty(pg_total_relation_size("
                       "'charting_treatmentsession')), pg_size_pretty(pg_total_relation_size("
                       "'charting_sessioncomponent'))")
        version, buffers, work_mem, sessions_size, components_size = cursor.fetchone()
    print(f"{version.split(' on ')[0]}; shared_buffers {buffers}, work_mem {work_mem}; sessions "
          f"{sessions_size}, components {components_size} (tables with indexes); load "
          f"{os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    ok = time_queries(org, args.runs, args.seed)
    print(f"\ntarget p95 < {TARGET_MS:.0f} ms for every lot: {'met' if ok else 'MISSED'}")
    connection.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
