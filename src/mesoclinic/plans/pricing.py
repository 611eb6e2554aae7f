"""The pricing engine (pure): a clinic's price list and a plan's work in, quote lines out.

Money is Decimal throughout. Every figure is rounded once, half away from zero (ROUND_HALF_UP), to
the currency's minor unit. A price list is refused when, for the same work, a cosmetic treatment
costs less than the medical one (F-COST: cosmetic work costs more), or when a longer series would
cost less in total than a shorter one (package discounts must never reward stopping early).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

SIZES = ("small", "standard", "large")
GRADES = ("senior_physician", "physician", "specialist_nurse")
KINDS = ("cosmetic", "medical")

# ISO 4217 codes with their minor unit (digits after the point).
MINOR_UNITS: Mapping[str, int] = {
    "EUR": 2, "TRY": 2, "GBP": 2, "USD": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2,
    "CZK": 2, "HUF": 2, "RON": 2, "BGN": 2, "CAD": 2, "AUD": 2, "NZD": 2, "AED": 2, "SAR": 2,
    "QAR": 2, "ILS": 2, "RUB": 2, "UAH": 2, "AZN": 2, "GEL": 2, "EGP": 2, "MAD": 2, "ZAR": 2,
    "INR": 2, "CNY": 2, "HKD": 2, "SGD": 2, "MXN": 2, "BRL": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}


class PricingError(ValueError):
    """The price list or the work cannot be priced; `field` is the JSON path of the problem."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Plain slotted records (a frozen dataclass costs about 1 us more to build, and a quote builds
# several); the price list itself is frozen, since its index is built once.
@dataclass(slots=True)
class PriceEntry:
    area: str
    size: str
    grade: str
    kind: str
    price_per_session: Decimal


@dataclass(slots=True)
class PackageDiscount:
    min_sessions: int
    percent: Decimal


@dataclass(frozen=True, slots=True)
class PriceList:
    currency: str
    tax_rate: Decimal
    location_factor: Decimal
    entries: tuple[PriceEntry, ...]
    package_discounts: tuple[PackageDiscount, ...]
    checkup_price: Decimal
    # (area, size, grade, kind) -> the first entry for that work; built once, not compared.
    by_work: dict[tuple[str, str, str, str], PriceEntry] = field(
        init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str, str, str], PriceEntry] = {}
        for e in self.entries:
            index.setdefault((e.area, e.size, e.grade, e.kind), e)
        object.__setattr__(self, "by_work", index)


@dataclass(slots=True)
class PlanWork:
    area: str
    size: str
    grade: str
    kind: str
    sessions: int
    extra_checkups: int = 0


