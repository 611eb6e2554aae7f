"""Infection signals over a year of a busy chain, in-process on one core (target: parse + detect
well under 2 s).

Run: python bench/bench_safety_signals.py [--sessions 500000] [--events 2000] [--counting 0.67]
                                          [--runs 5] [--seed 7]

Builds the contract's JSON-shaped dict as the product would: 50 clinics in one time zone
(Europe/Istanbul) with 3 to 8 rooms each, --sessions sessions over 2027 on 15-minute slots from
09:00 to 19:45 local time, written a third with their local offset, a third in UTC and a third in
UTC with microseconds (as Python's isoformat writes them), about five sessions a patient, 1 to 3
lots a session from the lots in use that month (five product lines, seven lots of each a month:
420 lots in the year), one session in twenty with no known room. --events events on random
sessions (a share --counting of them suspected infections and infections, the rest `other`;
onsets 0 to 120 days after the session; one in ten naming two sessions of its patient), and
planted clusters: a contaminated lot with six infections of six patients, and a room-day with
three patients' infections. Background events alone also form lot clusters (a lot serves ~2,400
sessions): with the default two thirds counting, nearly every lot is one, the heaviest output (a
million exposed patients listed); --counting 0.1 is a quieter year. The run checks the planted
clusters are found.

Then, best and median of --runs runs: `decode_json` of the file's text, `parse`, `detect`, parse +
detect (the figure that matters: what the product and the API run on the dict they build), and
the whole command path (`decode_json` + `signals_json`, i.e. decode + parse + detect + `to_json`).
Wall-clock and CPU seconds are both printed: CPU time is what one core spent, whatever else ran.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

try:
    import mesoclinic  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mesoclinic.safety.signals import detect
from mesoclinic.safety.signals_contract import decode_json, parse, signals_json

TARGET_S = 2.0
ZONE = "Europe/Istanbul"
CLINICS = 50
SESSIONS_PER_PATIENT = 5
PRODUCTS = ("HA", "LID", "VITC", "DMAE", "PDRN")
LOTS_PER_MONTH = 7  # of each product line
BAD_LOT = "HA-BAD-0417"
BAD_ROOM = "clinic-12/room-2"
BAD_DAY = date(2027, 5, 18)
YEAR = date(2027, 1, 1)


def chain_year(sessions: int, events: int, seed: int, counting: float = 2 / 3) -> dict[str, Any]:
    """The contract's input for a year of a 50-clinic chain, with planted clusters."""
    rng = random.Random(seed)
    zone = ZoneInfo(ZONE)
    rooms = {clinic: [f"clinic-{clinic:02d}/room-{r}" for r in range(1, rng.randint(3, 8) + 1)]
             for clinic in range(CLINICS)}
    patients = max(2, sessions // SESSIONS_PER_PATIENT)
    patient_clinic = [rng.randrange(CLINICS) for _ in range(patients)]
    exposures: list[dict[str, Any]] = []
    by_patient: dict[str, list[int]] = {}
    for n in range(sessions):
        number = rng.randrange(patients)
        patient = f"p{number:06d}"
        clinic = patient_clinic[number]
        day = YEAR + timedelta(days=rng.randrange(365))
        local = datetime(day.year, day.month, day.day, 9, tzinfo=zone) + timedelta(
            minutes=15 * rng.randrange(44))
        if n % 3 == 0:  # as a form writes it
            at = local.isoformat()
        elif n % 3 == 1:  # as the product writes its UTC timestamps, some with microseconds
            at = local.astimezone(UTC).isoformat()
        else:
            at = (local.astimezone(UTC) + timedelta(microseconds=rng.randrange(1, 10**6))).isoformat()
        month = day.month
        lots = [f"{product}-{month:02d}{rng.randrange(LOTS_PER_MONTH)}"
                for product in rng.sample(PRODUCTS, rng.randint(1, 3))]
        room = rng.choice(rooms[clinic]) if rng.randrange(20) else None
        exposure: dict[str, Any] = {"session": f"s{n:07d}", "patient": patient, "at": at, "lots": lots}
        if room is not None or n % 3:  # an unknown room: absent, or null
            exposure["room"] = room
        exposures.append(exposure)
        by_patient.setdefault(patient, []).append(n)

    found: list[dict[str, Any]] = []
    for n in range(max(0, events - 9)):
        session = exposures[rng.randrange(sessions)]
        named = [session["session"]]
        if rng.randrange(10) == 0:  # a second session of the same patient
            named.append(exposures[rng.choice(by_patient[session["patient"]])]["session"])
        day = datetime.fromisoformat(session["at"]).astimezone(zone).date()
        kind = rng.choice(("suspected_infection", "infection")) if rng.random() < counting else "other"
        found.append({"id": f"AE-{n:05d}", "patient": session["patient"], "kind": kind,
                      "onset": (day + timedelta(days=rng.randrange(121))).isoformat(), "sessions": named})
    plant(exposures, found, rng)
    return {"timezone": ZONE, "window_days": 84, "exposures": exposures, "events": found}


def plant(exposures: list[dict[str, Any]], events: list[dict[str, Any]], rng: random.Random) -> None:
    """A contaminated lot in 300 sessions (6 infections) and a bad room-day (3 infections)."""
    bad = rng.sample(range(len(exposures)), min(300, len(exposures)))
    for n in bad:
        exposures[n]["lots"] = [*exposures[n]["lots"], BAD_LOT]
    zone = ZoneInfo(ZONE)
    for k, n in enumerate(bad[:6]):
        day = datetime.fromisoformat(exposures[n]["at"]).astimezone(zone).date()
        events.append({"id": f"AE-LOT-{k}", "patient": exposures[n]["patient"], "kind": "infection",
                       "onset": (day + timedelta(days=20 + k)).isoformat(),
                       "sessions": [exposures[n]["session"]]})
    for k in range(3):
        n = len(exposures) - 1 - k  # three sessions moved into the bad room on the bad day
        local = datetime(BAD_DAY.year, BAD_DAY.month, BAD_DAY.day, 10 + k, tzinfo=zone)
        exposures[n]["at"], exposures[n]["room"] = local.isoformat(), BAD_ROOM
        events.append({"id": f"AE-ROOM-{k}", "patient": exposures[n]["patient"],
                       "kind": "suspected_infection", "onset": (BAD_DAY + timedelta(days=9)).isoformat(),
                       "sessions": [exposures[n]["session"]]})


def timed(label: str, runs: int, call: Callable[[], object]) -> float:
    """Best and median of `runs` calls, wall-clock and CPU; returns the best CPU seconds."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"{label}: best {min(walls):.3f} s, median {statistics.median(walls):.3f} s wall-clock; "
          f"best {min(cpus):.3f} s, median {statistics.median(cpus):.3f} s CPU")
    return min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=500_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--counting", type=float, default=2 / 3,
                        help="share of events that are (suspected) infections")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    data = chain_year(args.sessions, args.events, args.seed, args.counting)
    text = json.dumps(data)
    print(f"{len(data['exposures']):,} exposures, {len(data['events']):,} events, "
          f"{len({lot for e in data['exposures'] for lot in e['lots']}):,} lots; JSON "
          f"{len(text) / 1e6:.1f} MB (built in {time.perf_counter() - started:.1f} s)")

    output = signals_json(decode_json(text))
    assert output == signals_json(data)  # the file and the product's dict answer alike
    clusters = {(c["kind"], c["key"]): c for c in output["clusters"]}
    lot = clusters[("lot", BAD_LOT)]
    assert [e for e in lot["events"] if e.startswith("AE-LOT-")] == [f"AE-LOT-{k}" for k in range(6)]
    users = {e["patient"] for e in data["exposures"] if BAD_LOT in e["lots"]}
    assert lot["exposed_patients"] == sorted(users)
    room = clusters[("room_day", f"{BAD_ROOM}/{BAD_DAY.isoformat()}")]
    assert [e for e in room["events"] if e.startswith("AE-ROOM-")] == [f"AE-ROOM-{k}" for k in range(3)]
    kinds = [c["kind"] for c in output["clusters"]]
    print(f"clusters: {kinds.count('lot')} lot, {kinds.count('room_day')} room-day (planted ones found); "
          f"output {len(json.dumps(output)) / 1e3:,.0f} kB")

    inp = parse(data)
    timed("decode_json (text -> dict)", args.runs, lambda: decode_json(text))
    timed("parse", args.runs, lambda: parse(data))
    timed("detect", args.runs, lambda: detect(inp))
    best = timed("parse + detect", args.runs, lambda: detect(parse(data)))
    timed("decode + parse + detect + to_json (the command's path)", args.runs,
          lambda: signals_json(decode_json(text)))
    print(f"parse + detect, best {best:.3f} s CPU: {best / TARGET_S:.0%} of the {TARGET_S:.0f} s budget "
          f"(the target is well under it)")


if __name__ == "__main__":
    main()
