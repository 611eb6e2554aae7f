"""The safety dashboard page over a year of a busy chain, on PostgreSQL (its p95 is the figure).

Run: python bench/bench_safety_dashboard.py [--database-url URL] [--runs 30] [--fresh] [--index]

The PostgreSQL database of --database-url (default: DATABASE_URL, else postgresql://postgres@
127.0.0.1:5432/mesoclinic_bench_safety) is created if missing and migrated. The first run loads,
in one transaction, an organisation (its name is the marker: a later run finds it and reuses the
data; --fresh drops and recreates the database first) of 50 clinics in Europe/Istanbul, each with
4 physicians, a manager, 4 rooms, 2,000 patients with a plan each, and 10,000 treatment sessions
over the last 360 days (500,000 in all; 28 a clinic-day, 09:00-13:30 local on 45-minute slots,
each physician in another room each day, so that no booking overlaps: the database's exclusion
constraints hold). Every session but one in twenty has its appointment (and so its room); each
has a hyaluronic acid component from that month's lot of its clinic, every third also lidocaine
(a lot a quarter), every fourth from the second also vitamin C (a lot every two months): ~1.6
components a session, 22 lots a clinic. Sessions carry a check input of the contract's size
(~1 KB). 2,000 adverse events on sessions spread over the chain (~40 a clinic; one in twenty
linked to its patient's next session too), a fifth of them suspected infections; each clinic has
two open infection alerts and an open lot cluster (its exposed list is every patient of that lot,
~800) with its alert. Rows go in with INSERT ... SELECT generate_series through Django's
connection, not the ORM; every NOT NULL column of the models must be given (the script names one
that is not, if the models grow one). Then VACUUM ANALYZE, as autovacuum would leave the tables.

Then the page `/safety/` over Django's test client (middleware, view, queries, audit event,
template), signed in as a physician of one clinic, --runs times after a first call: the default
period (the last 12 months: all of the clinic's 10,000 sessions) and the last 3 months; the same
signed in as a manager; p50/p95/max. For one call of each period: how many queries it sent and
their time, the slowest ones, and EXPLAIN (ANALYZE, BUFFERS) of the slowest. --index adds, for a
second round, the covering indexes the dashboard would like (INDEXES: sessions by clinic and
start with the grouped columns, components by session with ingredient and lot, appointments'
rooms by id), VACUUM ANALYZEs, and drops them after, so that the database stays as the
migrations make it.
"""

from __future__ import annotations

import argparse
import json
import os
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

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/mesoclinic_bench_safety"
ZONE = "Europe/Istanbul"
CLINICS = 50
SESSIONS_PER_CLINIC = 10_000
EVENTS = 2_000
PHYSICIANS = 4  # a clinic; also its rooms
PATIENTS_PER_CLINIC = 2_000  # five sessions each
SLOTS_PER_DAY = 28  # PHYSICIANS x 7 slots of 45 minutes
DAYS = 360
NO_ROOM_EVERY = 20  # sessions: one without an appointment
MEASURED = 0  # the clinic whose dashboard is timed
# The covering indexes the dashboard would like (--index): the period's sessions, their rooms
# and their components read from indexes alone.
INDEXES = {
    "bench_dash_session": "charting_treatmentsession (clinic_id, started_at) "
                          "INCLUDE (id, technique, performer_id, appointment_id, areas)",
    "bench_dash_component": "charting_sessioncomponent (session_id) INCLUDE (ingredient, lot_id)",
    "bench_dash_room": "scheduling_appointment (id) INCLUDE (room_id)",
}


def marker() -> str:
    return f"Safety dashboard bench ({CLINICS * SESSIONS_PER_CLINIC:,} sessions, {EVENTS:,} events)"


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
        raise SystemExit(f"bench_safety_dashboard is out of date with {model.__name__}: unknown "
                         f"{unknown}, no value for the NOT NULL {missing}")
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
        "now": "2026-03-02T10:00:00+03:00", "timezone": ZONE,
        "screening": {"at": "2026-03-02T09:40:00+03:00", "decision": "eligible", "open": []},
        "record_changed_at": "2026-02-20T16:00:00+03:00",
        "plan": {"version": 1, "status": "active", "ingredients": ["hyaluronic_acid", "lidocaine"],
                 "uses_anaesthetic_cream": True, "approved_by_physician": True},
        "consent": {"plan_version": 1, "signed_at": "2026-02-21T11:00:00+03:00", "withdrawn_at": None},
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


