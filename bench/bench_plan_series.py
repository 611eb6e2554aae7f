"""Planning one series in a busy clinic, in-process (issue: p95 < 100 ms).

Run: python bench/bench_plan_series.py [--runs 200] [--seed 1]

Builds, deterministically, a clinic of 20 practitioners, 10 rooms and 3 ultrasound devices with
12 months of existing bookings (about 8 per practitioner per working day, each in a room, one in
four with a device), then plans a 10-session series (4 every 14 days, then 6 every 28, with cream)
for patients with different weekly availability and preferred practitioners. Times `plan_series`
on the prepared request (as the product calls it), then the whole contract once and a few times
more (`plan_series_json`: parse + validate + plan + serialise) from the decoded JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

try:
    import mesoclinic  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mesoclinic.scheduling import planner
from mesoclinic.scheduling.series_contract import decode_json, plan_series_json

TZ = ZoneInfo("Europe/Berlin")
START = date(2027, 1, 4)  # a Monday; the bookings cover the year from here
PRACTITIONERS, ROOMS, DEVICES = 20, 10, 3


def clinic(rng: random.Random) -> dict[str, Any]:
    """The clinic's calendar as the contract's JSON: 8 bookings a working day per practitioner,
    each in the first room free then (when one is), a quarter of them with a free device."""
    # Part-time: 3 or 4 days a week, so that about 13 practitioners share the 10 rooms a day.
    hours_of = [sorted(rng.sample(range(5), 3 + i % 2)) for i in range(PRACTITIONERS)]
    hours = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(5)]
    people: list[list[list[str]]] = [[] for _ in range(PRACTITIONERS)]
    rooms: list[list[list[str]]] = [[] for _ in range(ROOMS)]
    devices: list[list[list[str]]] = [[] for _ in range(DEVICES)]
    for offset in range(365):
        day = START + timedelta(days=offset)
        bookings = []
        for i in range(PRACTITIONERS):
            if day.weekday() not in hours_of[i]:
                continue
            # 8 bookings of 30–60 minutes on the quarter hour between 08:00 and 18:00.
            last_end = 0
            for slot in sorted(rng.sample(range(8 * 4, 17 * 4), 8)):
                minute = max(slot * 15, last_end)
                length = rng.choice((30, 45, 60))
                if minute + length > 18 * 60:
                    break
                last_end = minute + length
                bookings.append((minute, minute + length, i))
        taken: list[list[tuple[int, int]]] = [[] for _ in range(ROOMS + DEVICES)]
        for a, b, i in sorted(bookings):
            start = datetime(day.year, day.month, day.day, a // 60, a % 60, tzinfo=TZ)
            pair = [start.isoformat(), (start + timedelta(minutes=b - a)).isoformat()]
            people[i].append(pair)
            free = [r for r in range(ROOMS + DEVICES) if all(b <= x or y <= a for x, y in taken[r])]
            room = next((r for r in free if r < ROOMS), None)
            if room is not None:
                taken[room].append((a, b))
                rooms[room].append(pair)
            device = next((r for r in free if r >= ROOMS), None)
            if device is not None and rng.random() < 0.25:
                taken[device].append((a, b))
                devices[device - ROOMS].append(pair)
    return {
        "practitioners": [{"id": f"dr-{i:02d}", "working_hours": [hours[d] for d in hours_of[i]],
                           "busy": people[i]} for i in range(PRACTITIONERS)],
        "rooms": [{"id": f"room-{r + 1}", "busy": b} for r, b in enumerate(rooms)],
        "devices": [{"id": f"us-{d + 1}", "kind": "ultrasound", "busy": b} for d, b in enumerate(devices)],
    }


def request_json(rng: random.Random, calendar: dict[str, Any], n: int) -> dict[str, Any]:
    weekdays = sorted(rng.sample(range(5), rng.randint(2, 4)))
    start_hour = rng.choice((8, 9, 10, 13, 14))
    availability = [{"weekday": d, "start": f"{start_hour:02d}:00", "end": f"{start_hour + 4:02d}:00"}
                    for d in weekdays]
    not_before = datetime(2027, 2, 1, 8, tzinfo=TZ) + timedelta(days=rng.randrange(60))
    return {
        "timezone": "Europe/Berlin", "not_before": not_before.isoformat(),
        "phases": [{"sessions": 4, "interval_days": 14, "tolerance_days": 2},
                   {"sessions": 6, "interval_days": 28, "tolerance_days": 4}],
        "session_minutes": 45, "prep_minutes": 30, "requires_device": "ultrasound" if n % 2 else None,
        "patient_availability": availability, "patient_busy": [],
        **calendar,
        "preferred_practitioner": f"dr-{rng.randrange(PRACTITIONERS):02d}" if n % 3 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    calendar = clinic(rng)
    busy = sum(len(p["busy"]) for p in calendar["practitioners"]) + sum(
        len(x["busy"]) for x in calendar["rooms"] + calendar["devices"])
    variants = [request_json(rng, calendar, n) for n in range(20)]
    texts = [json.dumps(v) for v in variants]
    from mesoclinic.scheduling.series_contract import parse_request

    requests = [parse_request(decode_json(t)) for t in texts]
    print(f"clinic: {PRACTITIONERS} practitioners, {ROOMS} rooms, {DEVICES} devices, {busy:,} busy "
          f"intervals over 12 months; input JSON {len(texts[0]) / 1e6:.1f} MB")

    times, cpu = [], []
    placed = unplaced = 0
    for i in range(args.runs):
        request = requests[i % len(requests)]
        started, cpu0 = time.perf_counter(), time.process_time()
        proposal = planner.plan_series(request)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu0)
        placed += len(proposal.sessions)
        unplaced += len(proposal.unplaced)
    report(f"plan_series, 10 sessions, {args.runs} runs, wall-clock", times)
    report(f"plan_series, 10 sessions, {args.runs} runs, CPU time", cpu)
    print(f"  sessions placed {placed}, unplaced {unplaced}")

    contract, contract_cpu = [], []
    for i in range(max(1, args.runs // 20)):
        data = decode_json(texts[i % len(texts)])  # decoding JSON is timed apart: see below
        started, cpu0 = time.perf_counter(), time.process_time()
        plan_series_json(data)
        contract.append(time.perf_counter() - started)
        contract_cpu.append(time.process_time() - cpu0)
    report("plan_series_json (parse + validate + plan + serialise), wall-clock", contract)
    report("plan_series_json (parse + validate + plan + serialise), CPU time", contract_cpu)
    started = time.perf_counter()
    decode_json(texts[0])
    elapsed = (time.perf_counter() - started) * 1e3
    print(f"decode_json of the {len(texts[0]) / 1e6:.1f} MB input: {elapsed:.0f} ms")


def report(label: str, times: list[float]) -> None:
    ms = sorted(t * 1e3 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{label}: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms")


if __name__ == "__main__":
    main()
