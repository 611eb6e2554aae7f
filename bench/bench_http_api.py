"""The REST API over HTTP under gunicorn, against the raw-SQL floor (issue 6, item 8: speed).

Run: python bench/bench_http_api.py [--database-url URL] [--patients 20000] [--requests 300]

The PostgreSQL database of --database-url (default postgresql://postgres@127.0.0.1:5432/
mesoclinic_bench_http) is dropped, created, migrated, seeded with `mesoclinic seed` (which analyses
the tables), and dropped again at the end (--keep leaves it). A clinic manager issues a write
token with `mesoclinic issue-token`; gunicorn serves `mesoclinic.wsgi` with --workers (2) sync
workers on a free port of 127.0.0.1, DEBUG off. Then, for each operation

  * register: POST /api/v1/patients (a varied synthetic patient each time),
  * search:   GET /api/v1/patients?q=<a name word> (surnames and given names, as typed),
  * read:     GET /api/v1/patients/{id} (random seeded patients),

one client measures latency (p50/p95 of --requests calls) and --clients (4) concurrent clients
calling for --seconds (8), each with its own keep-alive connection (gunicorn's sync workers
close it after each response; http.client reopens it), measure throughput. The floor is the
same work through psycopg directly, on as many connections: one INSERT into patients_patient
with the ORM's columns plus one audit-like INSERT into audit_auditevent in one transaction
(register), and the very SELECT the ORM sends for the search and the read; the reads are also
shown with their audit-like INSERT, since every API read writes one. Everything shares this
machine's cores (clients, gunicorn, PostgreSQL), so run it on a quiet machine, more than once.

--profile N then runs N in-process requests of each operation (Django's test client: the same
WSGI application, no gunicorn) under cProfile, counting CPU time, and prints where it goes.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import itertools
import json
import os
import pstats
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import is_postgres, percentiles_ms, recreate_postgres, start_django

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/mesoclinic_bench_http"
WARM_UP = 30
# Issue 6: within 3x the floor's latency at one client; 10x GNU Health 5.0's throughput at four
# clients, measured on this kind of machine (about 23 registrations/s and 72 reads/s).
TARGET_LATENCY_RATIO = 3.0
TARGET_THROUGHPUT = {"register": 230.0, "read": 720.0}
API = "/api/v1"


# --- the HTTP side ------------------------------------------------------------------------------

class ApiClient:
    """One client: one HTTP/1.1 connection, kept open wherever the server keeps it."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive connection closed by the server: reopen it, once.
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class Workload:
    """What the clients send: bodies to register, words to search, ids to read."""

    bodies: list[bytes]
    words: list[str]
    ids: list[str]

    def request(self, op: str, n: int) -> tuple[str, str, bytes | None, int]:
        """The n-th request of `op`: method, path, body, the status it must answer."""
        if op == "register":
            return "POST", f"{API}/patients", self.bodies[n % len(self.bodies)], 201
        if op == "search":
            return "GET", f"{API}/patients?q={quote(self.words[n % len(self.words)])}", None, 200
        return "GET", f"{API}/patients/{self.ids[n % len(self.ids)]}", None, 200


@dataclass
class Run:
    latencies: list[float]
    seconds: float
    # CPU seconds the run cost the server (gunicorn's workers, or the floor's own process) and
    # PostgreSQL's backends: unlike wall time, hardly changed by other load on the machine.
    cpu: tuple[float, float] = (0.0, 0.0)

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def cpu_ms(self) -> tuple[float, float]:
        """Server and PostgreSQL CPU milliseconds per request."""
        return (self.cpu[0] / len(self.latencies) * 1000, self.cpu[1] / len(self.latencies) * 1000)