# Lot lines of a clinic: (kind, ingredient, product name, lots over the year, used when k % m == r).
LINES = (("ha", "hyaluronic_acid", "Hyaluronic acid 1.5%", 12, 1, 0),
         ("lid", "lidocaine", "Lidocaine 2%", 4, 3, 0),
         ("vitc", "vitamin_c", "Vitamin C 20%", 6, 4, 1))
EFFECTS = ("erythema", "swelling", "itching", "infection", "mild_pain", "needle_marks", "burning",
           "erythema", "swelling", "infection")


def load() -> None:
    """The organisation, its clinics, staff, rooms, lots, patients, plans, appointments,
    sessions, components, events, alerts and clusters."""
    from django.contrib.auth.hashers import make_password
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
    from mesoclinic.safety.models import AdverseEvent, Alert, Cluster
    from mesoclinic.scheduling.models import Appointment, Room

    sessions = CLINICS * SESSIONS_PER_CLINIC
    now = timezone.now()
    from zoneinfo import ZoneInfo

    today = now.astimezone(ZoneInfo(ZONE)).date()
    day0 = today - timedelta(days=DAYS)
    started = time.perf_counter()

    def lap(what: str, rows: int | None = None) -> None:
        counted = f"{rows:,} " if rows is not None else ""
        print(f"  {counted}{what}: {time.perf_counter() - started:6.1f} s", flush=True)

    with transaction.atomic(), connection.cursor() as cursor:
        org = Organisation.objects.create(name=marker())
        clinics = Clinic.objects.bulk_create([
            Clinic(organisation=org, name=f"Dashboard clinic {n + 1:02d}", timezone=ZONE, currency="TRY",
                   licence_number=f"IST-{n + 1:04d}") for n in range(CLINICS)])
        unusable = make_password(None)
        stamp = f"{os.getpid()}"
        users = User.objects.bulk_create(
            [User(username=f"dash.c{n + 1}.dr{p + 1}.{stamp}",
                  display_name=f"Dr {chr(65 + p)}. Clinic {n + 1}", password=unusable)
             for n in range(CLINICS) for p in range(PHYSICIANS)]
            + [User(username=f"dash.c{n + 1}.manager.{stamp}", display_name=f"Manager {n + 1}",
                    password=unusable) for n in range(CLINICS)])
        physicians = {(n, p): users[n * PHYSICIANS + p] for n in range(CLINICS) for p in range(PHYSICIANS)}
        Membership.objects.bulk_create(
            [Membership(user=u, clinic=clinics[n], role=Role.PHYSICIAN) for (n, _p), u in physicians.items()]
            + [Membership(user=users[CLINICS * PHYSICIANS + n], clinic=clinics[n], role=Role.MANAGER)
               for n in range(CLINICS)])
        rooms = Room.objects.bulk_create([Room(clinic=clinics[n], name=f"Room {r + 1}")
                                          for n in range(CLINICS) for r in range(PHYSICIANS)])
        lots: list[tuple[int, str, int, Lot]] = []
        for n, clinic in enumerate(clinics):
            for kind, _ingredient, name, count, _m, _r in LINES:
                product = Product.objects.create(clinic=clinic, name=name, kind="component", unit="ml")
                for k in range(count):
                    lots.append((n, kind, k, Lot(
                        product=product, clinic=clinic, number=f"{kind.upper()}-{n + 1}-{k + 1:03d}",
                        expires_on=day0 + timedelta(days=400 + k * DAYS // count), supplier="MesoPharm",
                        received_quantity=1000, on_hand=0)))
        Lot.objects.bulk_create([lot for *_, lot in lots], batch_size=2000)
        lap("clinics, staff, rooms and lots")

        def temp(name: str, columns: str, rows: list[list[Any]], types: str) -> None:
            cursor.execute(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP")
            holes = ", ".join(f"%s::{t}[]" for t in types.split())
            cursor.execute(f"INSERT INTO {name} SELECT * FROM unnest({holes})", rows)  # noqa: S608

        temp("bench_clinic", "n int, clinic_id bigint, manager_id bigint",
             [list(range(CLINICS)), [c.pk for c in clinics],
              [users[CLINICS * PHYSICIANS + n].pk for n in range(CLINICS)]], "int bigint bigint")
        temp("bench_staff", "n int, p int, user_id bigint",
             [[n for n, _p in physicians], [p for _n, p in physicians], [u.pk for u in physicians.values()]],
             "int int bigint")
        temp("bench_room", "n int, r int, room_id bigint",
             [[n for n in range(CLINICS) for _r in range(PHYSICIANS)],
              [r for _n in range(CLINICS) for r in range(PHYSICIANS)], [room.pk for room in rooms]],
             "int int bigint")
        temp("bench_lot", "n int, kind text, k int, lot_id bigint",
             [[n for n, *_ in lots], [kind for _n, kind, *_ in lots], [k for _n, _kind, k, _l in lots],
              [lot.pk for *_, lot in lots]], "int text int bigint")
        for table, columns in (("bench_staff", "n, p"), ("bench_room", "n, r"), ("bench_lot", "n, kind, k")):
            cursor.execute(f"CREATE UNIQUE INDEX ON {table} ({columns})")

        given = GIVEN_F + GIVEN_M
        patients = CLINICS * PATIENTS_PER_CLINIC
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
            "created_at": "%s::timestamptz", "updated_at": "%s::timestamptz", "version": "1",
        }, "FROM generate_series(0, %s - 1) AS g JOIN bench_clinic c ON c.n = g %% %s ORDER BY g", [
            given, len(given), FAMILY, len(FAMILY), len(given), len(GIVEN_F),
            [fold(x) for x in given], len(given), [fold(x) for x in FAMILY], len(FAMILY),
            now - timedelta(days=DAYS + 30), now, patients, CLINICS])
        lap("patients", rows)
        ours = [c.pk for c in clinics]
        cursor.execute("CREATE TEMP TABLE bench_patient ON COMMIT DROP AS SELECT row_number() OVER "
                       "(ORDER BY p.id) - 1 AS g, p.id, p.public_id, p.clinic_id FROM patients_patient p "
                       "WHERE p.clinic_id = ANY(%s)", [ours])
        cursor.execute("CREATE UNIQUE INDEX ON bench_patient (g)")
        rows = insert_select(cursor, TreatmentPlan, {
            "public_id": "gen_random_uuid()", "patient": "p.id", "clinic": "p.clinic_id",
            "status": "'active'", "version": "1", "created_at": "%s::timestamptz",
            "created_by": "s.user_id", "updated_at": "%s::timestamptz", "stop_reason": "''",
        }, f"FROM bench_patient p JOIN bench_staff s ON s.n = p.g %% {CLINICS} AND s.p = 0 ORDER BY p.g",
            [now - timedelta(days=DAYS + 20), now])
        lap("plans", rows)
        cursor.execute("CREATE TEMP TABLE bench_plan ON COMMIT DROP AS SELECT row_number() OVER "
                       "(ORDER BY t.id) - 1 AS g, t.id FROM plans_treatmentplan t "
                       "WHERE t.clinic_id = ANY(%s)", [ours])
        cursor.execute("CREATE UNIQUE INDEX ON bench_plan (g)")

        # One row a session, in time order across the chain: g = k * CLINICS + n, k the clinic's
        # k-th session: day k / 28, slot k % 28 (physician slot % 4, hour slot / 4), the physician
        # in room (physician + day) % 4 that day.
        cursor.execute(f"""
            CREATE TEMP TABLE bench_slot ON COMMIT DROP AS
            SELECT q.g, q.n, q.k, c.clinic_id, st.user_id AS performer_id,
                   CASE WHEN q.k %% {NO_ROOM_EVERY} = 7 THEN NULL ELSE r.room_id END AS room_id,
                   pt.id AS patient_id, pl.id AS plan_id, q.k / {PATIENTS_PER_CLINIC} + 1 AS session_number,
                   ((%s::date + (q.k / {SLOTS_PER_DAY})::int) + time '09:00'
                     + (q.k %% {SLOTS_PER_DAY} / {PHYSICIANS}) * interval '45 minutes')
                     AT TIME ZONE %s AS started_at
            FROM (SELECT g, g %% {CLINICS} AS n, g / {CLINICS} AS k FROM generate_series(0, %s - 1) AS g) q
            JOIN bench_clinic c ON c.n = q.n
            JOIN bench_staff st ON st.n = q.n AND st.p = q.k %% {PHYSICIANS}
            JOIN bench_room r
                 ON r.n = q.n AND r.r = (q.k %% {PHYSICIANS} + q.k / {SLOTS_PER_DAY}) %% {PHYSICIANS}
            JOIN bench_patient pt ON pt.g = (q.k %% {PATIENTS_PER_CLINIC}) * {CLINICS} + q.n
            JOIN bench_plan pl ON pl.g = pt.g
            """, [day0, ZONE, sessions])  # noqa: S608 (constants)
        cursor.execute("CREATE UNIQUE INDEX ON bench_slot (g)")
        lap("session slots", sessions)
        rows = insert_select(cursor, Appointment, {
            "public_id": "gen_random_uuid()", "clinic": "s.clinic_id", "patient": "s.patient_id",
            "kind": "'treatment'", "practitioner": "s.performer_id", "room": "s.room_id",
            "starts_at": "s.started_at", "ends_at": "s.started_at + interval '40 minutes'",
            "plan": "s.plan_id", "series_index": "s.session_number", "status": "'booked'", "note": "''",
            "cancel_reason": "''", "created_at": "s.started_at - interval '10 days'",
            "created_by": "c.manager_id", "updated_at": "s.started_at - interval '10 days'", "version": "1",
        }, "FROM bench_slot s JOIN bench_clinic c ON c.n = s.n WHERE s.room_id IS NOT NULL ORDER BY s.g")
        lap("appointments", rows)
        cursor.execute("""
            CREATE TEMP TABLE bench_appt ON COMMIT DROP AS
            SELECT a.id, s.g FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn
                                   FROM scheduling_appointment WHERE clinic_id = ANY(%s)) a
            JOIN (SELECT g, row_number() OVER (ORDER BY g) AS rn FROM bench_slot
                  WHERE room_id IS NOT NULL) s ON s.rn = a.rn""", [ours])
        cursor.execute("CREATE UNIQUE INDEX ON bench_appt (g)")
        areas = ("""(ARRAY['["face"]', '["face"]', '["scalp"]', '["face", "neck"]', '["abdomen"]'])"""
                 "[1 + s.k %% 5]::jsonb")
        technique = ("CASE WHEN s.k %% 7 = 0 THEN 'comprehensive' WHEN s.k %% 11 = 0 THEN 'epidermal' "
                     "ELSE 'point_by_point' END")
        rows = insert_select(cursor, TreatmentSession, {
            "public_id": "gen_random_uuid()", "clinic": "s.clinic_id", "patient": "s.patient_id",
            "plan": "s.plan_id", "plan_version": "1", "session_number": "s.session_number",
            "appointment": "a.id", "status": "'signed'", "performer": "s.performer_id",
            "performer_role": "'physician'", "areas": areas, "technique": technique, "delivery": "'needle'",
            "depth_min_mm": "1.0", "depth_max_mm": "2.5", "anaesthesia": "''", "started_at": "s.started_at",
            "ended_at": "s.started_at + interval '40 minutes'", "immediate_reactions": "''",
            "notes": "'Tolerated well.'", "check_input": "%s::jsonb",
            "check_output": """'{"ready": true, "blocking": []}'::jsonb""",
            "signed_at": "s.started_at + interval '45 minutes'", "signed_by": "s.performer_id",
            "version": "3",
        }, "FROM bench_slot s LEFT JOIN bench_appt a ON a.g = s.g ORDER BY s.g", [check_input()])
        lap("sessions", rows)
        cursor.execute("CREATE TEMP TABLE bench_session ON COMMIT DROP AS SELECT t.id, s.* FROM "
                       "(SELECT id, row_number() OVER (ORDER BY id) - 1 AS g FROM charting_treatmentsession "
                       "WHERE clinic_id = ANY(%s)) t JOIN bench_slot s ON s.g = t.g", [ours])
        cursor.execute("CREATE UNIQUE INDEX ON bench_session (g)")
        rows = 0
        for position, (kind, ingredient, _name, count, every, rest) in enumerate(LINES):
            rows += insert_select(cursor, SessionComponent, {
                "session": "s.id", "position": str(position), "ingredient": f"'{ingredient}'",
                "concentration": "''", "lot": "l.lot_id", "quantity": "1.00"},
                f"FROM bench_session s JOIN bench_lot l ON l.n = s.n AND l.kind = '{kind}' "
                f"AND l.k = (s.k / {SLOTS_PER_DAY}) * {count} / {DAYS} WHERE s.k %% {every} = {rest} "
                "ORDER BY s.g")
        lap("session components", rows)

        # Events on sessions spread over the chain: i -> session (i * 7919 + 13) mod N (7919 is
        # prime to N, so no session twice); one in twenty also on the patient's next session. The
        # effect goes by i / CLINICS: i mod CLINICS picks the clinic, so every clinic gets each kind.
        effects = list(EFFECTS)
        rows = insert_select(cursor, AdverseEvent, {
            "public_id": "gen_random_uuid()", "clinic": "s.clinic_id", "patient": "s.patient_id",
            "effect": "e.effect", "other_effect": "''",
            "infection": "CASE WHEN e.effect = 'infection' THEN 'suspected' ELSE '' END",
            "description": "''", "onset": "(s.started_at AT TIME ZONE %s)::date + (i %% 20)::int",
            "severity": "CASE WHEN i %% 4 = 0 THEN 'moderate' ELSE 'mild' END", "seriousness": "'[]'::jsonb",
            "expected": "e.effect <> 'infection'", "action_taken": "'none'", "outcome": "'ongoing'",
            "status": "'open'", "source": "'staff'", "reported_by": "s.performer_id",
            "reported_at": "s.started_at + (1 + i %% 20) * interval '1 day'", "hold_note": "''",
            "version": "1",
        }, "FROM generate_series(0, %s - 1) AS i "
           "CROSS JOIN LATERAL (SELECT (%s::text[])[1 + (i / %s) %% %s] AS effect) e "
           "JOIN bench_session s ON s.g = (i::bigint * 7919 + 13) %% %s ORDER BY i",
            [ZONE, EVENTS, effects, CLINICS, len(effects), sessions])
        lap("adverse events", rows)
        cursor.execute("""
            CREATE TEMP TABLE bench_event ON COMMIT DROP AS
            SELECT e.id, e.public_id, i.i, (i.i::bigint * 7919 + 13) %% %s AS g
            FROM (SELECT id, public_id, row_number() OVER (ORDER BY id) - 1 AS rn FROM safety_adverseevent
                  WHERE clinic_id = ANY(%s)) e
            JOIN generate_series(0, %s - 1) AS i(i) ON i.i = e.rn""", [sessions, ours, EVENTS])
        links = AdverseEvent.sessions.through._meta.db_table
        cursor.execute(f"""
            INSERT INTO {links} (adverseevent_id, treatmentsession_id)
            SELECT e.id, s.id FROM bench_event e JOIN bench_session s ON s.g = e.g
            UNION ALL
            SELECT e.id, s.id FROM bench_event e
            JOIN bench_session s ON s.g = e.g + {CLINICS * PATIENTS_PER_CLINIC} WHERE e.i % 20 = 0
            """)  # noqa: S608 (a model's table and constants)
        lap("event-session links", cursor.rowcount)

        # Each clinic: its two newest infection events alerted, and an open cluster of one lot.
        cursor.execute("""
            INSERT INTO safety_alert (public_id, clinic_id, reason, patient_id, event_id, raised_at,
                                      ack_due_at, ack_note)
            SELECT gen_random_uuid(), clinic_id, 'infection', patient_id, id,
                   %s::timestamptz - interval '1 hour', %s::timestamptz + interval '3 hours', ''
            FROM (SELECT e.*, row_number() OVER (PARTITION BY clinic_id ORDER BY onset DESC, id DESC) AS nth
                  FROM safety_adverseevent e WHERE clinic_id = ANY(%s) AND effect = 'infection') x
            WHERE nth <= 2""", [now, now, ours])
        alerts = cursor.rowcount
        for n, clinic in enumerate(clinics):
            lot = next(lot for m, kind, k, lot in lots if m == n and kind == "ha" and k == 6)
            cursor.execute(
                "SELECT coalesce(jsonb_agg(DISTINCT p.public_id::text), '[]'::jsonb) FROM "
                "charting_sessioncomponent sc JOIN charting_treatmentsession s ON s.id = sc.session_id "
                "JOIN patients_patient p ON p.id = s.patient_id WHERE sc.lot_id = %s", [lot.pk])
            exposed = cursor.fetchone()[0]
            cluster = Cluster.objects.create(clinic=clinic, kind="lot", key=lot.number,
                                             events=[str(e) for e in AdverseEvent.objects.filter(
                                                 clinic=clinic).values_list("public_id", flat=True)[:2]],
                                             exposed_patients=exposed if isinstance(exposed, list)
                                             else json.loads(exposed))
            Alert.objects.create(clinic=clinic, reason="cluster", cluster=cluster, raised_at=now,
                                 ack_due_at=now + timedelta(hours=4))
            alerts += 1
        lap("alerts and clusters", alerts)
    tables = [m._meta.db_table for m in (Patient, TreatmentPlan, Appointment, TreatmentSession,
                                         SessionComponent, Lot, AdverseEvent, Alert, Cluster)] + [links]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    lap("VACUUM ANALYZE")


