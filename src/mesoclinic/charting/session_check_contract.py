"""The `session-check` contract (pure): strict JSON in, the engine's input, the result out as JSON.

Shared by `mesoclinic session-check`, the session pages and the API: the product builds the same
JSON-shaped dict from its database (isoformat strings with offsets) and calls `parse` + `check`.
Invalid input raises `ContractError(field, message)`, the field a dotted path such as
"performer.credentials[0].kind".

How the input is read:
- Strict JSON: NaN, Infinity and repeated keys are refused, and so are unknown fields at every
  level (as in the other contracts), so that a misspelt field is never silently ignored.
- `now`, `timezone` and `performer` are required. `screening`, `record_changed_at`, `plan`,
  `consent`, `allergy_test`, `workup`, `cream_applied_at` and `clinic_licence` may be null, and
  an absent one means null; absent `open_adverse_events` and `lots` mean none.
- Inside an object every field of the contract's example is required, except those that may be
  null (`consent.withdrawn_at`, `workup.signed_off_at`, `valid_until`, an event's `id` and `code`:
  absent means null) and the lists `screening.open`, `allergy_test.reactions` and
  `performer.credentials` (absent means empty).
- Datetimes are ISO 8601 with their UTC offset ("2027-01-11T10:00:00+03:00", or "Z"), years 1900
  to 9000; dates are "YYYY-MM-DD". `timezone` is an IANA name ("Europe/Istanbul").
- Decisions, severities, plan statuses, roles and credential kinds are the contract's values; any
  other is invalid. A screening code is written as the screening engine writes them (capitals,
  digits and "_", e.g. NSAID_WASHOUT). Lot amounts are numbers of at least 0 (3, 2.5).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeGuard, TypeVar
from zoneinfo import ZoneInfo

from mesoclinic.charting import session_check as sc
from mesoclinic.plans.lifecycle import Status as PlanStatus

ROOT = "input"  # the field named when the whole document is wrong
MAX_TEXT = 200  # characters in a name, code or lot number
MAX_ITEMS = 1000  # entries in any list
MIN_YEAR, MAX_YEAR = 1900, 9000  # datetimes outside are typos, and keep zone conversion safe

_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                       r"(Z|[+-][0-9]{2}:[0-9]{2})")
_LOCAL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FINDING_CODE = re.compile(r"[A-Z][A-Z0-9_]*")  # as the knowledge pack writes finding codes
_DATETIME_EXAMPLE = "e.g. \"2027-01-11T10:00:00+03:00\""

_E = TypeVar("_E", bound=StrEnum)


class ContractError(ValueError):
    """The input does not follow the contract; `field` names where, `message` says what."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- strict JSON -----------------------------------------------------------------------------


