"""The pricing engine and the `quote` contract: the issue's example, rounding, bad input, properties."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.plans import pricing
from mesoclinic.plans.quote_cli import run
from mesoclinic.plans.quote_contract import InvalidQuote, quote_json

EXAMPLE: dict[str, Any] = {
    "date": "2026-12-01", "valid_days": 30, "currency": "EUR", "tax_rate": "0.19",
    "location_factor": "1.10",
    "price_list": [{"area": "face", "size": "standard", "grade": "physician", "kind": "cosmetic",
                    "price_per_session": "120.00"}],
    "package_discounts": [{"min_sessions": 6, "percent": "10"}],
    "checkup_price": "40.00",
    "plan": {"area": "face", "size": "standard", "grade": "physician", "kind": "cosmetic",
             "sessions": 8, "extra_checkups": 1},
}


def example(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target[p]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return data


def test_the_issue_example_by_hand():
    # 120.00 × 1.10 = 132.00 a session; 8 × 132.00 = 1056.00; 10 % off = −105.60; one check-up
    # 40.00; subtotal 990.40; tax 19 % = 188.176 → 188.18; total 1178.58.
    assert quote_json(EXAMPLE) == {
        "lines": [
            {"code": "sessions", "quantity": 8, "unit_price": "132.00", "amount": "1056.00"},
            {"code": "package_discount", "quantity": 1, "unit_price": "-105.60", "amount": "-105.60"},
            {"code": "checkups", "quantity": 1, "unit_price": "40.00", "amount": "40.00"},
        ],
        "subtotal": "990.40", "tax": "188.18", "total": "1178.58", "currency": "EUR",
        "valid_until": "2026-12-31",
    }


def test_no_tier_and_no_checkups_leave_their_lines_out():
    out = quote_json(example(plan__sessions=5, plan__extra_checkups=0))
    assert [ln["code"] for ln in out["lines"]] == ["sessions"]
    assert out["subtotal"] == "660.00"


def test_the_largest_tier_not_above_the_count_applies():
    out = quote_json(example(package_discounts=[{"min_sessions": 6, "percent": "10"},
                                                {"min_sessions": 10, "percent": "15"},
                                                {"min_sessions": 3, "percent": "5"}],
                             plan__sessions=10, plan__extra_checkups=0))
    assert out["lines"][1] == {"code": "package_discount", "quantity": 1, "unit_price": "-198.00",
                               "amount": "-198.00"}


def test_rounding_is_half_away_from_zero_once_per_figure():
    # 100.05 × 1.05 = 105.0525 → 105.05; 3 × 105.05 = 315.15; 5 % = 15.7575 → −15.76;
    # subtotal 299.39; tax 0.125 × 299.39 = 37.42375 → 37.42.
    out = quote_json(example(location_factor="1.05", tax_rate="0.125",
                             price_list__0__price_per_session="100.05",
                             package_discounts=[{"min_sessions": 3, "percent": "5"}],
                             plan__sessions=3, plan__extra_checkups=0))
    assert [ln["amount"] for ln in out["lines"]] == ["315.15", "-15.76"]
    assert (out["subtotal"], out["tax"], out["total"]) == ("299.39", "37.42", "336.81")


def test_a_zero_percent_tier_is_a_zero_line_never_minus_zero():
    out = quote_json(example(package_discounts=[{"min_sessions": 1, "percent": "0"}]))
    assert out["lines"][1]["amount"] == "0.00"


def test_a_currency_without_minor_unit_is_written_without_decimals():
    out = quote_json(example(currency="JPY", price_list__0__price_per_session="12000",
                             checkup_price="4000"))
    assert out["lines"][0]["unit_price"] == "13200"
    assert "." not in out["total"]


BAD = [
    (example(price_list__0__price_per_session=120.0), "price_list[0].price_per_session"),
    (example(price_list__0__price_per_session="-120.00"), "price_list[0].price_per_session"),
    (example(price_list__0__price_per_session="120"), "price_list[0].price_per_session"),
    (example(price_list__0__price_per_session="1.2e2"), "price_list[0].price_per_session"),
    (example(tax_rate="NaN"), "tax_rate"),
    (example(tax_rate=0.19), "tax_rate"),
    (example(location_factor="Infinity"), "location_factor"),
    (example(currency="eur"), "currency"),
    (example(currency="XYZ"), "currency"),
    (example(valid_days=0), "valid_days"),
    (example(valid_days="30"), "valid_days"),
    (example(plan__sessions=0), "plan.sessions"),
    (example(plan__sessions=True), "plan.sessions"),
    (example(package_discounts__0__percent="101"), "package_discounts[0].percent"),
    (example(package_discounts__0__percent="-1"), "package_discounts[0].percent"),
    (example(plan__area="scalp"), "plan"),
    (example(plan__size="huge"), "plan.size"),
    (example(checkup_price=...), "checkup_price"),
    (example(date="2026-02-30"), "date"),
    (example(colour="blue"), "colour"),
    (example(price_list=[EXAMPLE["price_list"][0], {**EXAMPLE["price_list"][0], "kind": "medical",
                                                     "price_per_session": "130.00"}]),
     "price_list[0].price_per_session"),
    # 6 sessions at 10 % off (6 × 132 × 0.9 = 712.80) cost less than 5 full ones (660.00)? No —
    # but at 20 % off they do (633.60 < 660.00): a longer series must never cost less.
    (example(package_discounts__0__percent="20"), "package_discounts[0].percent"),
]


@pytest.mark.parametrize(("data", "field"), BAD, ids=[b[1] for b in BAD])
def test_bad_input_names_the_field(data, field):
    with pytest.raises(InvalidQuote) as caught:
        quote_json(data)
    assert caught.value.field == field


@pytest.mark.parametrize(("data", "field"), BAD[:6], ids=[b[1] for b in BAD[:6]])
def test_the_cli_exits_2_with_one_line_and_no_output(data, field):
    out, err = io.StringIO(), io.StringIO()
    assert run(["-"], io.StringIO(json.dumps(data)), out, err) == 2
    assert out.getvalue() == ""
    assert err.getvalue().count("\n") == 1
    assert field in err.getvalue()


def test_the_cli_refuses_json_constants_usage_and_unreadable_files(tmp_path: Path):
    for argv, stdin in ((["-"], '{"tax_rate": NaN}'), ([], ""), (["a", "b"], ""),
                        ([str(tmp_path / "missing.json")], "")):
        out, err = io.StringIO(), io.StringIO()
        assert run(argv, io.StringIO(stdin), out, err) == 2, argv
        assert out.getvalue() == ""
        assert err.getvalue().startswith("error: ")


def test_the_console_script_prices_a_file(tmp_path: Path):
    path = tmp_path / "quote.json"
    path.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    script = Path(sys.executable).with_name("mesoclinic")
    done = subprocess.run([str(script), "quote", str(path)], capture_output=True, text=True,  # noqa: S603
                          timeout=60, env={**os.environ}, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == "1178.58"


# --- properties ------------------------------------------------------------------------------

prices = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("5000.00"), places=2)
percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("60"), places=1)


@st.composite
def price_lists(draw: Any) -> pricing.PriceList:
    medical = draw(prices)
    cosmetic = medical + draw(st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), places=2))
    tiers = draw(st.lists(st.tuples(st.integers(1, 15), percents), max_size=3,
                          unique_by=lambda t: t[0]))
    return pricing.PriceList(
        currency=draw(st.sampled_from(["EUR", "TRY", "GBP", "USD", "CHF"])),
        tax_rate=draw(st.decimals(min_value=Decimal("0"), max_value=Decimal("0.30"), places=3)),
        location_factor=draw(st.decimals(min_value=Decimal("0.50"), max_value=Decimal("2.00"),
                                         places=2)),
        entries=(pricing.PriceEntry("face", "standard", "physician", "medical", medical),
                 pricing.PriceEntry("face", "standard", "physician", "cosmetic", cosmetic)),
        package_discounts=tuple(pricing.PackageDiscount(n, p) for n, p in tiers),
        checkup_price=draw(prices))


def _valid(pl: pricing.PriceList) -> bool:
    try:
        pricing.validate_price_list(pl)
    except pricing.PricingError:
        return False
    return True


@settings(max_examples=300)
@given(price_lists(), st.integers(1, 20), st.integers(0, 5), st.sampled_from(pricing.KINDS))
def test_lines_add_up_to_the_total_to_the_cent(pl, sessions, checkups, kind):
    if not _valid(pl):
        return
    work = pricing.PlanWork("face", "standard", "physician", kind, sessions, checkups)
    q = pricing.price(work, pl, date=date(2026, 12, 1), valid_days=30)
    assert sum(ln.amount for ln in q.lines) == q.subtotal
    assert q.subtotal + q.tax == q.total
    assert all(ln.amount == ln.unit_price * ln.quantity for ln in q.lines)
    assert all(ln.amount == ln.amount.quantize(Decimal("0.01")) for ln in q.lines)


@settings(max_examples=300)
@given(price_lists(), st.integers(2, 20), st.sampled_from(pricing.KINDS))
def test_under_a_valid_list_more_sessions_never_cost_less(pl, sessions, kind):
    if not _valid(pl):
        return
    day = date(2026, 12, 1)

    def total(n: int) -> Decimal:
        work = pricing.PlanWork("face", "standard", "physician", kind, n, 0)
        return pricing.price(work, pl, date=day, valid_days=30).total

    assert total(sessions) >= total(sessions - 1)


@settings(max_examples=300)
@given(price_lists(), st.integers(1, 20))
def test_under_a_valid_list_cosmetic_costs_at_least_medical(pl, sessions):
    if not _valid(pl):
        return
    day = date(2026, 12, 1)
    cosmetic, medical = (pricing.price(pricing.PlanWork("face", "standard", "physician", k,
                                                        sessions, 0), pl, date=day,
                                       valid_days=30).total for k in ("cosmetic", "medical"))
    assert cosmetic >= medical


@given(prices, prices)
def test_validation_refuses_cosmetic_below_medical(a, b):
    if a == b:
        return
    low, high = min(a, b), max(a, b)
    pl = pricing.PriceList("EUR", Decimal("0.19"), Decimal("1"),
                           (pricing.PriceEntry("face", "small", "physician", "cosmetic", low),
                            pricing.PriceEntry("face", "small", "physician", "medical", high)),
                           (), Decimal("0"))
    with pytest.raises(pricing.PricingError, match="F-COST"):
        pricing.validate_price_list(pl)


@settings(max_examples=500)
@given(price_lists(), st.sampled_from([Decimal("1"), Decimal("0.01")]))
def test_validation_accepts_exactly_the_lists_whose_totals_never_fall(pl, scale):
    """The quick check at tier starts agrees with pricing every count from 1 to 16 (tiers start
    at 15 at most); scaled down to cents, rounding decides, and the exact path runs."""
    pl = dataclasses.replace(pl, entries=tuple(
        dataclasses.replace(e, price_per_session=(e.price_per_session * scale).quantize(
            Decimal("0.01"))) for e in pl.entries))
    day = date(2026, 12, 1)

    def before_tax(kind: str, n: int) -> Decimal:
        work = pricing.PlanWork("face", "standard", "physician", kind, n, 0)
        return pricing.price(work, pl, date=day, valid_days=30, validated=True).subtotal

    falls = any(before_tax(k, n) < before_tax(k, n - 1) for k in pricing.KINDS for n in range(2, 17))
    assert _valid(pl) is not falls