def describe() -> Any:
    """The organisation and the measured clinic, with their counts."""
    from django.db import connection

    from mesoclinic.accounts.models import Clinic, Organisation

    org = Organisation.objects.get(name=marker())
    clinic = Clinic.objects.filter(organisation=org).order_by("name")[MEASURED]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE s.clinic_id = %s) FROM "
                       "charting_treatmentsession s JOIN accounts_clinic c ON c.id = s.clinic_id "
                       "WHERE c.organisation_id = %s", [clinic.pk, org.pk])
        count, mine = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM charting_sessioncomponent sc JOIN charting_treatmentsession s "
                       "ON s.id = sc.session_id WHERE s.clinic_id = %s", [clinic.pk])
        (components,) = cursor.fetchone()
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE clinic_id = %s) FROM safety_adverseevent "
                       "WHERE clinic_id IN (SELECT id FROM accounts_clinic WHERE organisation_id = %s)",
                       [clinic.pk, org.pk])
        events, my_events = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM charting_treatmentsession")
        (everyone,) = cursor.fetchone()
    print(f"data: {count:,} sessions and {events:,} events in {CLINICS} clinics ({everyone:,} sessions in "
          f"the table); the measured clinic: {mine:,} sessions, {components:,} components, "
          f"{my_events} events")
    if count != CLINICS * SESSIONS_PER_CLINIC or events != EVENTS:
        raise SystemExit(f"expected {CLINICS * SESSIONS_PER_CLINIC:,} sessions under {marker()!r}: "
                         "run with --fresh")
    return clinic


