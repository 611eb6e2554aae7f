"""Quotes per second, in-process on one core (issue 8: >= 20,000 quotes/s).

Run: python bench/bench_quote.py [--n 200000]

Builds a varied set of price lists and plans once, then times `price()` on a validated list (as
the product prices a plan against the clinic's list), `price()` with validation each time, and
the whole contract path (`quote_json`: parse + validate + price + serialise) as the CLI and API
run it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

try:
    import mesoclinic  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mesoclinic.plans import pricing
from mesoclinic.plans.quote_contract import quote_json

AREAS = ("face", "body", "scalp")


def price_list(rng: random.Random, currency: str) -> pricing.PriceList:
    entries = []
    for area in AREAS:
        for size in pricing.SIZES:
            for grade in pricing.GRADES:
                medical = Decimal(rng.randint(5000, 30000)) / 100
                entries.append(pricing.PriceEntry(area, size, grade, "medical", medical))
                entries.append(pricing.PriceEntry(area, size, grade, "cosmetic",
                                                  medical + Decimal(rng.randint(0, 5000)) / 100))
    return pricing.PriceList(currency, Decimal("0.19"), Decimal(rng.choice(["1.00", "1.10", "0.95"])),
                             tuple(entries), (pricing.PackageDiscount(6, Decimal("10")),
                                              pricing.PackageDiscount(10, Decimal("15"))),
                             Decimal("40.00"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    lists = [price_list(rng, c) for c in ("EUR", "TRY", "GBP", "USD", "CHF")]
    for pl in lists:
        pricing.validate_price_list(pl)
    works = [pricing.PlanWork(rng.choice(AREAS), rng.choice(pricing.SIZES), rng.choice(pricing.GRADES),
                              rng.choice(pricing.KINDS), rng.randint(1, 15), rng.randint(0, 3))
             for _ in range(1000)]
    day = date(2026, 12, 1)

    started = time.process_time()
    wall = time.perf_counter()
    for i in range(args.n):
        pricing.price(works[i % 1000], lists[i % 5], date=day, valid_days=30, validated=True)
    cpu, elapsed = time.process_time() - started, time.perf_counter() - wall
    print(f"price() on a validated list: {args.n / elapsed:,.0f} quotes/s wall-clock, "
          f"{args.n / cpu:,.0f} per CPU second")

    n = args.n // 10
    wall = time.perf_counter()
    for i in range(n):
        pricing.price(works[i % 1000], lists[i % 5], date=day, valid_days=30)
    print(f"price() validating the list (54 prices) each time: "
          f"{n / (time.perf_counter() - wall):,.0f} quotes/s")

    requests = [{**pricing.describe(lists[i % 5]), "date": "2026-12-01", "valid_days": 30,
                 "plan": {"area": w.area, "size": w.size, "grade": w.grade, "kind": w.kind,
                          "sessions": w.sessions, "extra_checkups": w.extra_checkups}}
                for i, w in enumerate(works)]
    wall, cpu0 = time.perf_counter(), time.process_time()
    for i in range(n):
        quote_json(requests[i % 1000])
    print(f"quote_json (parse + validate + price + serialise), 54-price lists: "
          f"{n / (time.perf_counter() - wall):,.0f} quotes/s wall-clock, "
          f"{n / (time.process_time() - cpu0):,.0f} per CPU second")

    # The example: one price, one tier, as a caller pricing one plan sends it.
    example = {"date": "2026-12-01", "valid_days": 30, "currency": "EUR", "tax_rate": "0.19",
               "location_factor": "1.10",
               "price_list": [{"area": "face", "size": "standard", "grade": "physician",
                               "kind": "cosmetic", "price_per_session": "120.00"}],
               "package_discounts": [{"min_sessions": 6, "percent": "10"}],
               "checkup_price": "40.00",
               "plan": {"area": "face", "size": "standard", "grade": "physician",
                        "kind": "cosmetic", "sessions": 8, "extra_checkups": 1}}
    assert quote_json(example)["total"] == "1178.58"
    wall, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(args.n // 4):
        quote_json(example)
    print(f"quote_json, the issue's example: {args.n // 4 / (time.perf_counter() - wall):,.0f} "
          f"quotes/s wall-clock, {args.n // 4 / (time.process_time() - cpu0):,.0f} per CPU second")


if __name__ == "__main__":
    main()
