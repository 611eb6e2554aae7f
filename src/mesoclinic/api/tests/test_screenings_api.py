"""The screening contract over HTTP (POST /api/v1/screenings) and through the console script."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from conftest import Cast
from django.test import Client

from mesoclinic.audit.models import AuditEvent
from mesoclinic.screening.cli import run

URL = "/api/v1/screenings"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOP_KEYS = ["decision", "findings", "required_actions", "rules_version"]
FINDING_KEYS = {"code", "severity", "fact", "message"}
OPTIONAL_KEYS = {"field"}
CONSOLE_SCRIPT = Path(sys.executable).parent / "mesoclinic"


def issue_example() -> dict[str, Any]:
    """The example input of issue 3; as_of is fixed and the session lies after it."""
    return {
        "as_of": "2026-11-25T09:00:00+03:00",
        "patient": {
            "birth_date": "1990-04-02", "sex": "female",
            "pregnant": False, "breastfeeding": False, "diabetes": "none", "insulin": False,
            "cancer": "none", "multi_drug_therapy": False, "heart_disease": False,
            "stroke_history": False, "liver_disorder": False, "kidney_disorder": False,
            "medications": [{"name": "Aspirin", "atc": "N02BA01", "last_dose_on": None}],
            "allergies": [{"substance": "sodium hyaluronate"}],
        },
        "treatment": {
            "area": "face", "indication": "wrinkles", "technique": "point_by_point",
            "delivery": "needle", "ingredients": ["hyaluronic acid", "vitamin C"],
            "first_session_at": "2026-12-10T10:00:00+03:00",
        },
        "workup": {"physical_exam_on": None, "blood_test_on": None, "urine_test_on": None,
                   "history_reviewed_on": None},
        "allergy_test": {"performed_at": None, "reactive_to": []},
    }


def without_allergy() -> dict[str, Any]:
    data = issue_example()
    data["patient"]["allergies"] = []
    return data


def changed(path: str, value: Any = None, *, delete: bool = False) -> dict[str, Any]:
    """The example with one dotted path set (or deleted)."""
    data = issue_example()
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if delete:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def post(cast: Cast, body: Any, *, token: str | None = None, raw: bool = False) -> Any:
    headers = {"Authorization": f"Bearer {token or cast.write_token}"}
    content = body if raw else json.dumps(body)
    return Client().post(URL, content, content_type="application/json", headers=headers)


def cli(data: Any) -> tuple[int, str, str]:
    stdin, stdout, stderr = io.StringIO(json.dumps(data)), io.StringIO(), io.StringIO()
    status = run(["-"], stdin, stdout, stderr, now=NOW)
    return status, stdout.getvalue(), stderr.getvalue()


# --- the output contract --------------------------------------------------------------------------

def test_the_issue_example_gets_exactly_the_contract_output(cast: Cast) -> None:
    response = post(cast, issue_example())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    output = response.json()
    assert list(output) == TOP_KEYS
    assert output["decision"] == "not_eligible"
    assert output["rules_version"] == "engine-2+pack-2026.12.2"
    for finding in output["findings"]:
        assert FINDING_KEYS <= set(finding) <= FINDING_KEYS | OPTIONAL_KEYS
    for action in output["required_actions"]:
        assert {"code", "due_by", "message"} <= set(action) <= {"code", "due_by", "message", "field"}
    assert [(f["code"], f["severity"], f["fact"]) for f in output["findings"]] == [
        ("INGREDIENT_ALLERGY", "block", "F-ALLERGY-TEST"),
        ("ALLERGY_TEST_REQUIRED", "condition", "F-ALLERGY-TEST"),
        ("NSAID_WASHOUT", "condition", "F-NSAID"),
        ("WORKUP_REQUIRED", "condition", "F-WORKUP"),
    ]
    due = {a["code"]: a["due_by"] for a in output["required_actions"]}
    assert due["NSAID_WASHOUT"] == "2026-12-03"
    assert due["ALLERGY_TEST_REQUIRED"] == "2026-12-09T10:00:00+03:00"


def test_without_the_allergy_the_example_is_eligible_with_conditions(cast: Cast) -> None:
    output = post(cast, without_allergy()).json()
    assert output["decision"] == "eligible_with_conditions"
    assert "INGREDIENT_ALLERGY" not in [f["code"] for f in output["findings"]]


def test_as_of_defaults_to_now(cast: Cast) -> None:
    data = without_allergy()
    del data["as_of"]
    data["allergy_test"] = None
    data["treatment"]["first_session_at"] = "2026-11-26T10:00:00+03:00"
    output = post(cast, data).json()
    findings = {f["code"]: f["severity"] for f in output["findings"]}
    # Measured from now (2026-11-20), not from the example's as_of (2026-11-25):
    # the last allowed aspirin dose (2026-11-19) has passed, so the session must move...
    assert findings["NSAID_WASHOUT"] == "block"
    # ...while the allergy test is still possible (due 2026-11-25T10:00+03:00).
    assert findings["ALLERGY_TEST_REQUIRED"] == "condition"


def test_a_read_token_may_screen_and_the_call_is_audited(cast: Cast) -> None:
    response = post(cast, issue_example(), token=cast.read_token)
    assert response.status_code == 200
    event = AuditEvent.objects.get(object_type="screening")
    assert (event.action, event.via, event.username) == ("create", "api", "token:reader")
    assert event.clinic_id == str(cast.clinic.public_id)
    assert event.detail == "decision=not_eligible"
    assert event.patient_id == ""  # an intake, not a stored patient


# --- invalid input --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ('{"as_of": NaN}', "body"),
        ("", "body"),
        ("[]", "input"),
        (json.dumps({**issue_example(), "colour": "blue"}), "colour"),
        (json.dumps(changed("patient.favourite_food", "pizza")), "patient.favourite_food"),
        (json.dumps(changed("treatment.indication", "tattoo_removal")), "treatment.indication"),
        (json.dumps(changed("treatment.area", "elbow")), "treatment.area"),
        (json.dumps(changed("patient.birth_date", "02/04/1990")), "patient.birth_date"),
        (json.dumps(changed("patient.birth_date", "1990-02-30")), "patient.birth_date"),
        (json.dumps(changed("treatment.first_session_at", "2026-12-10T10:00:00")),
         "treatment.first_session_at"),
        (json.dumps(changed("as_of", "tomorrow")), "as_of"),
        (json.dumps(changed("patient.birth_date", delete=True)), "patient.birth_date"),
        (json.dumps(changed("treatment.first_session_at", delete=True)),
         "treatment.first_session_at"),
        (json.dumps(changed("patient.pregnant", "maybe")), "patient.pregnant"),
        (json.dumps(changed("patient.sex", "unknown")), "patient.sex"),
    ],
    ids=["not-json", "nan", "empty", "not-an-object", "unknown-top-field", "unknown-patient-field",
         "unknown-indication", "unknown-area", "malformed-birth-date", "impossible-birth-date",
         "session-without-offset", "malformed-as-of", "missing-birth-date",
         "missing-first-session", "pregnant-not-boolean", "unknown-sex"],
)
def test_invalid_input_is_422_naming_the_field(cast: Cast, body: str, field: str) -> None:
    response = post(cast, body, raw=True)
    assert response.status_code == 422
    error = response.json()
    assert set(error) == {"error", "field"}
    assert error["field"] == field
    assert error["error"].startswith(f"{field}: ")
    assert AuditEvent.objects.filter(object_type="screening").count() == 0


def test_missing_birth_date_says_it_is_required(cast: Cast) -> None:
    error = post(cast, changed("patient.birth_date", delete=True)).json()
    assert error == {"error": "patient.birth_date: missing required field",
                     "field": "patient.birth_date"}


def test_a_repeated_key_is_refused_as_the_cli_refuses_it(cast: Cast) -> None:
    body = json.dumps(without_allergy())[:-1] + ', "as_of": "2026-11-26T09:00:00+03:00"}'
    response = post(cast, body, raw=True)
    assert response.status_code == 422
    assert response.json()["field"] == "body"
    assert "duplicate field 'as_of'" in response.json()["error"]


def test_deeply_nested_json_is_refused_not_a_server_error(cast: Cast) -> None:
    response = post(cast, "[" * 100_000 + "]" * 100_000, raw=True)
    assert response.status_code == 422
    assert response.json()["field"] == "body"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer mc_not-a-real-token"}, {"Authorization": "Token abc"}],
    ids=["no-token", "unknown-token", "wrong-scheme"],
)
def test_a_call_without_a_valid_token_is_401(cast: Cast, headers: dict[str, str]) -> None:
    response = Client().post(URL, json.dumps(issue_example()), content_type="application/json",
                             headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "a valid bearer token is required", "field": None}
    assert "decision" not in response.content.decode()
    assert AuditEvent.objects.filter(object_type="screening").count() == 0


def test_get_is_not_allowed(cast: Cast) -> None:
    response = Client().get(URL, headers={"Authorization": f"Bearer {cast.write_token}"})
    assert response.status_code == 405


# --- the API and the CLI agree ----------------------------------------------------------------------

SAME_INPUTS = {
    "issue-example": issue_example(),
    "no-allergy": without_allergy(),
    "pregnant-unknown": changed("patient.pregnant", None),
    "male-without-pregnancy": {**changed("patient.sex", "male"), "patient": {
        **{k: v for k, v in issue_example()["patient"].items()
           if k not in ("pregnant", "breastfeeding")}, "sex": "male"}},
    "fat-needle-free": {**issue_example(), "treatment": {
        **issue_example()["treatment"], "indication": "regional_fat", "area": "body",
        "delivery": "needle_free"}},
    "heart-disease": changed("patient.heart_disease", True),
}


@pytest.mark.parametrize("data", list(SAME_INPUTS.values()), ids=list(SAME_INPUTS))
def test_the_api_and_the_cli_give_identical_output(cast: Cast, data: dict[str, Any]) -> None:
    response = post(cast, data)
    status, out, err = cli(copy.deepcopy(data))
    assert (response.status_code, status, err) == (200, 0, "")
    assert response.json() == json.loads(out)


@pytest.mark.parametrize(
    "data",
    [changed("treatment.indication", "tattoo_removal"), changed("patient.birth_date", delete=True),
     {**issue_example(), "colour": "blue"}],
    ids=["unknown-indication", "missing-birth-date", "unknown-field"],
)
def test_the_api_and_the_cli_name_the_same_field(cast: Cast, data: dict[str, Any]) -> None:
    response = post(cast, data)
    status, out, err = cli(data)
    assert (response.status_code, status, out) == (422, 2, "")
    assert err == f"error: {response.json()['error']}\n"


# --- the real console script ------------------------------------------------------------------------

def console(stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(  # noqa: S603 (our own console script, fixed arguments)
        [str(CONSOLE_SCRIPT), "screen", "-"], input=stdin, capture_output=True, text=True,
        timeout=60, check=False, env=env,
    )


def test_the_console_script_prints_the_decision_and_exits_0() -> None:
    assert CONSOLE_SCRIPT.exists()
    result = console(json.dumps(issue_example()))
    assert (result.returncode, result.stderr) == (0, "")
    output = json.loads(result.stdout)
    assert list(output) == TOP_KEYS
    assert output["decision"] == "not_eligible"
    status, out, _ = cli(issue_example())
    assert status == 0
    assert output == json.loads(out)  # as_of is in the input, so "now" does not matter


def test_the_console_script_refuses_invalid_input_with_one_line_and_exit_2() -> None:
    result = console(json.dumps(changed("treatment.first_session_at", delete=True)))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: treatment.first_session_at: ")


def test_the_documented_example_intake_screens_as_the_contract_says(cast) -> None:
    from django.test import Client

    schema = Client().get("/api/v1/openapi.json").json()
    body = schema["paths"]["/api/v1/screenings"]["post"]["requestBody"]["content"][
        "application/json"]["example"]
    response = Client().post("/api/v1/screenings", body, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {cast.read_token}")
    assert response.status_code == 200
    codes = {f["code"]: f["severity"] for f in response.json()["findings"]}
    assert codes == {"NSAID_WASHOUT": "condition", "ALLERGY_TEST_REQUIRED": "condition",
                     "WORKUP_REQUIRED": "condition"}
    assert response.json()["decision"] == "eligible_with_conditions"


# --- issue 7 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("treatment.ingredients", ["hyaluronic acid", "unicorn extract"], "treatment.ingredients[1]"),
        ("treatment.area", "scalp", "treatment.indication"),
        ("allergy_test.tested", "all", "allergy_test.tested"),
    ],
)
def test_issue_7_bad_input_is_422_naming_the_field(
    cast: Cast, path: str, value: Any, field: str
) -> None:
    response = post(cast, changed(path, value))
    assert response.status_code == 422
    body = response.json()
    assert list(body) == ["error", "field"]
    assert body["field"] == field
    assert body["error"].startswith(f"{field}: ")


@pytest.mark.django_db
def test_as_of_defaults_to_now_in_the_token_clinics_zone(cast: Cast) -> None:
    # 22:30 UTC on 3 Dec is 01:30 on 4 Dec in Istanbul: the last day to stop aspirin
    # (3 Dec, 7 days before the session on the 10th) has passed: a block, not "stop by".
    cast.clinic.timezone = "Europe/Istanbul"
    cast.clinic.save(update_fields=["timezone"])
    data = changed("as_of", delete=True)
    data["patient"]["allergies"] = []
    with time_machine.travel(datetime(2026, 12, 3, 22, 30, tzinfo=UTC), tick=False):
        output = post(cast, data).json()
    washout = [f for f in output["findings"] if f["code"] == "NSAID_WASHOUT"]
    assert [f["severity"] for f in washout] == ["block"]
