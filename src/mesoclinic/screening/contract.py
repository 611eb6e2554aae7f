"""The screening contract: strict parsing of the JSON input and the JSON shape of a decision.

Shared by `mesoclinic screen` and `POST /api/v1/screenings`. Pure Python, no Django. Invalid input
raises `InvalidIntake(field, message)` where field is a dotted path such as
"patient.medications[0].name".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from mesoclinic.knowledge.pack import ATC_MAIN_GROUPS, KnowledgePack, load_pack
from mesoclinic.screening.rules import (
    Allergy,
    AllergyTest,
    Cancer,
    Decision,
    Diabetes,
    Intake,
    Medication,
    Patient,
    Sex,
    Treatment,
    Workup,
    screen,
)

MAX_TEXT = 200  # characters in a name, substance or code
MAX_ITEMS = 100  # entries in any list
MIN_YEAR, MAX_YEAR = 1900, 2999  # dates outside this are typos, and keep date arithmetic safe
ROOT = "input"  # the field named when the whole document is wrong

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})$"
)
_ATC_RE = re.compile(r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$")

_E = TypeVar("_E", Sex, Diabetes, Cancer)
_T = TypeVar("_T")


class InvalidIntake(ValueError):
    """The input does not follow the contract; `field` names where, `message` says what."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def _path(parent: str, key: str) -> str:
    """Join a dotted path."""
    return f"{parent}.{key}" if parent else key


def _kind(value: object) -> str:
    """A JSON-ish name for the type of a value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _object(value: object, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    """An object with only `allowed` keys."""
    if not isinstance(value, dict):
        raise InvalidIntake(path or ROOT, f"expected an object, got {_kind(value)}")
    for key in value:
        if key not in allowed:
            raise InvalidIntake(_path(path, str(key)), "unknown field")
    return value


def _required(data: Mapping[str, Any], key: str, path: str = "") -> object:
    """The value of a field that must be present (null is then rejected by its parser)."""
    if key not in data:
        raise InvalidIntake(_path(path, key), "missing required field")
    return data[key]


def _text(value: object, path: str) -> str:
    """A non-blank string of at most MAX_TEXT characters, stripped."""
    if not isinstance(value, str):
        raise InvalidIntake(path, f"expected a string, got {_kind(value)}")
    if len(value) > MAX_TEXT:
        raise InvalidIntake(path, f"longer than {MAX_TEXT} characters")
    stripped = value.strip()
    if not stripped:
        raise InvalidIntake(path, "must not be empty")
    return stripped


def _opt_bool(data: Mapping[str, Any], key: str, path: str) -> bool | None:
    """true, false, or null/absent (unknown)."""
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidIntake(_path(path, key), f"expected true, false or null, got {_kind(value)}")


def _enum(value: object, path: str, enum: type[_E]) -> _E:
    """A value of a string enum."""
    choices = ", ".join(e.value for e in enum)
    if not isinstance(value, str):
        raise InvalidIntake(path, f"expected one of {choices}, got {_kind(value)}")
    try:
        return enum(value)
    except ValueError:
        raise InvalidIntake(
            path, f"unknown value {value[:MAX_TEXT]!r} (expected one of {choices})"
        ) from None


def _opt_enum(data: Mapping[str, Any], key: str, path: str, enum: type[_E]) -> _E | None:
    """An enum value, or null/absent (unknown)."""
    value = data.get(key)
    return None if value is None else _enum(value, _path(path, key), enum)


def _year_in_range(value: date, path: str) -> None:
    """Reject dates outside MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidIntake(path, f"year {value.year} is out of range ({MIN_YEAR}-{MAX_YEAR})")


def _date(value: object, path: str) -> date:
    """A calendar date written YYYY-MM-DD."""
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise InvalidIntake(path, "not a date (expected YYYY-MM-DD)")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidIntake(path, f"not a valid date: {value}") from None
    _year_in_range(parsed, path)
    return parsed


def _opt_date(data: Mapping[str, Any], key: str, path: str) -> date | None:
    """A date, or null/absent."""
    value = data.get(key)
    return None if value is None else _date(value, _path(path, key))


def _datetime(value: object, path: str) -> datetime:
    """An ISO 8601 date-time that carries a UTC offset."""
    expected = "expected a date-time with a UTC offset, e.g. 2026-12-10T10:00:00+03:00"
    if not isinstance(value, str) or not _DATETIME_RE.match(value):
        raise InvalidIntake(path, f"not a date-time ({expected})")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidIntake(path, f"not a valid date-time: {value}") from None
    if parsed.tzinfo is None:  # pragma: no cover - the pattern requires an offset
        raise InvalidIntake(path, f"no UTC offset ({expected})")
    _year_in_range(parsed, path)
    return parsed


