"""The screening contract: strict input parsing and the exact output shape (issue 3, section 3)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from mesoclinic.knowledge.pack import load_pack
from mesoclinic.screening.contract import (
    MAX_ITEMS,
    MAX_TEXT,
    InvalidIntake,
    decision_to_json,
    parse_intake,
    screen_json,
)
from mesoclinic.screening.rules import (
    Allergy,
    AllergyTest,
    Cancer,
    Diabetes,
    Medication,
    Sex,
    Workup,
    screen,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MSK = timezone(timedelta(hours=3))


def example_input() -> dict[str, Any]:
    """The example input from issue 3, as decoded JSON."""
    return {
        "as_of": "2026-11-25T09:00:00+03:00",
        "patient": {
            "birth_date": "1990-04-02",
            "sex": "female",
            "pregnant": False,
            "breastfeeding": False,
            "diabetes": "none",
            "insulin": False,
            "cancer": "none",
            "multi_drug_therapy": False,
            "heart_disease": False,
            "stroke_history": False,
            "liver_disorder": False,
            "kidney_disorder": False,
            "medications": [{"name": "Aspirin", "atc": "N02BA01", "last_dose_on": None}],
            "allergies": [{"substance": "sodium hyaluronate"}],
        },
        "treatment": {
            "area": "face",
            "indication": "wrinkles",
            "technique": "point_by_point",
            "delivery": "needle",
            "ingredients": ["hyaluronic acid", "vitamin C"],
            "first_session_at": "2026-12-10T10:00:00+03:00",
        },
        "workup": {
            "physical_exam_on": None,
            "blood_test_on": None,
            "urine_test_on": None,
            "history_reviewed_on": None,
        },
        "allergy_test": {"performed_at": None, "reactive_to": []},
    }


def test_the_issue_example_parses_into_an_intake() -> None:
    intake = parse_intake(example_input(), now=NOW)
    assert intake.as_of == datetime(2026, 11, 25, 9, 0, tzinfo=MSK)
    assert intake.patient.birth_date == date(1990, 4, 2)
    assert intake.patient.sex is Sex.FEMALE
    assert intake.patient.diabetes is Diabetes.NONE
    assert intake.patient.cancer is Cancer.NONE
    assert intake.patient.medications == (Medication("Aspirin", "N02BA01", None),)
    assert intake.patient.allergies == (Allergy("sodium hyaluronate"),)
    assert intake.treatment.ingredients == ("hyaluronic acid", "vitamin C")
    assert intake.treatment.first_session_at == datetime(2026, 12, 10, 10, 0, tzinfo=MSK)
    assert intake.workup == Workup()
    assert intake.allergy_test == AllergyTest(None, ())


def test_the_issue_example_produces_the_documented_shape() -> None:
    output = screen_json(example_input(), now=NOW)
    assert list(output) == ["decision", "findings", "required_actions", "rules_version"]
    assert output["decision"] == "not_eligible"  # allergic to hyaluronic acid via its synonym
    assert output["rules_version"] == "engine-2+pack-2026.12.2"
    for finding in output["findings"]:
        assert {"code", "severity", "fact", "message"} <= set(finding)
        assert set(finding) <= {"code", "severity", "fact", "message", "field"}
        assert finding["severity"] in {"block", "review", "condition", "missing", "info"}
        assert finding["fact"].startswith("F-")
        assert isinstance(finding["message"], str)
        assert finding["message"]
    for action in output["required_actions"]:
        assert {"code", "due_by", "message"} <= set(action)
    assert [(f["code"], f["severity"]) for f in output["findings"]] == [
        ("INGREDIENT_ALLERGY", "block"),
        ("ALLERGY_TEST_REQUIRED", "condition"),
        ("NSAID_WASHOUT", "condition"),
        ("WORKUP_REQUIRED", "condition"),
    ]
    assert [(a["code"], a["due_by"]) for a in output["required_actions"]] == [
        ("ALLERGY_TEST_REQUIRED", "2026-12-09T10:00:00+03:00"),
        ("NSAID_WASHOUT", "2026-12-03"),
        ("WORKUP_REQUIRED", None),
    ]


def test_without_the_allergy_the_example_is_eligible_with_conditions() -> None:
    data = example_input()
    data["patient"]["allergies"] = []
    output = screen_json(data, now=NOW)
    assert output["decision"] == "eligible_with_conditions"
    nsaid = next(f for f in output["findings"] if f["code"] == "NSAID_WASHOUT")
    assert nsaid == {
        "code": "NSAID_WASHOUT",
        "severity": "condition",
        "fact": "F-NSAID",
        "message": nsaid["message"],
        "field": "patient.medications[0]",
    }


def test_decision_to_json_matches_screen_json() -> None:
    intake = parse_intake(example_input(), now=NOW)
    assert decision_to_json(screen(intake, load_pack())) == screen_json(example_input(), now=NOW)


def test_as_of_defaults_to_now() -> None:
    data = example_input()
    del data["as_of"]
    assert parse_intake(data, now=NOW).as_of == NOW
    data["as_of"] = None
    assert parse_intake(data, now=NOW).as_of == NOW


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_intake(example_input(), now=datetime(2026, 1, 1))  # noqa: DTZ001


def test_a_minimal_input_is_incomplete_not_eligible() -> None:
    data = {
        "patient": {"birth_date": "1990-04-02", "sex": "male"},
        "treatment": example_input()["treatment"],
    }
    intake = parse_intake(data, now=NOW)
    assert intake.patient.pregnant is None
    assert intake.patient.medications is None
    assert intake.workup == Workup()
    assert intake.allergy_test is None
    assert screen_json(data, now=NOW)["decision"] == "incomplete"


@pytest.mark.parametrize(
    "value",
    ["2026-12-10T10:00:00Z", "2026-12-10T10:00+03:00", "2026-12-10 10:00:00.5-05:00"],
)
def test_accepted_datetime_forms(value: str) -> None:
    data = example_input()
    data["treatment"]["first_session_at"] = value
    assert parse_intake(data, now=NOW).treatment.first_session_at.tzinfo is not None


def test_codes_are_exact_and_text_is_stripped() -> None:
    data = example_input()
    data["patient"]["medications"][0]["atc"] = "n02ba01"
    data["treatment"]["ingredients"] = ["  vitamin C "]
    intake = parse_intake(data, now=NOW)
    assert intake.patient.medications is not None
    assert intake.patient.medications[0].atc == "N02BA01"
    assert intake.treatment.ingredients == ("vitamin C",)


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """Set (or with value ... delete) a dotted path such as patient.medications.0.name."""
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is ...:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value


INVALID: list[tuple[str, Any, str, str | None]] = [
    # path to change, new value (... deletes), field named, message fragment
    ("patient.birth_date", ..., "patient.birth_date", "missing required field"),
    ("patient.birth_date", "1990-4-2", "patient.birth_date", "not a date (expected YYYY-MM-DD)"),
    ("patient.birth_date", "1990-02-30", "patient.birth_date", "not a valid date"),
    ("patient.birth_date", "19900402", "patient.birth_date", "not a date"),
    ("patient.birth_date", 19900402, "patient.birth_date", "not a date"),
    ("patient.birth_date", None, "patient.birth_date", "not a date"),
    ("patient.birth_date", "1850-01-01", "patient.birth_date", "out of range"),
    ("patient.sex", ..., "patient.sex", "missing required field"),
    ("patient.sex", "f", "patient.sex", "unknown value 'f'"),
    ("patient.sex", None, "patient.sex", "expected one of female, male, other"),
    ("patient.pregnant", "no", "patient.pregnant", "expected true, false or null"),
    ("patient.breastfeeding", 0, "patient.breastfeeding", "expected true, false or null"),
    ("patient.diabetes", "type3", "patient.diabetes", "unknown value 'type3'"),
    ("patient.diabetes", True, "patient.diabetes", "expected one of none, type1"),
    ("patient.insulin", 1, "patient.insulin", "expected true, false or null"),
    ("patient.cancer", "cured", "patient.cancer", "unknown value 'cured'"),
    ("patient.heart_disease", "false", "patient.heart_disease", "expected true, false or null"),
    ("patient.shoe_size", 42, "patient.shoe_size", "unknown field"),
    ("patient.medications", {"name": "x"}, "patient.medications", "expected a list or null"),
    ("patient.medications.0.name", ..., "patient.medications[0].name", "missing required"),
    ("patient.medications.0.name", "", "patient.medications[0].name", "must not be empty"),
    ("patient.medications.0.name", "   ", "patient.medications[0].name", "must not be empty"),
    ("patient.medications.0.name", 5, "patient.medications[0].name", "expected a string"),
    ("patient.medications.0.name", "x" * (MAX_TEXT + 1), "patient.medications[0].name", "longer"),
    ("patient.medications.0.atc", "N2", "patient.medications[0].atc", "not an ATC code"),
    ("patient.medications.0.dose", "1 g", "patient.medications[0].dose", "unknown field"),
    (
        "patient.medications.0.last_dose_on",
        "yesterday",
        "patient.medications[0].last_dose_on",
        "not a date",
    ),
    ("patient.medications.0", "aspirin", "patient.medications[0]", "expected an object"),
    ("patient.allergies.0.substance", ..., "patient.allergies[0].substance", "missing required"),
    ("patient.allergies.0.reaction", "rash", "patient.allergies[0].reaction", "unknown field"),
    ("patient.allergies", "none", "patient.allergies", "expected a list or null"),
    ("patient", ..., "patient", "missing required field"),
    ("patient", [], "patient", "expected an object"),
    ("treatment", ..., "treatment", "missing required field"),
    ("treatment.first_session_at", ..., "treatment.first_session_at", "missing required field"),
    (
        "treatment.first_session_at",
        "2026-12-10T10:00:00",
        "treatment.first_session_at",
        "with a UTC offset",
    ),
    ("treatment.first_session_at", "2026-12-10", "treatment.first_session_at", "not a date-time"),
    (
        "treatment.first_session_at",
        "2026-13-10T10:00:00+03:00",
        "treatment.first_session_at",
        "not a valid date-time",
    ),
    ("treatment.area", "elbow", "treatment.area", "unknown area 'elbow'"),
    ("treatment.area", "abdomen", "treatment.area", "unknown area"),
    ("treatment.area", ..., "treatment.area", "missing required field"),
    ("treatment.indication", "tattoo_removal", "treatment.indication", "unknown indication"),
    ("treatment.indication", "Wrinkles", "treatment.indication", "unknown indication"),
    ("treatment.indication", ..., "treatment.indication", "missing required field"),
    ("treatment.technique", "spray", "treatment.technique", "unknown technique"),
    ("treatment.technique", ..., "treatment.technique", "missing required field"),
    ("treatment.delivery", "laser", "treatment.delivery", "unknown delivery"),
    ("treatment.delivery", ..., "treatment.delivery", "missing required field"),
    ("treatment.ingredients", ..., "treatment.ingredients", "missing required field"),
    ("treatment.ingredients", [], "treatment.ingredients", "at least 1 entry"),
    ("treatment.ingredients", "vitamin C", "treatment.ingredients", "expected a list"),
    ("treatment.ingredients", None, "treatment.ingredients", "expected a list"),
    ("treatment.ingredients.1", 3, "treatment.ingredients[1]", "expected a string"),
    # issue 7: ingredients are catalogue entries; indications belong to their area; ATC codes
    # are real; allergy_test.tested is an optional list of names
    ("treatment.ingredients.1", "unicorn extract", "treatment.ingredients[1]",
     "unknown ingredient 'unicorn extract'"),
    ("treatment.ingredients.0", "bee pollen", "treatment.ingredients[0]", "unknown ingredient"),
    ("treatment.indication", "dark_circles", "treatment.indication", None),
    ("treatment.indication", "hair_loss", "treatment.indication",
     "'hair_loss' is not treated on the face (it applies to: scalp)"),
    ("treatment.indication", "ringworm", "treatment.indication", "unknown indication"),
    ("patient.medications.0.atc", "X01AB01", "patient.medications[0].atc", "not an ATC code"),
    ("patient.medications.0.atc", "Q", "patient.medications[0].atc", "not an ATC code"),
    ("allergy_test.tested", "HA", "allergy_test.tested", "expected a list or null"),
    ("allergy_test.tested", [3], "allergy_test.tested[0]", "expected a string"),
    ("allergy_test.tested", [" "], "allergy_test.tested[0]", "must not be empty"),
    ("treatment.price", 100, "treatment.price", "unknown field"),
    ("workup.physical_exam_on", "soon", "workup.physical_exam_on", "not a date"),
    ("workup.xray_on", None, "workup.xray_on", "unknown field"),
    ("workup", "done", "workup", "expected an object"),
    ("allergy_test.performed_at", "2026-12-01", "allergy_test.performed_at", "not a date-time"),
    ("allergy_test.reactive_to", "HA", "allergy_test.reactive_to", "expected a list or null"),
    ("allergy_test.reactive_to", [""], "allergy_test.reactive_to[0]", "must not be empty"),
    ("allergy_test.result", "ok", "allergy_test.result", "unknown field"),
    ("as_of", "2026-11-25T09:00:00", "as_of", "with a UTC offset"),
    ("as_of", 1764050400, "as_of", "not a date-time"),
    ("surprise", True, "surprise", "unknown field"),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    INVALID,
    ids=[f"{case[0]}={case[1]!r}"[:60] for case in INVALID],
)
def test_invalid_input_names_the_field(
    path: str, value: Any, field: str, message: str | None
) -> None:
    data = copy.deepcopy(example_input())
    _set(data, path, value)
    if message is None:  # valid on its own: dark circles on the face; now put it on the scalp
        data["treatment"]["area"] = "scalp"
        message = "'dark_circles' is not treated on the scalp (it applies to: face)"
    with pytest.raises(InvalidIntake) as caught:
        parse_intake(data, now=NOW)
    assert caught.value.field == field
    assert message in caught.value.message
    assert str(caught.value) == f"{field}: {caught.value.message}"


@pytest.mark.parametrize("document", [None, [], "text", 3, True])
def test_the_document_must_be_an_object(document: Any) -> None:
    with pytest.raises(InvalidIntake) as caught:
        parse_intake(document, now=NOW)
    assert caught.value.field == "input"


def test_allergy_test_tested_is_optional_and_parsed() -> None:
    data = example_input()
    assert parse_intake(data, now=NOW).allergy_test == AllergyTest(None, (), None)
    data["allergy_test"] = {
        "performed_at": "2026-11-24T09:00:00+03:00",
        "reactive_to": [],
        "tested": ["sodium hyaluronate", "vitamin C"],
    }
    intake = parse_intake(data, now=NOW)
    assert intake.allergy_test == AllergyTest(
        datetime(2026, 11, 24, 9, 0, tzinfo=MSK), (), ("sodium hyaluronate", "vitamin C")
    )


def test_ingredients_are_kept_as_written_when_they_resolve() -> None:
    data = example_input()
    data["treatment"]["ingredients"] = ["Hyaluronsäure 2%", "EMLA Creme"]
    assert parse_intake(data, now=NOW).treatment.ingredients == ("Hyaluronsäure 2%", "EMLA Creme")


def test_lists_are_bounded() -> None:
    data = example_input()
    data["patient"]["allergies"] = [{"substance": f"s{i}"} for i in range(MAX_ITEMS + 1)]
    with pytest.raises(InvalidIntake, match=r"patient\.allergies: more than 100 entries"):
        parse_intake(data, now=NOW)


def test_unknown_enum_value_is_not_echoed_at_length() -> None:
    data = example_input()
    data["patient"]["sex"] = "x" * 10_000
    with pytest.raises(InvalidIntake) as caught:
        parse_intake(data, now=NOW)
    assert len(str(caught.value)) < 400