# --- timing -------------------------------------------------------------------------------------

def timed(call: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    call()
    first = time.perf_counter() - t0
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return first, samples


def get(client: Any, query: str) -> Any:
    response = client.get(f"/safety/{query}")
    if response.status_code != 200:
        raise SystemExit(f"GET /safety/{query} answered {response.status_code}")
    return response


def queries_of(client: Any, query: str, explain: bool) -> None:
    """The queries one page sends: count, total time, the slowest; EXPLAIN of the slowest."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        get(client, query)
    timed_queries = sorted(((float(q["time"]), str(q["sql"])) for q in captured.captured_queries),
                           reverse=True)
    total = sum(t for t, _sql in timed_queries) * 1000
    print(f"    {len(timed_queries)} queries, {total:.1f} ms in SQL; slowest:")
    for seconds, sql in timed_queries[:4]:
        print(f"      {seconds * 1000:6.1f} ms  {' '.join(sql.split())[:150]}")
    if explain:
        from django.db import transaction

        sql = timed_queries[0][1]
        with transaction.atomic(), connection.cursor() as cursor:
            if sql.lstrip().startswith("WITH ps"):  # as dashboard.counts sends it: without JIT
                cursor.execute("SET LOCAL jit = off")
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plan = [row[0] for row in cursor.fetchall()]
        print("\n    -- EXPLAIN (ANALYZE, BUFFERS) of the slowest:\n    " + "\n    ".join(plan) + "\n")


def time_page(clinic: Any, runs: int, explain: bool) -> dict[str, float]:
    from mesoclinic.accounts.permissions import Role

    stamp = f"{os.getpid()}.{time.time_ns()}"
    physician, _user = staff_client(f"dash.reader.{stamp}", clinic, Role.PHYSICIAN)
    manager, _user = staff_client(f"dash.manager.{stamp}", clinic, Role.MANAGER)
    p95s = {}
    print(f"\n{'page':34s} {'first ms':>9s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s} {'KiB':>6s}")
    for label, client, query in (("physician, last 12 months", physician, ""),
                                 ("physician, last 3 months", physician, "?months=3"),
                                 ("manager, last 12 months", manager, ""),
                                 ("physician, Jan-Mar (dates)", physician, "?since={q1}&until={q1end}")):
        if "{q1}" in query:
            from mesoclinic.inventory.queries import clinic_today

            today = clinic_today(clinic)
            start = (today - timedelta(days=200)).replace(day=1)
            query = query.format(q1=start.isoformat(), q1end=(start + timedelta(days=89)).isoformat())
        size = len(get(client, query).content)

        def call(client: Any = client, query: str = query) -> None:
            get(client, query)

        first, samples = timed(call, runs)
        p50, p95, _p99, worst = percentiles_ms(samples)
        p95s[label] = p95
        print(f"{label:34s} {first * 1000:9.1f} {p50:8.1f} {p95:8.1f} {worst:8.1f} {size / 1024:6.0f}")
    for label, query in (("last 12 months", ""), ("last 3 months", "?months=3")):
        print(f"  one page, {label}:")
        queries_of(physician, query, explain and not query)
    return p95s


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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL,
                        help=f"default: DATABASE_URL, else {DEFAULT_URL}")
    parser.add_argument("--runs", type=int, default=30, help="timed requests a case")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database, then load")
    parser.add_argument("--index", action="store_true",
                        help="time again with the covering indexes of INDEXES, then drop them")
    args = parser.parse_args()
    if not is_postgres(args.database_url):
        raise SystemExit("--database-url: a PostgreSQL URL")
    ensure_database(args.database_url, args.fresh)
    start_django(args.database_url, Path(tempfile.mkdtemp(prefix="mesoclinic-bench-dashboard-")))
    from django.db import connection

    from mesoclinic.accounts.models import Organisation

    if Organisation.objects.filter(name=marker()).exists():
        print(f"reusing the data of {marker()!r} (--fresh loads it again)")
    else:
        print(f"loading {CLINICS * SESSIONS_PER_CLINIC:,} sessions (once; later runs reuse them):")
        load()
    clinic = describe()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), current_setting('shared_buffers'), current_setting('work_mem'), "
                       "pg_size_pretty(pg_total_relation_size('charting_treatmentsession')), "
                       "pg_size_pretty(pg_total_relation_size('charting_sessioncomponent'))")
        version, buffers, work_mem, sessions_size, components_size = cursor.fetchone()
        for name in INDEXES:  # a run stopped half-way left them
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute("SELECT current_setting('jit')")
        (jit,) = cursor.fetchone()
    print(f"{version.split(' on ')[0]}; shared_buffers {buffers}, work_mem {work_mem}, jit {jit}; sessions "
          f"{sessions_size}, components {components_size} (tables with indexes); load "
          f"{os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    print("\nthe schema as migrated:")
    p95s = time_page(clinic, args.runs, explain=True)
    if args.index:
        with connection.cursor() as cursor:
            for name, definition in INDEXES.items():
                cursor.execute(f"CREATE INDEX {name} ON {definition}")
            for table in ("charting_treatmentsession", "charting_sessioncomponent", "scheduling_appointment"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        try:
            print("\nwith the covering indexes:\n  " + "\n  ".join(f"{n} ON {d}" for n, d in INDEXES.items()))
            time_page(clinic, args.runs, explain=True)
        finally:
            with connection.cursor() as cursor:
                for name in INDEXES:
                    cursor.execute(f"DROP INDEX IF EXISTS {name}")
    print(f"\np95 of the default page (physician, last 12 months): "
          f"{p95s['physician, last 12 months']:.0f} ms; last 3 months: "
          f"{p95s['physician, last 3 months']:.0f} ms; median of the cases "
          f"{statistics.median(p95s.values()):.0f} ms")
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