def _list(value: object, path: str, *, nullable: bool, min_items: int = 0) -> list[Any] | None:
    """A JSON list of at most MAX_ITEMS entries (or null when nullable)."""
    if value is None and nullable:
        return None
    if not isinstance(value, list):
        expected = "a list or null" if nullable else "a list"
        raise InvalidIntake(path, f"expected {expected}, got {_kind(value)}")
    if len(value) > MAX_ITEMS:
        raise InvalidIntake(path, f"more than {MAX_ITEMS} entries")
    if len(value) < min_items:
        raise InvalidIntake(
            path, f"must have at least {min_items} entr{'y' if min_items == 1 else 'ies'}"
        )
    return value


def _code(value: object, path: str, known: Mapping[str, object] | frozenset[str], what: str) -> str:
    """A knowledge-pack code."""
    if not isinstance(value, str):
        raise InvalidIntake(path, f"expected a {what} code, got {_kind(value)}")
    if value not in known:
        choices = ", ".join(sorted(known))
        raise InvalidIntake(
            path, f"unknown {what} {value[:MAX_TEXT]!r} (expected one of {choices})"
        )
    return value


def _medication(value: object, path: str) -> Medication:
    """One entry of patient.medications."""
    data = _object(value, path, ("name", "atc", "last_dose_on"))
    name = _text(_required(data, "name", path), _path(path, "name"))
    atc = data.get("atc")
    if atc is not None:
        atc_path = _path(path, "atc")
        atc = _text(atc, atc_path).upper()
        if not _ATC_RE.match(atc) or atc[0] not in ATC_MAIN_GROUPS:
            raise InvalidIntake(
                atc_path,
                "not an ATC code (e.g. N02BA01; the first letter is one of "
                f"{', '.join(sorted(ATC_MAIN_GROUPS))})",
            )
    return Medication(name=name, atc=atc, last_dose_on=_opt_date(data, "last_dose_on", path))


def _allergy(value: object, path: str) -> Allergy:
    """One entry of patient.allergies."""
    data = _object(value, path, ("substance",))
    return Allergy(substance=_text(_required(data, "substance", path), _path(path, "substance")))


def _items(value: object, path: str, parse: Callable[[object, str], _T]) -> tuple[_T, ...] | None:
    """A nullable list parsed item by item."""
    items = _list(value, path, nullable=True)
    if items is None:
        return None
    return tuple(parse(item, f"{path}[{i}]") for i, item in enumerate(items))


_PATIENT_FIELDS = (
    "birth_date",
    "sex",
    "pregnant",
    "breastfeeding",
    "diabetes",
    "insulin",
    "cancer",
    "multi_drug_therapy",
    "heart_disease",
    "stroke_history",
    "liver_disorder",
    "kidney_disorder",
    "medications",
    "allergies",
)


def _patient(value: object) -> Patient:
    """The patient object."""
    path = "patient"
    data = _object(value, path, _PATIENT_FIELDS)
    return Patient(
        birth_date=_date(_required(data, "birth_date", path), "patient.birth_date"),
        sex=_enum(_required(data, "sex", path), "patient.sex", Sex),
        pregnant=_opt_bool(data, "pregnant", path),
        breastfeeding=_opt_bool(data, "breastfeeding", path),
        diabetes=_opt_enum(data, "diabetes", path, Diabetes),
        insulin=_opt_bool(data, "insulin", path),
        cancer=_opt_enum(data, "cancer", path, Cancer),
        multi_drug_therapy=_opt_bool(data, "multi_drug_therapy", path),
        heart_disease=_opt_bool(data, "heart_disease", path),
        stroke_history=_opt_bool(data, "stroke_history", path),
        liver_disorder=_opt_bool(data, "liver_disorder", path),
        kidney_disorder=_opt_bool(data, "kidney_disorder", path),
        medications=_items(data.get("medications"), "patient.medications", _medication),
        allergies=_items(data.get("allergies"), "patient.allergies", _allergy),
    )


def _ingredient(value: object, path: str, pack: KnowledgePack) -> str:
    """An ingredient of the catalogue, by name or synonym (kept as written); unknown is invalid."""
    name = _text(value, path)
    if pack.resolve_ingredient(name) is None:
        raise InvalidIntake(
            path,
            f"unknown ingredient {name!r}: not in the knowledge pack's ingredient catalogue "
            "(use its name or a synonym)",
        )
    return name


_TREATMENT_FIELDS = (
    "area",
    "indication",
    "technique",
    "delivery",
    "ingredients",
    "first_session_at",
)


