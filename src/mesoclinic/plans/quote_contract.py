"""The `quote` contract (pure): strict JSON in, the engine's quote out, or InvalidQuote naming a field.

Every amount, price, rate, factor and percent is a decimal string; a JSON number, NaN, Infinity,
an exponent, a sign other than a leading minus, or spaces are invalid. Prices are written with the
currency's minor unit ("120.00" for EUR, "1500" for JPY). Unknown fields are refused, so that a
misspelt field is never silently ignored.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

from mesoclinic.plans import pricing

ROOT = "input"
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FIELDS = ("date", "valid_days", "currency", "tax_rate", "location_factor", "price_list",
           "package_discounts", "checkup_price", "plan")
_ENTRY = ("area", "size", "grade", "kind", "price_per_session")
_TIER = ("min_sessions", "percent")
_PLAN = ("area", "size", "grade", "kind", "sessions", "extra_checkups")
MAX_ENTRIES = 10_000
_KEYSETS: dict[tuple[str, ...], frozenset[str]] = {
    fields: frozenset(fields) for fields in (_FIELDS, _ENTRY, _TIER, _PLAN)}
_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]+)?")  # 0 to 999; above 100 is refused below
# A non-negative amount written with exactly the minor unit's digits, per number of digits.
_PLAIN_AMOUNT = {digits: re.compile(r"[0-9]+" + (rf"\.[0-9]{{{digits}}}" if digits else ""))
                 for digits in set(pricing.MINOR_UNITS.values())}


class InvalidQuote(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _reject_constant(name: str) -> object:
    raise InvalidQuote(ROOT, f"{name} is not allowed in JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidQuote(key, "repeated field")
        result[key] = value
    return result


def decode_json(text: str) -> object:
    """Strict JSON: no NaN/Infinity, no repeated keys."""
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise InvalidQuote(ROOT, f"not valid JSON ({exc.msg} at line {exc.lineno} column "
                                 f"{exc.colno})") from exc
    except RecursionError as exc:
        raise InvalidQuote(ROOT, "nested too deeply") from exc


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _object(value: object, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if type(value) is dict and value.keys() == _KEYSETS[allowed]:
        return value  # exactly the fields: nothing unknown, nothing missing
    if not isinstance(value, dict):
        raise InvalidQuote(path or ROOT, f"expected an object, got {_kind(value)}")
    for key in value:
        if key not in allowed:
            raise InvalidQuote(f"{path}.{key}" if path else str(key), "unknown field")
    for key in allowed:
        if key not in value and key != "extra_checkups":
            raise InvalidQuote(f"{path}.{key}" if path else key, "missing required field")
    return value


def _decimal(value: object, path: str) -> Decimal:
    if not isinstance(value, str):
        raise InvalidQuote(path, f"expected a decimal string such as \"0.19\", got {_kind(value)}")
    if not _DECIMAL.fullmatch(value):
        raise InvalidQuote(path, f"{value!r} is not a plain decimal string (digits, an optional "
                                 "leading minus and decimal point; no exponent)")
    return Decimal(value)


def _amount(value: object, path: str, currency: str | None) -> Decimal:
    number = _decimal(value, path)
    if currency is not None:
        digits = pricing.MINOR_UNITS[currency]
        text = str(value)
        written = text.split(".")[1] if "." in text else ""
        if len(written) != digits:
            example = "120" + ("." + "0" * digits if digits else "")
            raise InvalidQuote(path, f"{value!r}: write {currency} amounts with {digits} decimal "
                                     f"place{'s' if digits != 1 else ''}, e.g. \"{example}\"")
    if number < 0:
        raise InvalidQuote(path, "a price cannot be negative")
    return number


def _integer(value: object, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuote(path, f"expected a whole number, got {_kind(value)}")
    if value < minimum:
        raise InvalidQuote(path, f"must be at least {minimum}")
    return value


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidQuote(path, f"expected a non-empty string, got {_kind(value)}")
    return value


def _choice(value: object, path: str, options: tuple[str, ...]) -> str:
    text = _text(value, path)
    if text not in options:
        raise InvalidQuote(path, f"{text!r} is not one of {', '.join(options)}")
    return text


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidQuote(path, f"expected a list, got {_kind(value)}")
    if len(value) > MAX_ENTRIES:
        raise InvalidQuote(path, f"more than {MAX_ENTRIES} entries")
    return value


def parse_request(data: object) -> tuple[pricing.PriceList, pricing.PlanWork, date, int]:
    """Validate decoded JSON and build the engine's inputs; InvalidQuote names the first problem."""
    root = _object(data, "", _FIELDS)
    raw_date = root["date"]
    if not isinstance(raw_date, str) or not _DATE.fullmatch(raw_date):
        raise InvalidQuote("date", "expected a date such as \"2026-12-01\"")
    try:
        on = date.fromisoformat(raw_date)
    except ValueError:
        raise InvalidQuote("date", f"{raw_date!r} is not a calendar date") from None
    valid_days = _integer(root["valid_days"], "valid_days", 1)
    currency = root["currency"]
    if not isinstance(currency, str) or currency not in pricing.MINOR_UNITS:
        shown = currency if isinstance(currency, str) else _kind(currency)
        raise InvalidQuote("currency", f"unknown currency {shown!r}: an ISO 4217 code in capitals, "
                                       "e.g. EUR, TRY, GBP, USD, CHF")
    tax_rate = _decimal(root["tax_rate"], "tax_rate")
    if tax_rate < 0:
        raise InvalidQuote("tax_rate", "cannot be negative")
    factor = _decimal(root["location_factor"], "location_factor")
    if factor <= 0:
        raise InvalidQuote("location_factor", "must be above 0")
    amount = _PLAIN_AMOUNT[pricing.MINOR_UNITS[currency]]
    entries = []
    for i, item in enumerate(_list(root["price_list"], "price_list")):
        # The common, well-formed entry is taken in one test; anything else goes through the
        # field-by-field checks below, which accept the same entries and name what is wrong.
        if (type(item) is dict and item.keys() == _KEYSETS[_ENTRY]
                and type(area := item["area"]) is str and area.strip()
                and item["size"] in pricing.SIZES and item["grade"] in pricing.GRADES
                and item["kind"] in pricing.KINDS  # tuples: an unhashable value just fails
                and type(price := item["price_per_session"]) is str and amount.fullmatch(price)):
            entries.append(pricing.PriceEntry(area, item["size"], item["grade"], item["kind"],
                                              Decimal(price)))
            continue
        path = f"price_list[{i}]"
        e = _object(item, path, _ENTRY)
        entries.append(pricing.PriceEntry(
            area=_text(e["area"], f"{path}.area"),
            size=_choice(e["size"], f"{path}.size", pricing.SIZES),
            grade=_choice(e["grade"], f"{path}.grade", pricing.GRADES),
            kind=_choice(e["kind"], f"{path}.kind", pricing.KINDS),
            price_per_session=_amount(e["price_per_session"], f"{path}.price_per_session", currency)))
    tiers = []
    for i, item in enumerate(_list(root["package_discounts"], "package_discounts")):
        if (type(item) is dict and item.keys() == _KEYSETS[_TIER]
                and type(n := item["min_sessions"]) is int and n >= 1
                and type(text := item["percent"]) is str and _PERCENT.fullmatch(text)
                and (percent := Decimal(text)) <= 100):
            tiers.append(pricing.PackageDiscount(n, percent))
            continue
        path = f"package_discounts[{i}]"
        t = _object(item, path, _TIER)
        percent = _decimal(t["percent"], f"{path}.percent")
        if not 0 <= percent <= 100:
            raise InvalidQuote(f"{path}.percent", "must be between 0 and 100")
        tiers.append(pricing.PackageDiscount(_integer(t["min_sessions"], f"{path}.min_sessions", 1),
                                             percent))
    checkup = _amount(root["checkup_price"], "checkup_price", currency)
    p = _object(root["plan"], "plan", _PLAN)
    if (type(area := p["area"]) is str and area.strip() and p["size"] in pricing.SIZES
            and p["grade"] in pricing.GRADES and p["kind"] in pricing.KINDS
            and type(sessions := p["sessions"]) is int and sessions >= 1
            and type(checkups := p.get("extra_checkups", 0)) is int and checkups >= 0):
        work = pricing.PlanWork(area, p["size"], p["grade"], p["kind"], sessions, checkups)
    else:
        work = _plan_work(p)
    price_list = pricing.PriceList(currency=currency, tax_rate=tax_rate, location_factor=factor,
                                   entries=tuple(entries), package_discounts=tuple(tiers),
                                   checkup_price=checkup)
    return price_list, work, on, valid_days


