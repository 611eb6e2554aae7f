"""Chart save over HTTP under gunicorn: the chart form's POST and the API's PUT (issue 10).

Run: python bench/bench_chart_save.py [--database-url URL] [--saves 300] [--points 40]

Without --database-url (or DATABASE_URL) a fresh SQLite file under /tmp is used and removed at
the end. A PostgreSQL database named in the URL is created if missing and migrated; the run adds
its own organisation, clinic, staff and patient (names stamped with the run), touches nothing
else, and leaves them there. The patient is made ready for a session the real way
(charting.tests.helpers.ready: workup, plan approved, consent signed, plan active, allergy test,
screening for today, a lot in stock) and a session is started through the pre-session check.

gunicorn serves mesoclinic.wsgi (--workers sync workers, DEBUG off) on a free port; the client
carries the physician's session cookie and CSRF token as a browser does (the session is made with
Django's test client, as after the two-step sign-in), over plain http.client. Then, one client at
a time, each call replacing the chart's --points injection points (two sets on the face maps,
alternating, so every save writes other coordinates) and its notes:

  * form:   POST /patients/<id>/sessions/<sid>/ with version, points (JSON), notes: the action
            (row lock, version check, points validated on the map, replaced, audit event) and the
            302 back to the chart; the version the next save sends is read off the page the
            redirect leads to (its GET timed apart: form + reload is what the tablet waits for);
  * api:    PUT /api/v1/sessions/<sid>/chart with {"version", "points", "notes"}: the same action
            and the session as JSON, whose `version` the next call sends.

A stale version (another writer) would answer 422/409 and stop the run. Everything (client,
gunicorn, the database) shares this machine's cores: run it on a quiet machine, more than once.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import _admin_url, is_postgres, percentiles_ms, start_django
from bench_http_api import gunicorn

WARM_UP = 20
VERSION_FIELD = re.compile(r'<input type="hidden" name="version" value="(\d+)">')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """One HTTP/1.1 connection with a cookie jar: what a tablet's browser sends, no more."""

    def __init__(self, port: int, cookies: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies = dict(cookies)

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        sent = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=sent)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # gunicorn's sync workers close the connection after each answer: reopen once.
                self.connection.close()
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.headers, data

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class Scene:
    patient_id: str
    session_id: str
    session_pk: int
    cookies: dict[str, str]
    point_sets: tuple[list[dict[str, Any]], list[dict[str, Any]]]

    @property
    def page(self) -> str:
        return f"/patients/{self.patient_id}/sessions/{self.session_id}/"

    @property
    def api(self) -> str:
        return f"/api/v1/sessions/{self.session_id}/chart"


def chart_points(areas: list[str], count: int, depth: Decimal, shift: float) -> list[dict[str, Any]]:
    """`count` points spread over the regions of the session's maps, each checked on the map."""
    from mesoclinic.charting import maps

    offsets = [(dx * 1.5, dy * 1.5) for dy in range(-3, 4) for dx in range(-3, 4)]
    offsets.sort(key=lambda o: abs(o[0]) + abs(o[1]))
    candidates: list[tuple[str, float, float]] = []
    for offset in offsets:  # ring by ring: the anchors first, then around them
        for map_id in maps.maps_for_areas(areas):
            for region in maps.MAPS[map_id].regions:
                x = round(region.anchor[0] + offset[0] + shift, 1)
                y = round(region.anchor[1] + offset[1], 1)
                if maps.locate(map_id, x, y) is not None:
                    candidates.append((map_id, x, y))
    if len(candidates) < count:
        raise SystemExit(f"--points: the maps of {areas} give only {len(candidates)} places")
    return [{"map": m, "x": x, "y": y, "depth_mm": str(depth), "volume_ml": "0.050",
             "depth_reason": ""} for m, x, y in candidates[:count]]