@dataclass(slots=True)
class QuoteLine:
    code: str  # "sessions" | "package_discount" | "checkups"
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(slots=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    currency: str
    valid_until: date


_QUANTA = {code: Decimal(1).scaleb(-digits) for code, digits in MINOR_UNITS.items()}


def quantum(currency: str) -> Decimal:
    return _QUANTA[currency]


def _round(value: Decimal, q: Decimal) -> Decimal:
    rounded = value.quantize(q, rounding=ROUND_HALF_UP)
    return rounded + 0 if rounded.is_signed() else rounded  # -0.00 becomes 0.00


def _tier(discounts: Sequence[PackageDiscount], sessions: int) -> PackageDiscount | None:
    """The tier with the largest min_sessions not above the session count."""
    best: PackageDiscount | None = None
    for tier in discounts:
        if tier.min_sessions <= sessions and (best is None or tier.min_sessions > best.min_sessions):
            best = tier
    return best


def _series(price: Decimal, sessions: int, pl: PriceList,
            q: Decimal) -> tuple[Decimal, Decimal, PackageDiscount | None, Decimal]:
    """(unit price, sessions amount, tier, discount amount) for `sessions` at `price`."""
    unit = _round(price * pl.location_factor, q)
    amount = unit * sessions
    tier = _tier(pl.package_discounts, sessions)
    discount = -_round(tier.percent / 100 * amount, q) + 0 if tier is not None else Decimal(0)
    return unit, amount, tier, discount


def validate_price_list(pl: PriceList) -> None:
    """Refuse a list that cannot be priced or breaks the rules (F-COST); PricingError names it."""
    if pl.currency not in MINOR_UNITS:
        raise PricingError("currency", f"unknown currency {pl.currency!r} (an ISO 4217 code)")
    if pl.tax_rate < 0:
        raise PricingError("tax_rate", "cannot be negative")
    if pl.location_factor <= 0:
        raise PricingError("location_factor", "must be above 0")
    if pl.checkup_price < 0:
        raise PricingError("checkup_price", "cannot be negative")
    for i, e in enumerate(pl.entries):
        path = f"price_list[{i}]"
        if e.price_per_session < 0:
            raise PricingError(f"{path}.price_per_session", "cannot be negative")
        if e.size not in SIZES:
            raise PricingError(f"{path}.size", f"must be one of {', '.join(SIZES)}")
        if e.grade not in GRADES:
            raise PricingError(f"{path}.grade", f"must be one of {', '.join(GRADES)}")
        if e.kind not in KINDS:
            raise PricingError(f"{path}.kind", f"must be one of {', '.join(KINDS)}")
    for i, t in enumerate(pl.package_discounts):
        path = f"package_discounts[{i}]"
        if t.min_sessions < 1:
            raise PricingError(f"{path}.min_sessions", "must be at least 1")
        if not 0 <= t.percent <= 100:
            raise PricingError(f"{path}.percent", "must be between 0 and 100")
    check_rules(pl)


def check_rules(pl: PriceList) -> None:
    """The rules across entries, on a list whose every field is valid (as the contract's parser
    and validate_price_list ensure): nothing priced twice, F-COST, longer never cheaper."""
    seen: dict[tuple[str, str, str, str], int] = {}
    for i, e in enumerate(pl.entries):
        key = (e.area, e.size, e.grade, e.kind)
        if key in seen:
            raise PricingError(f"price_list[{i}]",
                               f"the same work is priced twice (also price_list[{seen[key]}])")
        seen[key] = i
    tiers: dict[int, int] = {}
    for i, t in enumerate(pl.package_discounts):
        if t.min_sessions in tiers:
            raise PricingError(f"package_discounts[{i}].min_sessions",
                               f"repeats package_discounts[{tiers[t.min_sessions]}]")
        tiers[t.min_sessions] = i
    # F-COST: for the same area, size and grade, cosmetic never costs less than medical.
    for i, e in enumerate(pl.entries):
        if e.kind != "cosmetic":
            continue
        medical = seen.get((e.area, e.size, e.grade, "medical"))
        if medical is not None and e.price_per_session < pl.entries[medical].price_per_session:
            raise PricingError(f"price_list[{i}].price_per_session",
                               f"cosmetic {e.area}/{e.size}/{e.grade} costs less than the medical "
                               f"one (price_list[{medical}]); cosmetic work costs more (F-COST)")
    # More sessions never cost less. Within one tier the total before tax rises by at least 0 a
    # session (the rounded discount never grows by more than the unit price), so totals can only
    # fall where a tier starts: check each start n against n - 1.
    q = quantum(pl.currency)
    starts = sorted(n for n in tiers if n >= 2)
    if not starts or not pl.entries:
        return
    if _rises_at_every_start(pl, q):
        return
    for i, e in enumerate(pl.entries):
        for n in starts:
            before = sum(_series(e.price_per_session, n - 1, pl, q)[1::2], Decimal(0))
            after = sum(_series(e.price_per_session, n, pl, q)[1::2], Decimal(0))
            if after < before:
                tier = tiers[n]
                raise PricingError(
                    f"package_discounts[{tier}].percent",
                    f"{n} sessions of price_list[{i}] would cost {after} before tax, less than "
                    f"{n - 1} sessions ({before}): a longer series must never cost less")


def _rises_at_every_start(pl: PriceList, q: Decimal) -> bool:
    """True when no entry's total can fall at a tier start, shown without pricing each entry.

    At a start n the total before tax changes by u + round(p0·u·(n-1)) - round(p1·u·n) for unit
    price u, p0 the discount before n and p1 from n. Unrounded that is u·c with
    c = 1 + p0·(n-1) - p1·n; the two roundings move it by at most one minor unit q. So when c ≥ 0
    and the cheapest unit price gives u·c ≥ q, every entry passes; otherwise each entry is priced
    (the exact check, which also names the first entry that fails).
    """
    cheapest = _round(min(e.price_per_session for e in pl.entries) * pl.location_factor, q)
    by_start = {t.min_sessions: t.percent for t in pl.package_discounts}
    percent = Decimal(0)  # of the tier in force just before the start looked at
    for n in sorted(by_start):
        if n >= 2:
            c = 100 + percent * (n - 1) - by_start[n] * n  # c above, times 100
            if c < 0 or cheapest * c < q * 100:
                return False
        percent = by_start[n]
    return True


def price(work: PlanWork, pl: PriceList, *, date: date, valid_days: int,
          validated: bool = False) -> Quote:
    """Price the work; validates the list first unless the caller already did."""
    if not validated:
        validate_price_list(pl)
    if work.sessions < 1:
        raise PricingError("plan.sessions", "must be at least 1")
    if work.extra_checkups < 0:
        raise PricingError("plan.extra_checkups", "cannot be negative")
    if valid_days < 1:
        raise PricingError("valid_days", "must be at least 1")
    entry = pl.by_work.get((work.area, work.size, work.grade, work.kind))
    if entry is None:
        raise PricingError("plan", f"the price list has no price for {work.kind} {work.area} "
                                   f"({work.size}) by a {work.grade}")
    q = quantum(pl.currency)
    unit, amount, tier, discount = _series(entry.price_per_session, work.sessions, pl, q)
    lines = [QuoteLine("sessions", work.sessions, unit, amount)]
    if tier is not None:
        lines.append(QuoteLine("package_discount", 1, discount, discount))
    if work.extra_checkups:
        checkup = _round(pl.checkup_price, q)
        lines.append(QuoteLine("checkups", work.extra_checkups, checkup, checkup * work.extra_checkups))
    subtotal = Decimal(0)
    for ln in lines:
        subtotal += ln.amount
    tax = _round(subtotal * pl.tax_rate, q)
    return Quote(lines=tuple(lines), subtotal=subtotal, tax=tax, total=subtotal + tax,
                 currency=pl.currency, valid_until=date + timedelta(days=valid_days))


def money(value: Decimal, currency: str) -> str:
    """An amount written with the currency's minor unit: "-12.50", "0.00", "1500"."""
    if value.as_tuple().exponent != -MINOR_UNITS[currency] or (value.is_signed() and value.is_zero()):
        value = _round(value, quantum(currency))  # engine figures are rounded already
    return f"{value:f}"


def plain(value: Decimal) -> str:
    """A rate, factor or percent as a plain decimal string."""
    return f"{value:f}"


def describe(pl: PriceList) -> dict[str, object]:
    """The price list in the contract's words (the price-list part of a `quote` input)."""
    return {
        "currency": pl.currency, "tax_rate": plain(pl.tax_rate),
        "location_factor": plain(pl.location_factor),
        "price_list": [{"area": e.area, "size": e.size, "grade": e.grade, "kind": e.kind,
                        "price_per_session": money(e.price_per_session, pl.currency)}
                       for e in pl.entries],
        "package_discounts": [{"min_sessions": t.min_sessions, "percent": plain(t.percent)}
                              for t in pl.package_discounts],
        "checkup_price": money(pl.checkup_price, pl.currency),
    }