def _plan_work(p: dict[str, Any]) -> pricing.PlanWork:
    """The plan's work, field by field, naming the first that is wrong."""
    return pricing.PlanWork(
        area=_text(p["area"], "plan.area"),
        size=_choice(p["size"], "plan.size", pricing.SIZES),
        grade=_choice(p["grade"], "plan.grade", pricing.GRADES),
        kind=_choice(p["kind"], "plan.kind", pricing.KINDS),
        sessions=_integer(p["sessions"], "plan.sessions", 1),
        extra_checkups=_integer(p.get("extra_checkups", 0), "plan.extra_checkups", 0))


def quote_to_json(q: pricing.Quote) -> dict[str, Any]:
    # The engine rounds each figure once to the minor unit (never -0), so they are written as is.
    return {
        "lines": [{"code": ln.code, "quantity": ln.quantity, "unit_price": f"{ln.unit_price:f}",
                   "amount": f"{ln.amount:f}"} for ln in q.lines],
        "subtotal": f"{q.subtotal:f}",
        "tax": f"{q.tax:f}",
        "total": f"{q.total:f}",
        "currency": q.currency,
        "valid_until": q.valid_until.isoformat(),
    }


def quote_json(data: object) -> dict[str, Any]:
    """The whole contract: decoded JSON in, output JSON out (InvalidQuote for bad input)."""
    price_list, work, on, valid_days = parse_request(data)
    try:
        pricing.check_rules(price_list)  # the parser has checked every field already
        return quote_to_json(pricing.price(work, price_list, date=on, valid_days=valid_days,
                                           validated=True))
    except pricing.PricingError as exc:
        raise InvalidQuote(exc.field, exc.message) from None