_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def children_of(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


class CpuMeter:
    """CPU of a server's processes and of the benchmark database's PostgreSQL backends (the
    server runs on this machine, as PostgreSQL at 127.0.0.1 does)."""

    def __init__(self, dsn: str, server: Callable[[], dict[int, float]]) -> None:
        import psycopg

        self.connection = psycopg.connect(dsn, autocommit=True)
        self.server = server

    def backends(self) -> dict[int, float]:
        rows = self.connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()").fetchall()
        return {pid: process_cpu(pid) for (pid,) in rows}

    def sample(self) -> tuple[dict[int, float], dict[int, float]]:
        return self.server(), self.backends()

    def since(self, before: tuple[dict[int, float], dict[int, float]]) -> tuple[float, float]:
        after = self.sample()
        server, db = (sum(now - then.get(pid, 0.0) for pid, now in group.items())
                      for group, then in zip(after, before, strict=True))
        return server, db

    def close(self) -> None:
        self.connection.close()


def measured(meter: CpuMeter, run: Callable[[], Run]) -> Run:
    before = meter.sample()
    result = run()
    result.cpu = meter.since(before)
    return result


def run_clients(clients: int, per_client: int, call: Callable[[int, int], None],
                seconds: float | None = None) -> Run:
    """`clients` threads each make `per_client` calls `call(client, n)` at once (or as many as
    fit in `seconds`); every call timed."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        start.wait()
        deadline = time.perf_counter() + seconds if seconds else None
        try:
            for n in range(per_client):
                t0 = time.perf_counter()
                if deadline is not None and t0 > deadline:
                    break
                call(index, index * per_client + n)
                latencies[index].append(time.perf_counter() - t0)
        except BaseException as exc:  # reported below, not lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"a client failed: {errors[0]!r}")
    return Run([s for per in latencies for s in per], seconds)


def http_runs(port: int, token: str, work: Workload, op: str, *, clients: int, requests: int,
              seconds: float, offset: int, meter: CpuMeter) -> tuple[Run, Run]:
    """One client's latencies, then `clients` clients' throughput, for one operation."""
    conns = [ApiClient(port, token) for _ in range(clients)]
    # Every request of the operation takes the next item (warm-up, one client, many clients):
    # a registration never sends the same person twice. next() on a count is atomic in CPython.
    items = itertools.count(offset)

    def call(index: int, n: int) -> None:
        method, path, body, expected = work.request(op, next(items))
        status, data = conns[index].call(method, path, body)
        if status != expected:
            raise SystemExit(f"{method} {path} answered {status}: {data[:300]!r}")

    run_clients(1, WARM_UP, call)
    single = measured(meter, lambda: run_clients(1, requests, call))
    concurrent = measured(meter, lambda: run_clients(clients, 10**6, call, seconds))
    for conn in conns:
        conn.close()
    return single, concurrent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def gunicorn(url: str, workdir: Path, *, workers: int,
             worker_class: str) -> Iterator[tuple[int, int]]:
    """gunicorn serving this checkout's mesoclinic.wsgi; yields its port and pid once it answers."""
    import mesoclinic

    port = free_port()
    env = os.environ | {
        "DATABASE_URL": url,
        "MESOCLINIC_PROFILE": "development",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "MESOCLINIC_DATA_DIR": str(workdir),
        "DJANGO_SETTINGS_MODULE": "mesoclinic.settings",
        # Persistent connections for the whole run, so that each backend's CPU is counted.
        "DB_CONN_MAX_AGE": "600",
        # The code the driver imported, not whichever checkout the virtualenv was installed from.
        "PYTHONPATH": os.pathsep.join(
            [str(Path(mesoclinic.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    log = (workdir / "gunicorn.log").open("w")
    server = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "gunicorn", "mesoclinic.wsgi:application",
         "--workers", str(workers), "--worker-class", worker_class,
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited: {(workdir / 'gunicorn.log').read_text()[-2000:]}")
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", f"{API}/openapi.json", headers={"Host": "127.0.0.1"})
                if probe.getresponse().status == 200:
                    probe.close()
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not answer within 60 s") from None
                time.sleep(0.2)
        yield port, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


# --- the raw-SQL floor --------------------------------------------------------------------------

@dataclass(frozen=True)
class Floor:
    """The same statements through psycopg directly: no HTTP, no Django, no audit chain."""

    dsn: str
    patient_insert: str
    audit_insert: str
    patient_row: Callable[[int], tuple[Any, ...]]
    audit_row: Callable[[], tuple[Any, ...]]
    selects: dict[str, list[tuple[str, tuple[Any, ...]]]]  # op -> (sql, params) the ORM sends

    def operation(self, op: str) -> Callable[[Any, int], None]:
        """The floor of `op`, as a function of (psycopg connection, n)."""
        audited = op.endswith("+audit")
        base = op.removesuffix("+audit")

        def register(conn: Any, n: int) -> None:
            with conn.transaction():  # BEGIN, two INSERTs, COMMIT: as the action does
                conn.execute(self.patient_insert, self.patient_row(n))
                conn.execute(self.audit_insert, self.audit_row())

        def select(conn: Any, n: int) -> None:
            queries = self.selects[base]
            sql, params = queries[n % len(queries)]
            conn.execute(sql, params).fetchall()  # autocommit: one round trip
            if audited:
                conn.execute(self.audit_insert, self.audit_row())

        return register if op == "register" else select

    def runs(self, op: str, *, clients: int, requests: int, seconds: float,
             offset: int) -> tuple[Run, Run]:
        import psycopg

        conns = [psycopg.connect(self.dsn, autocommit=True) for _ in range(clients)]
        # The floor's "server" is this process: the psycopg calls, the row building.
        meter = CpuMeter(self.dsn, lambda: {os.getpid(): time.process_time()})
        do = self.operation(op)
        run_clients(1, WARM_UP, lambda i, n: do(conns[i], offset + n))
        single = measured(
            meter, lambda: run_clients(1, requests, lambda i, n: do(conns[i], offset + WARM_UP + n)))
        offset += WARM_UP + requests
        concurrent = measured(meter, lambda: run_clients(
            clients, 10**6, lambda i, n: do(conns[i], offset + n), seconds))
        for conn in conns:
            conn.close()
        meter.close()
        return single, concurrent


def build_floor(url: str, clinic_id: int, work: Workload, count: int) -> Floor:
    """The floor's statements, from the models' columns and the ORM's own SELECTs."""
    from django.db import connection

    from mesoclinic.audit.models import AuditEvent
    from mesoclinic.patients.models import Patient
    from mesoclinic.patients.seed import synthetic_patients

    def insert_sql(model: Any) -> tuple[str, list[str]]:
        columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        table = connection.ops.quote_name(model._meta.db_table)
        return f"INSERT INTO {table} ({quoted}) VALUES ({marks}) RETURNING id", columns  # noqa: S608

    patient_sql, patient_columns = insert_sql(Patient)
    audit_sql, audit_columns = insert_sql(AuditEvent)
    from django.utils import timezone

    rows = []
    now = datetime.now(UTC)
    for person in synthetic_patients(count, seed=4242, today=timezone.localdate()):
        patient = Patient(clinic_id=clinic_id, given_name=person.given_name,
                          family_name=person.family_name, birth_date=person.birth_date,
                          sex=person.sex, phone=person.phone, email=person.email,
                          address=person.address, preferred_language=person.preferred_language,
                          created_at=now, updated_at=now)
        patient.refresh_search_keys()
        rows.append(tuple(getattr(patient, f.attname) for f in Patient._meta.concrete_fields
                          if not f.primary_key))
    public_id = patient_columns.index("public_id")

    def patient_row(n: int) -> tuple[Any, ...]:
        row = list(rows[n % len(rows)])
        row[public_id] = uuid.uuid4()  # unique, as the model's default makes it
        return tuple(row)

    # seq is unique: the floor's events take numbers far above the real chain's.
    seqs = itertools.count(10**15)
    changes = json.dumps({"given_name": [None, "Ayşe"], "family_name": [None, "Şahin"],
                          "birth_date": [None, "1990-04-02"], "sex": [None, "female"]})

    def audit_row() -> tuple[Any, ...]:
        values = {"seq": next(seqs), "at": datetime.now(UTC), "user_id": str(uuid.uuid4()),
                  "username": "token:bench", "role": "api:write", "clinic_id": str(uuid.uuid4()),
                  "action": "create", "object_type": "patient", "object_id": str(uuid.uuid4()),
                  "patient_id": str(uuid.uuid4()), "outcome": "allowed",
                  "client_address": "127.0.0.1", "request_id": uuid.uuid4().hex, "via": "api",
                  "changes": changes, "detail": "", "break_glass": False,
                  "organisation_id": "", "key_id": "dev", "prev_hash": "0" * 64, "hash": "f" * 64}
        return tuple(values[c] for c in audit_columns)

    assert set(audit_columns) == {"seq", "at", "user_id", "username", "role", "clinic_id",
                                  "action", "object_type", "object_id", "patient_id", "outcome",
                                  "client_address", "request_id", "via", "changes", "detail",
                                  "break_glass", "organisation_id", "key_id", "prev_hash",
                                  "hash"}, audit_columns

    def compiled(qs: Any) -> tuple[str, tuple[Any, ...]]:
        sql, params = qs.query.get_compiler(using="default").as_sql()
        return sql, tuple(params)

    from mesoclinic.accounts.models import Clinic

    clinic = Clinic.objects.get(pk=clinic_id)
    patients = Patient.objects.for_clinic(clinic).select_related("clinic")
    selects = {
        "search": [compiled(patients.matching(word)[:50]) for word in dict.fromkeys(work.words)],
        "read": [compiled(Patient.objects.select_related("clinic").filter(public_id=pid)[:1])
                 for pid in work.ids],
    }
    dsn = url.replace("postgresql+psycopg", "postgresql")
    return Floor(dsn, patient_sql, audit_sql, patient_row, audit_row, selects)


# --- the profile --------------------------------------------------------------------------------

WATCHED = [  # (label, file ending, function): where a request's CPU goes
    ("token lookup (api.auth.TokenAuth)", "api/auth.py", "authenticate"),
    ("audit append (audit.log.record)", "audit/log.py", "record"),
    ("patients.access.patient_for (incl. its audit)", "patients/access.py", "patient_for"),
    ("patients.actions.register_patient", "patients/actions.py", "register_patient"),
    ("  Patient.save (INSERT, name words)", "patients/models.py", "save"),
    ("  Model.full_clean", "db/models/base.py", "full_clean"),
    ("ORM: compiling SQL (SQLCompiler.as_sql)", "sql/compiler.py", "as_sql"),
    ("SQL sent and answered (CursorWrapper._execute)", "backends/utils.py", "_execute"),
    ("ninja: response serialisation", "ninja/operation.py", "_result_to_response"),
    ("ninja: parameters and body parsed", "ninja/operation.py", "_get_values"),
]


def _cumulative(table: dict[tuple[str, int, str], Any], path_end: str, function: str) -> float:
    """CPU seconds spent in (and under) the functions `function` of files ending `path_end`."""
    return float(sum(entry[3] for (file, _, name), entry in table.items()
                     if file.endswith(path_end) and name == function))


def profile(token: str, work: Workload, requests: int) -> None:
    """cProfile, counting CPU time, over `requests` in-process calls of each operation."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", headers={"Authorization": f"Bearer {token}"})

    def call(op: str, n: int) -> None:
        method, path, body, expected = work.request(op, 10**6 + n)
        if method == "POST":
            response = client.post(path, body, content_type="application/json")
        else:
            response = client.get(path)
        assert response.status_code == expected, response.content[:300]

    for op in ("register", "search", "read"):
        for n in range(WARM_UP):
            call(op, n)
        cpu = time.process_time()
        for n in range(requests):
            call(op, WARM_UP + n)
        cpu_ms = (time.process_time() - cpu) / requests * 1000
        # CPU time, not wall time: what other load on the machine does to the clock stays out.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for n in range(requests):
            call(op, WARM_UP + requests + n)
        profiler.disable()
        table: dict[tuple[str, int, str], Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

        whole = _cumulative(table, "core/handlers/base.py", "get_response")
        print(f"\nprofile: {op}, {requests} in-process requests, {cpu_ms:.2f} ms CPU each "
              "without the profiler; shares of the request's CPU under cProfile:")
        for label, path_end, function in WATCHED:
            share = _cumulative(table, path_end, function) / whole
            if share:
                print(f"  {label:48s} {share * 100:5.1f}%  ~{share * cpu_ms:5.2f} ms")
        print("  top functions by own CPU:")
        own = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:8]
        for (file, line, name), entry in own:
            where = "/".join(Path(file).parts[-2:]) if file != "~" else "builtin"
            print(f"    {entry[2] / whole * 100:5.1f}%  {name} ({where}:{line})")


# --- the run ------------------------------------------------------------------------------------

def prepare(patients: int) -> tuple[int, str, Workload]:
    """Seed, issue the token, and pick what the clients send (Django set up, migrated)."""
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from mesoclinic.accounts.models import Clinic, Membership, User
    from mesoclinic.accounts.permissions import Role
    from mesoclinic.patients.models import Patient
    from mesoclinic.patients.seed import FAMILY, GIVEN_F, GIVEN_M, synthetic_patients

    out = StringIO()
    call_command("seed", "--patients", str(patients), "--clinics", "1", stdout=out)
    print(out.getvalue().strip())
    clinic = Clinic.objects.get(organisation__name="Synthetic Clinics")
    manager = User.objects.create_user(username="bench.manager", display_name="Bench Manager")
    Membership.objects.create(user=manager, clinic=clinic, role=Role.MANAGER)
    out = StringIO()
    call_command("issue_token", "bench", "--clinic", clinic.name, "--scope", "write",
                 "--by", manager.username, stdout=out)
    token = out.getvalue().strip()
    rng = random.Random(8)
    ids = [str(pid) for pid in Patient.objects.filter(clinic=clinic).values_list("public_id", flat=True)]
    rng.shuffle(ids)
    words = [rng.choice([*FAMILY, *GIVEN_F, *GIVEN_M]) for _ in range(500)]
    # New people, really: a birth date and a phone no seeded patient has, so that the duplicate
    # check (one SELECT) runs and finds nothing, as for most registrations.
    bodies = [
        json.dumps({"given_name": p.given_name, "family_name": p.family_name,
                    "birth_date": (date(1900, 1, 1) + timedelta(days=i)).isoformat(), "sex": p.sex,
                    "phone": f"+90 212 {i // 10000:03d} {i % 10000:04d}",
                    "email": p.email, "address": p.address,
                    "preferred_language": p.preferred_language}).encode()
        for i, p in enumerate(synthetic_patients(20000, seed=77, today=timezone.localdate()))
    ]
    return clinic.pk, token, Workload(bodies=bodies, words=words, ids=ids[:2000])


def report(rows: dict[str, tuple[Run, Run]], floors: dict[str, tuple[Run, Run]],
           clients: int) -> bool:
    """The table, and whether the issue's targets were met."""
    def cell(run: Run) -> tuple[float, float]:
        p50, p95, _, _ = percentiles_ms(run.latencies)
        return p50, p95

    print(f"\n{'':10s} {'1 client p50/p95 (ms)':>22s} {'floor p50/p95 (ms)':>20s} {'ratio':>6s}"
          f" {f'{clients} clients req/s':>17s} {'floor req/s':>12s} {'ratio':>6s}")
    for op, (single, concurrent) in rows.items():
        for floor_op in (op, f"{op}+audit"):
            if floor_op not in floors:
                continue
            f_single, f_concurrent = floors[floor_op]
            (p50, p95), (f50, f95) = cell(single), cell(f_single)
            label = op if floor_op == op else "  +audit"
            app = f"{p50:7.2f} / {p95:7.2f}" if floor_op == op else ""
            tput = f"{concurrent.per_second:8.0f}" if floor_op == op else ""
            print(f"{label:10s} {app:>22s} {f'{f50:6.2f} / {f95:6.2f}':>20s} {p50 / f50:5.1f}x"
                  f" {tput:>17s} {f_concurrent.per_second:12.0f}"
                  f" {f_concurrent.per_second / concurrent.per_second:5.1f}x")
    print("(floor: the same SQL through psycopg; '+audit' adds the audit-like INSERT every API "
          "read also writes; ratio: app latency / floor latency, floor req/s / app req/s)")
    cores = os.cpu_count() or 1
    print(f"\nCPU per request at {clients} clients (ms): server = gunicorn's workers (app) or "
          "the psycopg client (floor); db = PostgreSQL's backends")
    print(f"{'':10s} {'app server':>10s} {'app db':>7s} {'floor server':>12s} {'floor db':>8s}"
          f"   {f'req/s if {cores} cores served only this: app':>44s} {'floor':>6s}")
    for op, (_, concurrent) in rows.items():
        for floor_op in (op, f"{op}+audit"):
            if floor_op not in floors:
                continue
            app_server, app_db = concurrent.cpu_ms()
            f_server, f_db = floors[floor_op][1].cpu_ms()
            label = op if floor_op == op else "  +audit"
            app = (f"{app_server:10.2f} {app_db:7.2f}" if floor_op == op else " " * 18)
            capacity = (f"{cores * 1000 / (app_server + app_db):44.0f}" if floor_op == op
                        else " " * 44)
            print(f"{label:10s} {app} {f_server:12.2f} {f_db:8.2f}   {capacity}"
                  f" {cores * 1000 / (f_server + f_db):6.0f}")
    ok = True
    for op in ("register", "read"):
        single, concurrent = rows[op]
        floor_op = op if op == "register" else "read+audit"
        ratio = cell(single)[0] / cell(floors[floor_op][0])[0]
        target = TARGET_THROUGHPUT[op]
        met_latency = ratio <= TARGET_LATENCY_RATIO
        met_tput = concurrent.per_second >= target
        ok &= met_latency and met_tput
        print(f"target {op}: p50 within {TARGET_LATENCY_RATIO:.0f}x the floor ({floor_op}): "
              f"{ratio:.1f}x {'met' if met_latency else 'MISSED'}; >= {target:.0f} req/s at "
              f"{clients} clients: {concurrent.per_second:.0f} {'met' if met_tput else 'MISSED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default: {DEFAULT_URL}")
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300, help="timed calls at one client")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="how long the --clients clients call each operation at once")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", help="gunicorn's (sync, gthread)")
    parser.add_argument("--only", nargs="+", choices=["register", "search", "read"],
                        default=["read", "search", "register"])
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="then profile the CPU of N in-process requests of each operation")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if not is_postgres(args.database_url):
        raise SystemExit("--database-url: a PostgreSQL URL (this compares against PostgreSQL)")

    workdir = Path(tempfile.mkdtemp(prefix="mesoclinic-bench-http-"))
    recreate_postgres(args.database_url, create=True)
    try:
        start_django(args.database_url, workdir)
        from django.db import connection

        started = time.perf_counter()
        clinic_id, token, work = prepare(args.patients)
        print(f"token issued, workload built in {time.perf_counter() - started:.1f} s")
        floor = build_floor(args.database_url, clinic_id, work, 2000)
        connection.close()
        print(f"load: {os.getloadavg()[0]:.2f} (1-min average), {os.cpu_count()} cores; "
              f"gunicorn {args.workers} {args.worker_class} workers, {args.clients} clients")

        rows: dict[str, tuple[Run, Run]] = {}
        with gunicorn(args.database_url, workdir, workers=args.workers,
                      worker_class=args.worker_class) as (port, master):
            meter = CpuMeter(args.database_url.replace("postgresql+psycopg", "postgresql"),
                             lambda: {pid: process_cpu(pid) for pid in children_of(master)})
            for op in args.only:
                rows[op] = http_runs(port, token, work, op, clients=args.clients,
                                     requests=args.requests, seconds=args.seconds, offset=0,
                                     meter=meter)
                server_ms, db_ms = rows[op][1].cpu_ms()
                print(f"  {op}: {rows[op][1].per_second:.0f} req/s at {args.clients} clients; CPU "
                      f"per request {server_ms:.2f} ms gunicorn + {db_ms:.2f} ms PostgreSQL")
            meter.close()
        floors: dict[str, tuple[Run, Run]] = {}
        for op in args.only:
            for floor_op in ([op] if op == "register" else [op, f"{op}+audit"]):
                floors[floor_op] = floor.runs(floor_op, clients=args.clients,
                                              requests=args.requests, seconds=args.seconds,
                                              offset=0)
        print(f"load after: {os.getloadavg()[0]:.2f}")
        ok = report(rows, floors, args.clients) if {"register", "read"} <= set(rows) else True
        if args.profile:
            profile(token, work, args.profile)
        connection.close()
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            recreate_postgres(args.database_url, create=False)


if __name__ == "__main__":
    sys.exit(main())