def prepare(points: int, stamp: str) -> Scene:
    """A clinic, its staff and a patient ready for a session; the session started."""
    from django.conf import settings
    from django.test import Client

    from mesoclinic.accounts.models import Clinic, Membership, Organisation, User
    from mesoclinic.accounts.permissions import Role
    from mesoclinic.accounts.session import SESSION_CLINIC, SESSION_EPOCH
    from mesoclinic.charting.tests.helpers import ready, started
    from mesoclinic.patients.models import MedicalHistory, Patient

    org = Organisation.objects.create(name=f"Chart bench {stamp}")
    clinic = Clinic.objects.create(organisation=org, name=f"Chart bench clinic {stamp}",
                                   timezone="Europe/Istanbul", currency="TRY")

    def member(name: str, role: str) -> User:
        user = User.objects.create_user(username=f"{name}.{stamp}",
                                        display_name=name.replace(".", " ").title())
        Membership.objects.create(user=user, clinic=clinic, role=role)
        return user

    physician = member("dr.bench", Role.PHYSICIAN)
    cast = SimpleNamespace(clinic=clinic, physician=physician, nurse=member("nurse.bench", Role.NURSE),
                           manager=member("manager.bench", Role.MANAGER))
    cast.patient = Patient.objects.create(clinic=clinic, given_name="Ayşe", family_name="Bench",
                                          birth_date=date(1988, 5, 4), sex="female",
                                          phone="+90 532 111 22 33", email="ayse@example.org")
    MedicalHistory.objects.create(  # every answer "no", as a complete history of a healthy adult
        patient=cast.patient, version=1, recorded_by=physician, pregnant="no", breastfeeding="no",
        diabetes="none", insulin="no", cancer="none", multi_drug_therapy="no", heart_disease="no",
        stroke_history="no", liver_disorder="no", kidney_disorder="no")
    started_at = time.perf_counter()
    session = started(cast, ready(cast))
    print(f"patient made ready and session started (pre-session check passed) in "
          f"{time.perf_counter() - started_at:.1f} s; areas {session.areas}, depth "
          f"{session.depth_min_mm}-{session.depth_max_mm} mm")
    depth = (session.depth_min_mm + session.depth_max_mm) / 2
    depth = depth.quantize(Decimal("0.1"))
    sets = (chart_points(session.areas, points, depth, 0.0),
            chart_points(session.areas, points, depth, 0.3))
    client = Client()
    client.force_login(physician)
    browser_session = client.session
    browser_session[SESSION_EPOCH] = physician.session_epoch
    browser_session[SESSION_CLINIC] = clinic.pk
    browser_session.save()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return Scene(patient_id=str(cast.patient.public_id), session_id=str(session.public_id),
                 session_pk=session.pk, cookies={settings.SESSION_COOKIE_NAME: cookie},
                 point_sets=sets)


def read_chart(browser: Browser, scene: Scene) -> tuple[int, str]:
    """GET the chart page: its version and the form's CSRF token."""
    status, _headers, data = browser.call("GET", scene.page)
    if status != 200:
        raise SystemExit(f"GET {scene.page} answered {status}: {data[:300]!r}")
    text = data.decode()
    version, token = VERSION_FIELD.search(text), CSRF_FIELD.search(text)
    if version is None or token is None:
        raise SystemExit(f"GET {scene.page}: no chart form (version / CSRF token) on the page")
    return int(version.group(1)), token.group(1)


def form_saves(browser: Browser, scene: Scene, count: int) -> tuple[list[float], list[float]]:
    """`count` chart saves through the form: (POST → 302 times, POST + reload times)."""
    version, token = read_chart(browser, scene)
    posts: list[float] = []
    rounds: list[float] = []
    for n in range(count):
        body = urlencode({"csrfmiddlewaretoken": token, "version": version,
                          "points": json.dumps(scene.point_sets[n % 2]),
                          "notes": f"Tolerated well; save {n}."}).encode()
        t0 = time.perf_counter()
        status, headers, data = browser.call(
            "POST", scene.page, body, {"Content-Type": "application/x-www-form-urlencoded"})
        t1 = time.perf_counter()
        if status != 302 or headers.get("Location") != scene.page:
            raise SystemExit(f"save {n}: POST {scene.page} answered {status}: {data[:400]!r}")
        saved, token = read_chart(browser, scene)
        t2 = time.perf_counter()
        if saved != version + 1:
            raise SystemExit(f"save {n}: the chart reads version {saved}, expected {version + 1}")
        version = saved
        posts.append(t1 - t0)
        rounds.append(t2 - t0)
    return posts, rounds


def api_saves(browser: Browser, scene: Scene, count: int) -> list[float]:
    version, _token = read_chart(browser, scene)  # also sets the csrftoken cookie
    headers = {"Content-Type": "application/json", "X-CSRFToken": browser.cookies["csrftoken"]}
    times: list[float] = []
    for n in range(count):
        body = json.dumps({"version": version, "points": scene.point_sets[n % 2],
                           "notes": f"Tolerated well; API save {n}."}).encode()
        t0 = time.perf_counter()
        status, _headers, data = browser.call("PUT", scene.api, body, headers)
        times.append(time.perf_counter() - t0)
        if status != 200:
            raise SystemExit(f"API save {n}: PUT {scene.api} answered {status}: {data[:400]!r}")
        answer = json.loads(data)
        if answer["version"] != version + 1 or len(answer["points"]) != len(scene.point_sets[0]):
            raise SystemExit(f"API save {n}: version {answer['version']}, "
                             f"{len(answer['points'])} points in the answer")
        version = answer["version"]
    return times