def _reject_constant(name: str) -> object:
    raise ContractError(ROOT, f"not valid JSON ({name} is not allowed)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ContractError(ROOT, f"field {key!r} appears twice in one object")
        result[key] = value
    return result


def decode_json(text: str) -> object:
    """Strict JSON: no NaN/Infinity, no repeated keys, bounded nesting."""
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ContractError(ROOT, f"not valid JSON ({exc.msg} at line {exc.lineno} column "
                                  f"{exc.colno})") from exc
    except RecursionError as exc:
        raise ContractError(ROOT, "nested too deeply") from exc


# --- field parsers ---------------------------------------------------------------------------


def _kind(value: object) -> str:
    """A JSON name for the type of a value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_ROOT = frozenset({"now", "timezone", "screening", "record_changed_at", "plan", "consent", "allergy_test",
                   "workup", "cream_applied_at", "performer", "clinic_licence", "open_adverse_events",
                   "lots"})
_SCREENING = frozenset({"at", "decision", "open"})
_OPEN_ITEM = frozenset({"code", "severity"})
_PLAN = frozenset({"version", "status", "ingredients", "uses_anaesthetic_cream", "approved_by_physician"})
_CONSENT = frozenset({"plan_version", "signed_at", "withdrawn_at"})
_ALLERGY_TEST = frozenset({"at", "ingredients", "reactions"})
_WORKUP = frozenset({"signed_off_at"})
_PERFORMER = frozenset({"role", "credentials"})
_CREDENTIAL = frozenset({"kind", "valid_from", "valid_until"})
_LICENCE = frozenset({"valid_from", "valid_until"})
_EVENT = frozenset({"severity", "cleared", "id", "code"})
_LOT = frozenset({"product", "lot", "expires", "recalled", "available", "needed"})


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _object(value: object, path: str, allowed: frozenset[str]) -> dict[str, Any]:
    """An object with no field outside `allowed`. Required fields are read with `value[key]` in
    a `try`, and `_missing` turns the KeyError into the error naming the field."""
    if type(value) is dict and allowed.issuperset(value):
        return value
    if not isinstance(value, Mapping):
        raise ContractError(path or ROOT, f"expected an object, got {_kind(value)}")
    for key in value:
        if key not in allowed:
            raise ContractError(_join(path, key), "unknown field")
    return dict(value)


def _missing(exc: KeyError, path: str) -> ContractError:
    return ContractError(_join(path, exc.args[0]), "missing required field")


# Where the separators of "2027-01-11T10:00:00+03:00" and "2027-01-11T10:00:00Z" sit (every third
# character from the fifth), and the length that goes with them: the product's and most callers'
# datetimes are checked with one slice, fromisoformat checking the digits; so is Python's
# isoformat() with microseconds ("2027-01-11T10:00:00.123456+03:00"). Any other spelling goes
# through the regular expression.
_DATETIME_SHAPES = {"--T::+:": 25, "--T::-:": 25, "--T::Z": 20}
_from_datetime = datetime.fromisoformat
_from_date = date.fromisoformat


def _datetime(value: object, path: str) -> datetime:
    """An ISO 8601 datetime with its UTC offset, years MIN_YEAR to MAX_YEAR."""
    if type(value) is str and (_DATETIME_SHAPES.get(value[4::3]) == len(value) or (
            len(value) == 32 and value[4:20:3] == "--T::." and value[29] == ":" and value[26] in "+-")):
        try:
            moment = _from_datetime(value)
        except ValueError:
            pass
        else:
            if MIN_YEAR <= moment.year <= MAX_YEAR:
                return moment
    return _datetime_slow(value, path)


def _datetime_slow(value: object, path: str) -> datetime:
    """`_datetime` for every other spelling, naming what is wrong."""
    if not isinstance(value, str):
        raise ContractError(path, f"expected a date and time with its UTC offset ({_DATETIME_EXAMPLE}), "
                                  f"got {_kind(value)}")
    if not _DATETIME.fullmatch(value):
        if _LOCAL_DATETIME.fullmatch(value):
            raise ContractError(path, f"{value[:40]!r} has no UTC offset (write it with one, "
                                      f"{_DATETIME_EXAMPLE})")
        raise ContractError(path, f"{value[:40]!r} is not an ISO 8601 date and time with its UTC offset "
                                  f"({_DATETIME_EXAMPLE})")
    try:
        moment = _from_datetime(value)
    except ValueError:
        raise ContractError(path, f"{value[:40]!r} is not a valid date and time") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ContractError(path, f"{value[:40]!r}: the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return moment


def _opt_datetime(value: object, path: str) -> datetime | None:
    return None if value is None else _datetime(value, path)


def _date(value: object, path: str) -> date:
    """A calendar date "YYYY-MM-DD" (fromisoformat takes only ASCII digits around the dashes)."""
    if type(value) is str and len(value) == 10 and value[4::3] == "--":
        try:
            return _from_date(value)
        except ValueError:
            raise ContractError(path, f"{value!r} is not a calendar date") from None
    raise ContractError(path, f"expected a date such as \"2027-01-31\", got {_kind(value)}")


def _opt_date(value: object, path: str) -> date | None:
    return None if value is None else _date(value, path)


def _bool(value: object, path: str) -> bool:
    if type(value) is not bool:
        raise ContractError(path, f"expected true or false, got {_kind(value)}")
    return value


def _version(value: object, path: str) -> int:
    """A plan version: a whole number from 1."""
    if type(value) is not int:
        raise ContractError(path, f"expected a whole number, got {_kind(value)}")
    if value < 1:
        raise ContractError(path, f"must be at least 1, got {value}")
    return value


def _quantity(value: object, path: str) -> sc.Quantity:
    """An amount of at least 0: a whole or decimal number (3, 2.5)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ContractError(path, f"expected a number, got {_kind(value)}")
    if not isinstance(value, int) and not math.isfinite(value):  # the product's dict may hold NaN
        raise ContractError(path, "must be a finite number")
    if value < 0:
        raise ContractError(path, f"cannot be negative, got {value}")
    return value


def _text(value: object, path: str) -> str:
    """A non-blank string of at most MAX_TEXT characters, without surrounding spaces."""
    if type(value) is not str:
        raise ContractError(path, f"expected a string, got {_kind(value)}")
    if len(value) > MAX_TEXT:
        raise ContractError(path, f"longer than {MAX_TEXT} characters")
    text = value.strip()
    if not text:
        raise ContractError(path, "must not be empty")
    return text


def _opt_text(value: object, path: str) -> str | None:
    return None if value is None else _text(value, path)


def _list(value: object, path: str) -> list[Any]:
    if type(value) is not list:
        if not isinstance(value, list | tuple):
            raise ContractError(path, f"expected a list, got {_kind(value)}")
        value = list(value)
    if len(value) > MAX_ITEMS:
        raise ContractError(path, f"more than {MAX_ITEMS} entries")
    return value


def _texts(value: object, path: str) -> tuple[str, ...]:
    """A list of non-blank strings (ingredient names)."""
    if type(value) is list and len(value) <= MAX_ITEMS:
        texts = [t.strip() for t in value if type(t) is str and len(t) <= MAX_TEXT]
        if len(texts) == len(value) and all(texts):
            return tuple(texts)
    return tuple(_text(item, f"{path}[{i}]") for i, item in enumerate(_list(value, path)))


def _choices(enum: type[_E]) -> dict[str, _E]:
    return {member.value: member for member in enum}


_DECISIONS = _choices(sc.Decision)
_SEVERITIES = _choices(sc.Severity)
_STATUSES = _choices(PlanStatus)
_ROLES = _choices(sc.Role)
_KINDS = _choices(sc.CredentialKind)
_EVENT_SEVERITIES = _choices(sc.EventSeverity)


def _choice(value: object, path: str, table: dict[str, _E], what: str) -> _E:
    """One of a fixed set of values ("unknown role 'surgeon' (expected one of physician, nurse)")."""
    member = table.get(value) if type(value) is str else None
    if member is not None:
        return member
    options = ", ".join(table)
    if not isinstance(value, str):
        raise ContractError(path, f"expected a {what} ({options}), got {_kind(value)}")
    raise ContractError(path, f"unknown {what} {value[:MAX_TEXT]!r} (expected one of {options})")


_ZONES: dict[str, ZoneInfo] = {}  # ZoneInfo reads a file: keep each zone once


def _timezone(value: object) -> ZoneInfo:
    """An IANA time zone name."""
    zone = _ZONES.get(value) if type(value) is str else None
    if zone is not None:
        return zone
    name = _text(value, "timezone")
    try:
        zone = ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError for odd keys, OSError…: all mean unknown
        raise ContractError("timezone", f"unknown time zone {name[:60]!r}: an IANA name such as "
                                        "\"Europe/Istanbul\"") from None
    if len(_ZONES) < 2000:  # there are about 600 names; never let odd spellings grow it for ever
        _ZONES[name] = zone
    return zone


# --- sections --------------------------------------------------------------------------------


def _open_item(raw: object, prefix: str, i: int) -> sc.OpenItem:
    # The usual, well-formed item in one test; anything else is checked field by field below,
    # which accepts the same items and names what is wrong.
    if type(raw) is dict and _OPEN_ITEM.issuperset(raw):
        code, severity = raw.get("code"), raw.get("severity")
        member = _SEVERITIES.get(severity) if type(severity) is str else None
        if (member is not None and type(code) is str and len(code) <= MAX_TEXT
                and _FINDING_CODE.fullmatch(code)):
            return sc.OpenItem(code, member)
    path = f"{prefix}[{i}]"
    item = _object(raw, path, _OPEN_ITEM)
    try:
        code, severity = item["code"], item["severity"]
    except KeyError as exc:
        raise _missing(exc, path) from None
    code = _text(code, f"{path}.code")
    if not _FINDING_CODE.fullmatch(code):
        raise ContractError(f"{path}.code", f"unknown code {code!r}: a screening finding code is "
                                            "written in capitals, digits and _, e.g. NSAID_WASHOUT")
    return sc.OpenItem(code, _choice(severity, f"{path}.severity", _SEVERITIES, "severity"))


def _screening(value: object) -> sc.Screening:
    data = _object(value, "screening", _SCREENING)
    try:
        at, decision = data["at"], data["decision"]
    except KeyError as exc:
        raise _missing(exc, "screening") from None
    items = data.get("open", ())
    return sc.Screening(
        _datetime(at, "screening.at"), _choice(decision, "screening.decision", _DECISIONS, "decision"),
        tuple([_open_item(raw, "screening.open", i)
               for i, raw in enumerate(_list(items, "screening.open") if items != () else items)]))


def _plan(value: object) -> sc.Plan:
    data = _object(value, "plan", _PLAN)
    try:
        version, status, ingredients = data["version"], data["status"], data["ingredients"]
        cream, approved = data["uses_anaesthetic_cream"], data["approved_by_physician"]
    except KeyError as exc:
        raise _missing(exc, "plan") from None
    return sc.Plan(_version(version, "plan.version"),
                   _choice(status, "plan.status", _STATUSES, "plan status"),
                   _texts(ingredients, "plan.ingredients"), _bool(cream, "plan.uses_anaesthetic_cream"),
                   _bool(approved, "plan.approved_by_physician"))


def _consent(value: object) -> sc.Consent:
    data = _object(value, "consent", _CONSENT)
    try:
        version, signed_at = data["plan_version"], data["signed_at"]
    except KeyError as exc:
        raise _missing(exc, "consent") from None
    return sc.Consent(_version(version, "consent.plan_version"), _datetime(signed_at, "consent.signed_at"),
                      _opt_datetime(data.get("withdrawn_at"), "consent.withdrawn_at"))


def _allergy_test(value: object) -> sc.AllergyTest:
    data = _object(value, "allergy_test", _ALLERGY_TEST)
    try:
        at, ingredients = data["at"], data["ingredients"]
    except KeyError as exc:
        raise _missing(exc, "allergy_test") from None
    reactions = data.get("reactions", ())
    return sc.AllergyTest(_datetime(at, "allergy_test.at"), _texts(ingredients, "allergy_test.ingredients"),
                          _texts(reactions, "allergy_test.reactions") if reactions != () else ())


def _workup(value: object) -> sc.Workup:
    data = _object(value, "workup", _WORKUP)
    return sc.Workup(_opt_datetime(data.get("signed_off_at"), "workup.signed_off_at"))


def _is_date(value: object) -> TypeGuard[str]:
    """Written like a date (fromisoformat then checks the digits)."""
    return type(value) is str and len(value) == 10 and value[4::3] == "--"


def _credential(raw: object, prefix: str, i: int) -> sc.Credential:
    if type(raw) is dict and _CREDENTIAL.issuperset(raw):  # the usual entry in one test
        kind, valid_from, valid_until = raw.get("kind"), raw.get("valid_from"), raw.get("valid_until")
        member = _KINDS.get(kind) if type(kind) is str else None
        if member is not None and _is_date(valid_from) and (valid_until is None or _is_date(valid_until)):
            try:
                return sc.Credential(member, _from_date(valid_from),
                                     None if valid_until is None else _from_date(valid_until))
            except ValueError:
                pass
    path = f"{prefix}[{i}]"
    item = _object(raw, path, _CREDENTIAL)
    try:
        kind, valid_from = item["kind"], item["valid_from"]
    except KeyError as exc:
        raise _missing(exc, path) from None
    return sc.Credential(_choice(kind, f"{path}.kind", _KINDS, "credential kind"),
                         _date(valid_from, f"{path}.valid_from"),
                         _opt_date(item.get("valid_until"), f"{path}.valid_until"))


def _performer(value: object) -> sc.Performer:
    data = _object(value, "performer", _PERFORMER)
    try:
        role = data["role"]
    except KeyError as exc:
        raise _missing(exc, "performer") from None
    role = _choice(role, "performer.role", _ROLES, "role")
    items = data.get("credentials", ())
    return sc.Performer(role, tuple([
        _credential(raw, "performer.credentials", i)
        for i, raw in enumerate(_list(items, "performer.credentials") if items != () else items)]))


def _clinic_licence(value: object) -> sc.ClinicLicence:
    data = _object(value, "clinic_licence", _LICENCE)
    try:
        valid_from = data["valid_from"]
    except KeyError as exc:
        raise _missing(exc, "clinic_licence") from None
    return sc.ClinicLicence(_date(valid_from, "clinic_licence.valid_from"),
                            _opt_date(data.get("valid_until"), "clinic_licence.valid_until"))


def _event(raw: object, prefix: str, i: int) -> sc.AdverseEvent:
    if type(raw) is dict and len(raw) == 2:  # the usual entry, without id or code, in one test
        severity, cleared = raw.get("severity"), raw.get("cleared")
        member = _EVENT_SEVERITIES.get(severity) if type(severity) is str else None
        if member is not None and type(cleared) is bool:
            return sc.AdverseEvent(member, cleared)
    path = f"{prefix}[{i}]"
    item = _object(raw, path, _EVENT)
    try:
        severity, cleared = item["severity"], item["cleared"]
    except KeyError as exc:
        raise _missing(exc, path) from None
    return sc.AdverseEvent(_choice(severity, f"{path}.severity", _EVENT_SEVERITIES, "adverse-event severity"),
                           _bool(cleared, f"{path}.cleared"), _opt_text(item.get("id"), f"{path}.id"),
                           _opt_text(item.get("code"), f"{path}.code"))


_NUMBERS = (int, float)


def _lot(raw: object, prefix: str, i: int) -> sc.Lot:
    if type(raw) is dict and len(raw) == 6:  # the usual entry in one test
        product, number, expires = raw.get("product"), raw.get("lot"), raw.get("expires")
        recalled, available, needed = raw.get("recalled"), raw.get("available", -1), raw.get("needed", -1)
        if (type(product) is str and type(number) is str and 0 < len(product) <= MAX_TEXT
                and 0 < len(number) <= MAX_TEXT and product == product.strip() and number == number.strip()
                and _is_date(expires) and type(recalled) is bool
                and type(available) in _NUMBERS and type(needed) in _NUMBERS
                and 0 <= available < math.inf and 0 <= needed < math.inf):  # NaN fails both
            try:
                return sc.Lot(product, number, _from_date(expires), recalled, available, needed)
            except ValueError:
                pass
    path = f"{prefix}[{i}]"
    item = _object(raw, path, _LOT)
    try:
        product, number, expires = item["product"], item["lot"], item["expires"]
        recalled, available, needed = item["recalled"], item["available"], item["needed"]
    except KeyError as exc:
        raise _missing(exc, path) from None
    return sc.Lot(_text(product, f"{path}.product"), _text(number, f"{path}.lot"),
                  _date(expires, f"{path}.expires"), _bool(recalled, f"{path}.recalled"),
                  _quantity(available, f"{path}.available"), _quantity(needed, f"{path}.needed"))


def parse(data: object) -> sc.SessionCheckInput:
    """Validate decoded JSON (or the product's dict of the same shape) and build the engine's
    input; ContractError names the first problem, sections in the contract's order."""
    root = _object(data, "", _ROOT)
    try:
        now, zone, performer = root["now"], root["timezone"], root["performer"]
    except KeyError as exc:
        raise _missing(exc, "") from None
    get = root.get
    now = _datetime(now, "now")
    tz = _timezone(zone)
    screening = get("screening")
    plan = get("plan")
    consent = get("consent")
    allergy_test = get("allergy_test")
    workup = get("workup")
    licence = get("clinic_licence")
    events = get("open_adverse_events", ())
    lots = get("lots", ())
    return sc.SessionCheckInput(
        now=now, timezone=tz, screening=None if screening is None else _screening(screening),
        record_changed_at=_opt_datetime(get("record_changed_at"), "record_changed_at"),
        plan=None if plan is None else _plan(plan),
        consent=None if consent is None else _consent(consent),
        allergy_test=None if allergy_test is None else _allergy_test(allergy_test),
        workup=None if workup is None else _workup(workup),
        cream_applied_at=_opt_datetime(get("cream_applied_at"), "cream_applied_at"),
        performer=_performer(performer),
        clinic_licence=None if licence is None else _clinic_licence(licence),
        open_adverse_events=tuple([_event(raw, "open_adverse_events", i)
                                   for i, raw in enumerate(_list(events, "open_adverse_events"))])
        if events != () else (),
        lots=tuple([_lot(raw, "lots", i) for i, raw in enumerate(_list(lots, "lots"))])
        if lots != () else ())


def to_json(result: sc.SessionCheckResult) -> dict[str, Any]:
    """The contract's output: ready, and every blocking item in English, in the contract's order."""
    blocking = []
    for item in result.blocking:
        message, fix = item.english()
        blocking.append({"code": item.code, "message": message, "fix": fix})
    return {"ready": result.ready, "blocking": blocking}


def session_check_json(data: object) -> dict[str, Any]:
    """The whole contract: decoded JSON in, output JSON out (ContractError for bad input)."""
    return to_json(sc.check(parse(data)))