def _treatment(value: object, pack: KnowledgePack) -> Treatment:
    """The treatment object; codes are checked against the knowledge pack."""
    path = "treatment"
    data = _object(value, path, _TREATMENT_FIELDS)

    def need(key: str) -> object:
        return _required(data, key, path)

    area = _code(need("area"), "treatment.area", pack.top_level_areas, "area")
    indication = _code(need("indication"), "treatment.indication", pack.indications, "indication")
    applies_to = pack.indications[indication].areas
    if area not in applies_to:
        raise InvalidIntake(
            "treatment.indication",
            f"{indication!r} is not treated on the {area} (it applies to: {', '.join(applies_to)})",
        )
    technique = _code(need("technique"), "treatment.technique", pack.techniques, "technique")
    delivery = _code(need("delivery"), "treatment.delivery", pack.deliveries, "delivery")
    items = _list(need("ingredients"), "treatment.ingredients", nullable=False, min_items=1)
    ingredients = tuple(
        _ingredient(item, f"treatment.ingredients[{i}]", pack) for i, item in enumerate(items or ())
    )
    return Treatment(
        area=area,
        indication=indication,
        technique=technique,
        delivery=delivery,
        ingredients=ingredients,
        first_session_at=_datetime(need("first_session_at"), "treatment.first_session_at"),
    )


_WORKUP_FIELDS = ("physical_exam_on", "blood_test_on", "urine_test_on", "history_reviewed_on")


def _workup(value: object) -> Workup:
    """The workup object; null or absent means nothing done yet."""
    if value is None:
        return Workup()
    data = _object(value, "workup", _WORKUP_FIELDS)
    return Workup(**{key: _opt_date(data, key, "workup") for key in _WORKUP_FIELDS})


def _allergy_test(value: object) -> AllergyTest | None:
    """The allergy-test object; null or absent means not done."""
    if value is None:
        return None
    path = "allergy_test"
    data = _object(value, path, ("performed_at", "reactive_to", "tested"))
    performed = data.get("performed_at")
    reactive = _list(data.get("reactive_to"), "allergy_test.reactive_to", nullable=True)
    tested = _list(data.get("tested"), "allergy_test.tested", nullable=True)
    return AllergyTest(
        tested=None
        if tested is None
        else tuple(_text(item, f"allergy_test.tested[{i}]") for i, item in enumerate(tested)),
        performed_at=None
        if performed is None
        else _datetime(performed, "allergy_test.performed_at"),
        reactive_to=None
        if reactive is None
        else tuple(
            _text(item, f"allergy_test.reactive_to[{i}]") for i, item in enumerate(reactive)
        ),
    )


def _reject_constant(name: str) -> Any:
    raise InvalidIntake(ROOT, f"not valid JSON ({name} is not allowed)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidIntake(ROOT, f"duplicate field {key!r}")
        result[key] = value
    return result


def decode_json(text: str) -> object:
    """Strict JSON for the contract: no NaN/Infinity, no repeated keys, bounded nesting."""
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise InvalidIntake(
            ROOT, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise InvalidIntake(ROOT, "nested too deeply") from exc


def parse_intake(data: object, *, now: datetime, pack: KnowledgePack | None = None) -> Intake:
    """Validate decoded JSON against the contract and build an Intake; as_of defaults to `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    pack = pack or load_pack()
    root = _object(data, "", ("as_of", "patient", "treatment", "workup", "allergy_test"))
    # Sections are checked in document order, so the first problem reported is the first one.
    patient = _patient(_required(root, "patient"))
    treatment = _treatment(_required(root, "treatment"), pack)
    as_of = root.get("as_of")
    return Intake(
        patient=patient,
        treatment=treatment,
        as_of=now if as_of is None else _datetime(as_of, "as_of"),
        workup=_workup(root.get("workup")),
        allergy_test=_allergy_test(root.get("allergy_test")),
    )


def _iso(value: date | datetime | None) -> str | None:
    """ISO 8601 text for a date or datetime (datetimes keep their offset)."""
    return None if value is None else value.isoformat()


def decision_to_json(decision: Decision) -> dict[str, Any]:
    """The contract's output shape; `field` is an optional extra on findings and actions."""
    return {
        "decision": decision.decision.value,
        "findings": [
            {
                "code": f.code,
                "severity": f.severity.value,
                "fact": f.fact,
                "message": f.message,
                "field": f.field,
            }
            for f in decision.findings
        ],
        "required_actions": [
            {"code": a.code, "due_by": _iso(a.due_by), "message": a.message, "field": a.field}
            for a in decision.required_actions
        ],
        "rules_version": decision.rules_version,
    }


def screen_json(
    data: object, *, now: datetime, pack: KnowledgePack | None = None
) -> dict[str, Any]:
    """Parse, screen and serialise in one call; raises InvalidIntake on bad input."""
    pack = pack or load_pack()
    return decision_to_json(screen(parse_intake(data, now=now, pack=pack), pack))