def queries_per_save(scene: Scene, show: bool) -> None:
    """The SQL of one form save and one API save, in-process (same views, Django's test client)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from mesoclinic.charting.models import TreatmentSession

    client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=False)
    client.cookies.load(scene.cookies)
    for label in ("form", "api"):
        version = TreatmentSession.objects.get(pk=scene.session_pk).version
        with CaptureQueriesContext(connection) as captured:
            if label == "form":
                status = client.post(scene.page, {"version": version, "notes": "counted",
                                                  "points": json.dumps(scene.point_sets[0])}
                                     ).status_code
            else:
                status = client.put(scene.api, json.dumps(
                    {"version": version, "points": scene.point_sets[1], "notes": "counted"}),
                    content_type="application/json").status_code
        print(f"{label}: one save ({status}) sends {len(captured.captured_queries)} SQL statements")
        if show:
            for i, query in enumerate(captured.captured_queries, 1):
                print(f"  {i:3d} {query['sql'][:170]}")


def report(label: str, samples: list[float]) -> tuple[float, float]:
    p50, p95, p99, worst = percentiles_ms(samples)
    print(f"{label:40s} {len(samples):6d} {p50:9.2f} {p95:9.2f} {p99:9.2f} {worst:9.2f}")
    return p50, p95


@dataclass
class Database:
    url: str
    workdir: Path
    postgres: bool


@contextmanager
def database(url: str | None) -> Iterator[Database]:
    workdir = Path(tempfile.mkdtemp(prefix="mesoclinic-bench-chart-"))
    try:
        if url and is_postgres(url):
            ensure_postgres(url)
            yield Database(url, workdir, True)
        else:
            yield Database(url or f"sqlite:///{workdir / 'bench.sqlite3'}", workdir, False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def ensure_postgres(url: str) -> None:
    """Create the database of `url` if it is missing (never drops anything)."""
    import psycopg

    admin, name = _admin_url(url.replace("postgresql+psycopg", "postgresql"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="default: DATABASE_URL, else a fresh SQLite file under /tmp")
    parser.add_argument("--saves", type=int, default=300, help="timed saves of each kind (>= 200)")
    parser.add_argument("--points", type=int, default=40, help="injection points in each save")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sql", action="store_true", help="print the SQL of one save of each kind")
    args = parser.parse_args()
    if args.saves < 2:
        raise SystemExit("--saves: at least 2")

    with database(args.database_url) as db:
        start_django(db.url, db.workdir)
        from django.db import connection

        scene = prepare(args.points, time.strftime("%Y%m%d%H%M%S") + f"{os.getpid()}")
        connection.close()
        print(f"load: {os.getloadavg()[0]:.2f} (1-min average), {os.cpu_count()} cores; gunicorn "
              f"{args.workers} sync workers, 1 client; {args.points} points a save")
        with gunicorn(db.url, db.workdir, workers=args.workers, worker_class="sync") as (port, _pid):
            browser = Browser(port, scene.cookies)
            form_saves(browser, scene, WARM_UP)
            posts, rounds = form_saves(browser, scene, args.saves)
            api_saves(browser, scene, WARM_UP)
            puts = api_saves(browser, scene, args.saves)
            browser.close()
        print(f"\n{'':40s} {'saves':>6s} {'p50 ms':>9s} {'p95 ms':>9s} {'p99 ms':>9s} {'max ms':>9s}")
        report("form: POST chart -> 302", posts)
        report("form: POST + GET of the chart it shows", rounds)
        report("api:  PUT /api/v1/sessions/{id}/chart", puts)
        from mesoclinic.charting.models import TreatmentSession

        session = TreatmentSession.objects.get(pk=scene.session_pk)
        expected = 1 + 2 * (WARM_UP + args.saves)
        if session.version != expected or session.points.count() != args.points:
            raise SystemExit(f"the session reads version {session.version} with "
                             f"{session.points.count()} points; expected {expected} and {args.points}")
        print(f"session at version {session.version} with {args.points} points, as saved "
              f"({connection.vendor})")
        queries_per_save(scene, args.sql)
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
