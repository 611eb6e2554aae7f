"""The pre-session check engine: each code blocks when its item fails, at its exact boundary, in
the clinic's time zone, every failing code once and in the contract's order (no database)."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mesoclinic.charting import session_check as sc
from mesoclinic.charting.session_check_contract import parse, session_check_json, to_json

PHYSICIAN = [{"kind": k, "valid_from": "2020-01-01", "valid_until": "2030-12-31"}
             for k in ("medical_licence", "dermatology", "mesotherapy_training")]
NURSE = [{"kind": "nursing_licence", "valid_from": "2020-01-01", "valid_until": "2030-12-31"},
         {"kind": "mesotherapy_training", "valid_from": "2020-01-01", "valid_until": None}]


def example() -> dict[str, Any]:
    """The issue's example, verbatim except for the physician's three credentials."""
    return {
        "now": "2027-01-11T10:00:00+03:00", "timezone": "Europe/Istanbul",
        "screening": {"at": "2027-01-11T09:40:00+03:00", "decision": "eligible_with_conditions",
                      "open": [{"code": "NSAID_WASHOUT", "severity": "condition"}]},
        "record_changed_at": "2027-01-10T16:00:00+03:00",
        "plan": {"version": 2, "status": "active", "ingredients": ["hyaluronic_acid", "lidocaine"],
                 "uses_anaesthetic_cream": True, "approved_by_physician": True},
        "consent": {"plan_version": 2, "signed_at": "2027-01-04T11:00:00+03:00", "withdrawn_at": None},
        "allergy_test": {"at": "2027-01-09T10:00:00+03:00", "ingredients": ["hyaluronic_acid", "lidocaine"],
                         "reactions": []},
        "workup": {"signed_off_at": "2027-01-04T10:30:00+03:00"},
        "cream_applied_at": "2027-01-11T09:25:00+03:00",
        "performer": {"role": "physician", "credentials": copy.deepcopy(PHYSICIAN)},
        "clinic_licence": {"valid_from": "2024-01-01", "valid_until": "2027-12-31"},
        "open_adverse_events": [{"severity": "mild", "cleared": False}],
        "lots": [{"product": "hyaluronic_acid", "lot": "HA-2291", "expires": "2027-01-31",
                  "recalled": False, "available": 3, "needed": 1}],
    }


def ready() -> dict[str, Any]:
    """The example with its open NSAID wash-out met: nothing blocks."""
    data = example()
    data["screening"]["decision"] = "eligible"
    data["screening"]["open"] = []
    return data


def codes(data: dict[str, Any]) -> list[str]:
    return [b["code"] for b in session_check_json(data)["blocking"]]


def blocking(data: dict[str, Any], code: str) -> dict[str, str]:
    (entry,) = [b for b in session_check_json(data)["blocking"] if b["code"] == code]
    return entry


def changed(**sections: Any) -> dict[str, Any]:
    """The ready input with whole sections replaced."""
    return {**ready(), **sections}


def test_the_ready_input_is_ready_and_the_issues_example_holds_only_its_open_wash_out():
    assert session_check_json(ready()) == {"ready": True, "blocking": []}
    result = session_check_json(example())
    assert result["ready"] is False
    assert [b["code"] for b in result["blocking"]] == ["SCREENING_OPEN_ITEM"]
    assert set(result["blocking"][0]) == {"code", "message", "fix"}
    assert "NSAID_WASHOUT" in result["blocking"][0]["message"]
    assert "F-NSAID" in result["blocking"][0]["fix"]


# --- one test per code --------------------------------------------------------------------------

def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change to the ready input: "plan.status" = value."""
    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = data
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return apply


PER_CODE = [
    ("SCREENING_STALE", _set("screening", None)),
    ("SCREENING_BLOCKS", _set("screening.decision", "not_eligible")),
    ("SCREENING_INCOMPLETE", _set("screening.decision", "incomplete")),
    ("SCREENING_OPEN_ITEM", _set("screening.open", [{"code": "HEART_DISEASE", "severity": "review"}])),
    ("PLAN_NOT_ACTIVE", _set("plan.status", "accepted")),
    ("CONSENT_MISSING", _set("consent", None)),
    ("CONSENT_OUTDATED", _set("consent.plan_version", 1)),
    ("CONSENT_WITHDRAWN", _set("consent.withdrawn_at", "2027-01-10T12:00:00+03:00")),
    ("ALLERGY_TEST_MISSING", _set("allergy_test", None)),
    ("ALLERGY_TEST_TOO_RECENT", _set("allergy_test.at", "2027-01-10T11:00:00+03:00")),
    ("ALLERGY_TEST_INCOMPLETE", _set("allergy_test.ingredients", ["hyaluronic_acid"])),
    ("ALLERGY_TEST_REACTION", _set("allergy_test.reactions", ["lidocaine"])),
    ("WORKUP_NOT_SIGNED", _set("workup", None)),
    ("CREAM_NOT_APPLIED", _set("cream_applied_at", None)),
    ("CREAM_NOT_READY", _set("cream_applied_at", "2027-01-11T09:45:00+03:00")),
    ("PERFORMER_NOT_QUALIFIED", _set("performer.credentials", PHYSICIAN[:2])),
    ("CLINIC_NOT_LICENSED", _set("clinic_licence", None)),
    ("ADVERSE_EVENT_HOLD", _set("open_adverse_events", [{"severity": "moderate", "cleared": False}])),
    ("LOT_EXPIRED", _set("lots.0.expires", "2027-01-10")),
    ("LOT_RECALLED", _set("lots.0.recalled", True)),
    ("LOT_INSUFFICIENT", _set("lots.0.available", 0)),
]


def test_every_code_of_the_contract_has_its_test():
    assert [code for code, _ in PER_CODE] == list(sc.CODES)


@pytest.mark.parametrize(("code", "change"), PER_CODE, ids=[c for c, _ in PER_CODE])
def test_each_code_blocks_on_its_own(code, change):
    data = ready()
    change(data)
    result = session_check_json(data)
    assert result["ready"] is False
    assert [b["code"] for b in result["blocking"]] == [code]
    message, fix = result["blocking"][0]["message"], result["blocking"][0]["fix"]
    assert message.strip()
    assert fix.strip()
    assert "%(" not in message + fix  # every placeholder filled


# --- screening ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("screening", "changed_at", "words"), [
    (None, None, "No screening"),
    ({"at": "2027-01-10T18:00:00+03:00", "decision": "eligible"}, None, "2027-01-10"),
    ({"at": "2027-01-11T09:40:00+03:00", "decision": "eligible"}, "2027-01-11T09:41:00+03:00", "09:41"),
    ({"at": "2027-01-11T10:00:01+03:00", "decision": "eligible"}, None, "after now"),
])
def test_a_missing_old_or_outdated_screening_is_stale(screening, changed_at, words):
    data = changed(screening=screening, record_changed_at=changed_at)
    assert codes(data) == ["SCREENING_STALE"]
    assert words in blocking(data, "SCREENING_STALE")["message"]


def test_a_screening_at_the_same_moment_as_the_last_record_change_is_not_stale():
    assert codes(changed(record_changed_at="2027-01-11T09:40:00+03:00")) == []
    assert codes(changed(record_changed_at=None)) == []


def test_a_screening_exactly_now_is_current():
    assert codes(changed(screening={"at": "2027-01-11T10:00:00+03:00", "decision": "eligible"})) == []


def test_a_stale_screening_suppresses_every_other_screening_code():
    data = changed(screening={"at": "2027-01-10T09:00:00+03:00", "decision": "not_eligible",
                              "open": [{"code": "NSAID_WASHOUT", "severity": "condition"}]})
    assert codes(data) == ["SCREENING_STALE"]
    data["screening"]["decision"] = "incomplete"
    data["record_changed_at"] = "2027-01-11T09:50:00+03:00"
    data["screening"]["at"] = "2027-01-11T09:40:00+03:00"
    assert codes(data) == ["SCREENING_STALE"]


def test_blocks_incomplete_and_open_items_are_each_reported():
    open_items = [{"code": "CANCER_HISTORY", "severity": "review"},
                  {"code": "NSAID_WASHOUT", "severity": "condition"},
                  {"code": "CANCER_HISTORY", "severity": "review"},
                  {"code": "AGE_UNDER_18", "severity": "block"},
                  {"code": "MISSING_INFORMATION", "severity": "missing"},
                  {"code": "FAT_REDUCTION_NOT_APPROVED", "severity": "info"}]
    data = changed(screening={"at": "2027-01-11T09:40:00+03:00", "decision": "not_eligible",
                              "open": open_items})
    assert codes(data) == ["SCREENING_BLOCKS", "SCREENING_OPEN_ITEM"]
    # Only review and condition are open items; each code named once, in the screening's order.
    assert blocking(data, "SCREENING_OPEN_ITEM")["message"] == (
        "Still open in the screening: CANCER_HISTORY, NSAID_WASHOUT.")
    data["screening"]["decision"] = "incomplete"
    assert codes(data) == ["SCREENING_INCOMPLETE", "SCREENING_OPEN_ITEM"]


@pytest.mark.parametrize("severity", ["block", "missing", "info"])
def test_open_findings_other_than_review_or_condition_are_not_open_items(severity):
    data = changed(screening={"at": "2027-01-11T09:40:00+03:00", "decision": "eligible",
                              "open": [{"code": "SOMETHING", "severity": severity}]})
    assert codes(data) == []


# --- plan and consent -----------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["draft", "proposed", "accepted", "completed", "stopped"])
def test_only_an_active_plan_allows_a_session(status):
    data = ready()
    data["plan"]["status"] = status
    assert codes(data) == ["PLAN_NOT_ACTIVE"]
    assert f"The plan is {status}, not active." == blocking(data, "PLAN_NOT_ACTIVE")["message"]


def test_without_a_plan_there_is_no_solution_no_cream_and_no_approval():
    data = changed(plan=None)
    assert codes(data) == ["PLAN_NOT_ACTIVE"]  # a physician needs no approval; nothing to test
    data["performer"] = {"role": "nurse", "credentials": NURSE}
    assert codes(data) == ["PLAN_NOT_ACTIVE", "PERFORMER_NOT_QUALIFIED"]
    assert "plan approved by a physician" in blocking(data, "PERFORMER_NOT_QUALIFIED")["message"]


def test_a_consent_signed_after_now_is_missing_alone():
    data = changed(consent={"plan_version": 1, "signed_at": "2027-01-11T10:00:01+03:00",
                            "withdrawn_at": "2027-01-11T09:00:00+03:00"})
    assert codes(data) == ["CONSENT_MISSING"]
    data["consent"]["signed_at"] = "2027-01-11T10:00:00+03:00"  # signed this very second counts
    assert codes(data) == ["CONSENT_OUTDATED", "CONSENT_WITHDRAWN"]


def test_consent_to_another_version_names_both_versions():
    data = ready()
    data["consent"]["plan_version"] = 1
    assert blocking(data, "CONSENT_OUTDATED")["message"] == (
        "The consent is to plan version 1; the plan is now version 2.")
    assert "version 2" in blocking(data, "CONSENT_OUTDATED")["fix"]


@pytest.mark.parametrize(("withdrawn_at", "expected"), [
    ("2027-01-11T10:00:00+03:00", ["CONSENT_WITHDRAWN"]),  # withdrawn now
    ("2027-01-11T07:00:00Z", ["CONSENT_WITHDRAWN"]),
    ("2027-01-11T10:00:01+03:00", []),  # a withdrawal recorded for later has not happened yet
    (None, []),
])
def test_a_withdrawn_consent_blocks_from_the_moment_of_withdrawal(withdrawn_at, expected):
    data = ready()
    data["consent"]["withdrawn_at"] = withdrawn_at
    assert codes(data) == expected


# --- allergy test (F-ALLERGY-TEST) -----------------------------------------------------------------

@pytest.mark.parametrize(("at", "expected"), [
    ("2027-01-10T10:00:00+03:00", []),  # exactly 24 h before
    ("2027-01-10T07:00:00Z", []),  # the same moment in UTC
    ("2027-01-10T10:00:01+03:00", ["ALLERGY_TEST_TOO_RECENT"]),  # 1 s short of 24 h
    ("2027-01-11T10:30:00+03:00", ["ALLERGY_TEST_TOO_RECENT"]),  # a test after now
])
def test_the_allergy_test_must_be_at_least_24_hours_before(at, expected):
    data = ready()
    data["allergy_test"]["at"] = at
    assert codes(data) == expected


def test_too_recent_says_when_the_test_will_have_been_24_hours_ago():
    data = ready()
    data["allergy_test"]["at"] = "2027-01-10T13:15:00+03:00"
    entry = blocking(data, "ALLERGY_TEST_TOO_RECENT")
    assert entry["message"] == "The allergy test was at 2027-01-10 13:15, less than 24 hours ago."
    assert entry["fix"].startswith("Wait until 2027-01-11 13:15:")
    assert "F-ALLERGY-TEST" in entry["fix"]


def test_24_hours_are_measured_in_real_time_across_a_daylight_saving_change():
    # Berlin moves to summer time on 28 March 2027: 10:00 to 10:00 that weekend is only 23 hours.
    data = ready()
    data.update(timezone="Europe/Berlin", now="2027-03-28T10:00:00+02:00")
    data["screening"]["at"] = "2027-03-28T09:30:00+02:00"
    data["cream_applied_at"] = "2027-03-28T09:20:00+02:00"
    data["lots"][0]["expires"] = "2027-06-30"
    data["allergy_test"]["at"] = "2027-03-27T10:00:00+01:00"
    assert codes(data) == ["ALLERGY_TEST_TOO_RECENT"]
    data["allergy_test"]["at"] = "2027-03-27T09:00:00+01:00"
    assert codes(data) == []


def test_an_untested_ingredient_of_todays_solution_is_named():
    data = ready()
    data["plan"]["ingredients"] = ["hyaluronic_acid", "vitamin_c", "lidocaine", "biotin"]
    data["allergy_test"]["ingredients"] = ["Lidocaine ", "hyaluronic_acid", "zinc"]  # case and spaces aside
    assert codes(data) == ["ALLERGY_TEST_INCOMPLETE"]
    assert blocking(data, "ALLERGY_TEST_INCOMPLETE")["message"] == (
        "Not covered by the allergy test: vitamin_c, biotin.")


def test_a_reaction_to_todays_solution_blocks_and_a_reaction_to_something_else_does_not():
    data = ready()
    data["allergy_test"]["ingredients"] = ["hyaluronic_acid", "lidocaine", "procaine"]
    data["allergy_test"]["reactions"] = ["procaine"]
    assert codes(data) == []
    data["allergy_test"]["reactions"] = ["procaine", "LIDOCAINE"]
    assert codes(data) == ["ALLERGY_TEST_REACTION"]
    assert "lidocaine" in blocking(data, "ALLERGY_TEST_REACTION")["message"]
    assert "procaine" not in blocking(data, "ALLERGY_TEST_REACTION")["message"]


def test_a_missing_allergy_test_is_reported_alone():
    data = changed(allergy_test=None)
    data["plan"]["ingredients"] = ["hyaluronic_acid", "lidocaine", "vitamin_c"]
    assert codes(data) == ["ALLERGY_TEST_MISSING"]


# --- workup and cream ---------------------------------------------------------------------------------

@pytest.mark.parametrize("workup", [None, {"signed_off_at": None}, {},
                                    {"signed_off_at": "2027-01-11T10:05:00+03:00"}])
def test_the_workup_must_be_signed_off_before_now(workup):
    assert codes(changed(workup=workup)) == ["WORKUP_NOT_SIGNED"]
    assert "F-WORKUP" in blocking(changed(workup=workup), "WORKUP_NOT_SIGNED")["fix"]


@pytest.mark.parametrize(("applied", "expected"), [
    ("2027-01-11T09:30:00+03:00", []),  # exactly 30 minutes
    ("2027-01-11T06:30:00Z", []),
    ("2027-01-11T08:00:00+03:00", []),  # two hours: past 40 minutes is no reason to refuse
    ("2027-01-11T09:30:01+03:00", ["CREAM_NOT_READY"]),  # 1 s short
    ("2027-01-11T10:10:00+03:00", ["CREAM_NOT_READY"]),  # after now
    (None, ["CREAM_NOT_APPLIED"]),
])
def test_the_cream_needs_30_minutes(applied, expected):
    assert codes(changed(cream_applied_at=applied)) == expected


def test_cream_not_ready_says_until_when_to_wait():
    entry = blocking(changed(cream_applied_at="2027-01-11T09:45:00+03:00"), "CREAM_NOT_READY")
    assert entry["message"] == "The cream went on at 2027-01-11 09:45, less than 30 minutes ago."
    assert entry["fix"] == "Wait until 2027-01-11 10:15: the cream needs 30 minutes to work (F-ANAESTHESIA)."
    applied = blocking(changed(cream_applied_at=None), "CREAM_NOT_APPLIED")["fix"]
    assert applied == "Apply the cream, record the time, and wait 30 minutes (F-ANAESTHESIA)."


def test_a_plan_without_cream_needs_no_cream():
    data = changed(cream_applied_at=None)
    data["plan"]["uses_anaesthetic_cream"] = False
    assert codes(data) == []
    data["cream_applied_at"] = "2027-01-11T09:59:00+03:00"
    assert codes(data) == []


# --- performer (F-CREDENTIALS) -------------------------------------------------------------------------

@pytest.mark.parametrize(("missing_kind", "label"), [
    ("medical_licence", "medical licence"), ("dermatology", "dermatology specialisation"),
    ("mesotherapy_training", "mesotherapy training")])
def test_a_physician_needs_a_licence_dermatology_and_training(missing_kind, label):
    data = ready()
    data["performer"]["credentials"] = [c for c in PHYSICIAN if c["kind"] != missing_kind]
    assert codes(data) == ["PERFORMER_NOT_QUALIFIED"]
    message = blocking(data, "PERFORMER_NOT_QUALIFIED")["message"]
    assert message == (f"The physician is not qualified for this session on 2027-01-11. "
                       f"Missing or not valid: {label}.")


def test_a_physician_with_a_nursing_licence_is_still_not_a_qualified_physician():
    data = ready()
    data["performer"]["credentials"] = [*NURSE, PHYSICIAN[1]]
    message = blocking(data, "PERFORMER_NOT_QUALIFIED")["message"]
    assert message.endswith("Missing or not valid: medical licence.")


def test_a_nurse_needs_a_nursing_licence_training_and_a_physician_approved_plan():
    data = ready()
    data["performer"] = {"role": "nurse", "credentials": copy.deepcopy(NURSE)}
    assert codes(data) == []
    data["plan"]["approved_by_physician"] = False
    assert codes(data) == ["PERFORMER_NOT_QUALIFIED"]
    entry = blocking(data, "PERFORMER_NOT_QUALIFIED")
    assert entry["message"].endswith("Missing or not valid: plan approved by a physician.")
    assert "approves the plan" in entry["fix"]
    data["performer"]["credentials"] = PHYSICIAN  # a medical licence does not make a nurse
    assert blocking(data, "PERFORMER_NOT_QUALIFIED")["message"] == (
        "The nurse is not qualified for this session on 2027-01-11. Missing or not valid: nursing licence, "
        "plan approved by a physician.")
    data["performer"]["credentials"] = []
    assert blocking(data, "PERFORMER_NOT_QUALIFIED")["message"].endswith(
        "Missing or not valid: nursing licence, mesotherapy training, plan approved by a physician.")


def test_a_physician_needs_no_approval_of_the_plan():
    data = ready()
    data["plan"]["approved_by_physician"] = False
    assert codes(data) == []


@pytest.mark.parametrize(("valid_from", "valid_until", "ok"), [
    ("2027-01-11", "2030-12-31", True),  # valid from today
    ("2027-01-12", "2030-12-31", False),  # from tomorrow
    ("2020-01-01", "2027-01-11", True),  # valid through today
    ("2020-01-01", "2027-01-10", False),  # ran out yesterday
    ("2027-01-11", "2027-01-11", True),  # a one-day credential, today
    ("2020-01-01", None, True),  # no end date
    ("2027-01-12", "2027-01-10", False),  # a range that ends before it starts is never valid
])
def test_credential_validity_includes_both_ends(valid_from, valid_until, ok):
    data = ready()
    data["performer"]["credentials"][2] = {"kind": "mesotherapy_training", "valid_from": valid_from,
                                           "valid_until": valid_until}
    assert codes(data) == ([] if ok else ["PERFORMER_NOT_QUALIFIED"])


def test_any_valid_credential_of_a_kind_counts():
    data = ready()
    data["performer"]["credentials"] += [
        {"kind": "medical_licence", "valid_from": "2010-01-01", "valid_until": "2015-12-31"},
        {"kind": "medical_licence", "valid_from": "2031-01-01", "valid_until": None}]
    assert codes(data) == []
    data["performer"]["credentials"] = [c for c in data["performer"]["credentials"]
                                        if c["valid_until"] != "2030-12-31" or c["kind"] != "medical_licence"]
    assert codes(data) == ["PERFORMER_NOT_QUALIFIED"]


def test_every_missing_requirement_is_named_in_one_entry():
    data = ready()
    data["performer"]["credentials"] = []
    assert codes(data) == ["PERFORMER_NOT_QUALIFIED"]
    assert blocking(data, "PERFORMER_NOT_QUALIFIED")["message"].endswith(
        "Missing or not valid: medical licence, dermatology specialisation, mesotherapy training.")


# --- the clinic's time zone ----------------------------------------------------------------------------

def istanbul_just_after_midnight() -> dict[str, Any]:
    """00:30 on 11 January in Istanbul is still 10 January in UTC (21:30)."""
    data = ready()
    data["now"] = "2027-01-11T00:30:00+03:00"
    data["screening"]["at"] = "2027-01-11T00:10:00+03:00"
    data["record_changed_at"] = None
    data["allergy_test"]["at"] = "2027-01-09T10:00:00+03:00"
    data["cream_applied_at"] = "2027-01-10T23:55:00+03:00"
    return data


def test_the_days_are_the_clinics_local_days():
    data = istanbul_just_after_midnight()
    assert codes(data) == []
    data["performer"]["credentials"][0]["valid_until"] = "2027-01-10"  # ended yesterday, local time
    assert codes(data) == ["PERFORMER_NOT_QUALIFIED"]
    assert "on 2027-01-11" in blocking(data, "PERFORMER_NOT_QUALIFIED")["message"]


def test_now_written_in_utc_is_judged_on_the_clinics_day():
    data = istanbul_just_after_midnight()
    data["now"] = "2027-01-10T21:30:00Z"  # the same moment
    data["performer"]["credentials"][0]["valid_until"] = "2027-01-10"
    data["lots"][0]["expires"] = "2027-01-10"
    data["clinic_licence"]["valid_from"] = "2027-01-11"
    assert codes(data) == ["PERFORMER_NOT_QUALIFIED", "LOT_EXPIRED"]


def test_a_screening_late_yesterday_local_time_is_stale_even_in_the_same_utc_day():
    data = istanbul_just_after_midnight()
    data["screening"]["at"] = "2027-01-10T23:50:00+03:00"
    assert codes(data) == ["SCREENING_STALE"]
    assert "2027-01-10" in blocking(data, "SCREENING_STALE")["message"]
    data["screening"]["at"] = "2027-01-10T21:00:00Z"  # 00:00 on the 11th in Istanbul: today
    assert codes(data) == []


def test_a_clinic_west_of_utc_has_its_own_day():
    data = ready()
    data.update(timezone="America/New_York", now="2027-01-12T02:00:00Z")  # 21:00 on the 11th there
    data["screening"]["at"] = "2027-01-11T20:00:00-05:00"
    data["cream_applied_at"] = "2027-01-11T20:15:00-05:00"
    data["lots"][0]["expires"] = "2027-01-11"
    data["clinic_licence"]["valid_until"] = "2027-01-11"
    assert codes(data) == []


# --- clinic licence ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("licence", "message"), [
    (None, "No clinic licence on record."),
    ({"valid_from": "2027-01-12", "valid_until": None}, "The clinic licence is valid only from 2027-01-12."),
    ({"valid_from": "2024-01-01", "valid_until": "2027-01-10"}, "The clinic licence ran out on 2027-01-10."),
])
def test_the_clinic_needs_a_licence_valid_today(licence, message):
    data = changed(clinic_licence=licence)
    assert codes(data) == ["CLINIC_NOT_LICENSED"]
    assert blocking(data, "CLINIC_NOT_LICENSED")["message"] == message


@pytest.mark.parametrize("licence", [
    {"valid_from": "2027-01-11", "valid_until": "2027-01-11"},
    {"valid_from": "0001-01-01", "valid_until": None},
    {"valid_from": "2024-01-01"}])
def test_a_licence_valid_today_at_either_end_or_without_end_is_enough(licence):
    assert codes(changed(clinic_licence=licence)) == []


# --- adverse events ---------------------------------------------------------------------------------

def test_an_uncleared_moderate_or_severe_event_holds_and_every_one_is_named():
    events = [{"severity": "mild", "cleared": False}, {"severity": "severe", "cleared": False, "id": "AE-17"},
              {"severity": "moderate", "cleared": True, "id": "AE-3"},
              {"severity": "moderate", "cleared": False},
              {"severity": "severe", "cleared": False, "id": "AE-20", "code": "infection"},
              {"severity": "moderate", "cleared": False, "code": "bruising"}]
    data = changed(open_adverse_events=events)
    assert codes(data) == ["ADVERSE_EVENT_HOLD"]
    assert blocking(data, "ADVERSE_EVENT_HOLD")["message"] == (
        "Adverse event not cleared, moderate or worse: AE-17 (severe), event 4 (moderate), "
        "AE-20, infection (severe), event 6, bruising (moderate).")


@pytest.mark.parametrize("events", [
    [], [{"severity": "mild", "cleared": False}], [{"severity": "severe", "cleared": True}]])
def test_mild_or_cleared_events_do_not_hold(events):
    assert codes(changed(open_adverse_events=events)) == []


# --- lots ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expires", "expected"), [
    ("2027-01-11", []),  # usable through its expiry day
    ("2027-01-12", []),
    ("2027-01-10", ["LOT_EXPIRED"]),  # the day after
])
def test_a_lot_is_usable_through_its_expiry_date(expires, expected):
    data = ready()
    data["lots"][0]["expires"] = expires
    assert codes(data) == expected


def test_each_lot_code_appears_once_naming_every_lot():
    lots = [
        {"product": "hyaluronic_acid", "lot": "HA-1", "expires": "2027-01-10", "recalled": True,
         "available": 0.5, "needed": 1},
        {"product": "lidocaine", "lot": "LI-7", "expires": "2026-12-01", "recalled": False,
         "available": 2.5, "needed": 2.5},
        {"product": "vitamin_c", "lot": "VC-3", "expires": "2027-02-01", "recalled": True,
         "available": 1, "needed": 4},
        {"product": "biotin", "lot": "BI-9", "expires": "2027-05-01", "recalled": False,
         "available": 10, "needed": 0},
    ]
    data = changed(lots=lots)
    result = session_check_json(data)
    assert [b["code"] for b in result["blocking"]] == ["LOT_EXPIRED", "LOT_RECALLED", "LOT_INSUFFICIENT"]
    messages = {b["code"]: b["message"] for b in result["blocking"]}
    assert messages == {
        "LOT_EXPIRED": "Past its expiry date: HA-1 (hyaluronic_acid, expired 2027-01-10), "
                       "LI-7 (lidocaine, expired 2026-12-01).",
        "LOT_RECALLED": "Recalled: HA-1 (hyaluronic_acid), VC-3 (vitamin_c).",
        "LOT_INSUFFICIENT": "Not enough in stock: HA-1 (hyaluronic_acid): 0.5 available, 1 needed, "
                            "VC-3 (vitamin_c): 1 available, 4 needed.",
    }


def test_exactly_enough_in_a_lot_is_enough():
    data = ready()
    data["lots"][0].update(available=2.5, needed=2.5)
    assert codes(data) == []
    data["lots"][0].update(available=2.4999, needed=2.5)
    assert codes(data) == ["LOT_INSUFFICIENT"]
    assert "2.4999 available, 2.5 needed" in blocking(data, "LOT_INSUFFICIENT")["message"]


def test_no_lots_means_nothing_to_check():
    data = ready()
    del data["lots"]
    del data["open_adverse_events"]
    assert codes(data) == []


# --- all together ------------------------------------------------------------------------------------

def fifteen_failing() -> dict[str, Any]:
    """Every code that can fail together with the others (a stale screening is not judged further;
    no consent, no test, no cream leave nothing more of theirs to judge)."""
    data = example()
    data["screening"]["at"] = "2027-01-10T09:40:00+03:00"
    data["plan"].update(status="accepted", approved_by_physician=False)
    data["consent"] = {"plan_version": 1, "signed_at": "2027-01-04T11:00:00+03:00",
                       "withdrawn_at": "2027-01-10T12:00:00+03:00"}
    data["allergy_test"] = {"at": "2027-01-10T12:00:00+03:00", "ingredients": ["hyaluronic_acid"],
                            "reactions": ["hyaluronic_acid"]}
    data["workup"] = None
    data["cream_applied_at"] = "2027-01-11T09:45:00+03:00"
    data["performer"] = {"role": "nurse", "credentials": []}
    data["clinic_licence"] = {"valid_from": "2024-01-01", "valid_until": "2026-12-31"}
    data["open_adverse_events"] = [{"severity": "severe", "cleared": False, "id": "AE-17"}]
    data["lots"] = [{"product": "hyaluronic_acid", "lot": "HA-1", "expires": "2027-01-10", "recalled": True,
                     "available": 0.5, "needed": 1}]
    return data


def test_every_failing_code_is_listed_once_in_the_contracts_order():
    assert codes(fifteen_failing()) == [
        "SCREENING_STALE", "PLAN_NOT_ACTIVE", "CONSENT_OUTDATED", "CONSENT_WITHDRAWN",
        "ALLERGY_TEST_TOO_RECENT", "ALLERGY_TEST_INCOMPLETE", "ALLERGY_TEST_REACTION", "WORKUP_NOT_SIGNED",
        "CREAM_NOT_READY", "PERFORMER_NOT_QUALIFIED", "CLINIC_NOT_LICENSED", "ADVERSE_EVENT_HOLD",
        "LOT_EXPIRED", "LOT_RECALLED", "LOT_INSUFFICIENT"]


def test_the_codes_that_exclude_others_come_in_order_too():
    data = example()
    data["screening"]["decision"] = "not_eligible"
    data.update(consent=None, allergy_test=None, cream_applied_at=None)
    assert codes(data) == ["SCREENING_BLOCKS", "SCREENING_OPEN_ITEM", "CONSENT_MISSING",
                           "ALLERGY_TEST_MISSING", "CREAM_NOT_APPLIED"]
    data["screening"]["decision"] = "incomplete"
    assert codes(data)[:2] == ["SCREENING_INCOMPLETE", "SCREENING_OPEN_ITEM"]


# --- the engine's API, as the product calls it ------------------------------------------------------

def test_the_result_carries_ready_and_blocking_entries_with_templates_and_params():
    result = sc.check(parse(fifteen_failing()))
    assert result.ready is False
    assert result.codes == tuple(b.code for b in result.blocking)
    entry = next(b for b in result.blocking if b.code == "LOT_INSUFFICIENT")
    assert entry.message_template == "Not enough in stock: %(lots)s."
    assert dict(entry.params) == {"lots": "HA-1 (hyaluronic_acid): 0.5 available, 1 needed"}
    assert entry.message == entry.message_template % entry.params
    assert sc.check(parse(ready())).ready is True


def test_localise_translates_templates_and_the_labels_inside_them_but_not_plain_values():
    catalogue = {
        "The %(role)s is not qualified for this session on %(day)s. Missing or not valid: %(missing)s.":
            "%(role)s %(day)s tarihinde yetkili değil. Eksik: %(missing)s.",
        "nurse": "hemşire", "nursing licence": "hemşirelik ruhsatı",
        "plan approved by a physician": "hekim onaylı plan",
        "Adverse event not cleared, moderate or worse: %(events)s.": "Kapanmamış yan etki: %(events)s.",
        "%(id)s (%(severity)s)": "%(id)s (%(severity)s)", "severe": "ağır",
        "Recalled: %(lots)s.": "Geri çağrıldı: %(lots)s.",
    }
    result = sc.check(parse(fifteen_failing()))
    by_code = {b.code: b for b in result.blocking}
    message, _ = sc.localise(by_code["PERFORMER_NOT_QUALIFIED"], lambda s: catalogue.get(s, s))
    assert message == ("hemşire 2027-01-11 tarihinde yetkili değil. Eksik: hemşirelik ruhsatı, "
                       "mesotherapy training, hekim onaylı plan.")
    message, _ = sc.localise(by_code["ADVERSE_EVENT_HOLD"], lambda s: catalogue.get(s, s))
    assert message == "Kapanmamış yan etki: AE-17 (ağır)."
    message, _ = sc.localise(by_code["LOT_RECALLED"], lambda s: catalogue.get(s, s))
    assert message == "Geri çağrıldı: HA-1 (hyaluronic_acid)."  # the lot number is never looked up
    # With no catalogue, localise gives the English of to_json.
    english = to_json(result)["blocking"]
    assert [list(sc.localise(b, lambda s: s)) for b in result.blocking] == [
        [e["message"], e["fix"]] for e in english]


def _marked_strings() -> set[str]:
    """Every string literal passed to gettext_noop in the engine, as makemessages finds them."""
    tree = ast.parse(Path(sc.__file__).read_text(encoding="utf-8"))
    return {str(node.args[0].value) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "gettext_noop" and isinstance(node.args[0], ast.Constant)}


def test_every_template_and_label_shown_is_marked_for_translation():
    marked = _marked_strings()
    looked_up: list[str] = []

    def gettext(text: str) -> str:
        looked_up.append(text)
        return text

    inputs = [fifteen_failing(), example(), changed(screening=None), changed(plan=None),
              changed(consent=None, allergy_test=None, cream_applied_at=None, clinic_licence=None)]
    for data in inputs:
        for entry in sc.check(parse(data)).blocking:
            sc.localise(entry, gettext)
    assert looked_up
    assert set(looked_up) <= marked
    # and the labels of every enum value are marked
    assert set(sc.CREDENTIAL_LABELS.values()) | set(sc.ROLE_LABELS.values()) <= marked
    assert set(sc.EVENT_SEVERITY_LABELS.values()) | set(sc.PLAN_STATUS_LABELS.values()) <= marked


def test_the_engine_takes_dataclasses_built_directly_with_zoneinfo_datetimes():
    berlin = ZoneInfo("Europe/Berlin")
    inp = sc.SessionCheckInput(
        now=datetime(2027, 3, 28, 10, 0, tzinfo=berlin), timezone=berlin,
        performer=sc.Performer(sc.Role.NURSE, (
            sc.Credential(sc.CredentialKind.NURSING_LICENCE, date(2020, 1, 1)),
            sc.Credential(sc.CredentialKind.MESOTHERAPY_TRAINING, date(2020, 1, 1), date(2027, 3, 28)))),
        screening=sc.Screening(datetime(2027, 3, 28, 9, 0, tzinfo=berlin), sc.Decision.ELIGIBLE),
        plan=sc.Plan(1, sc.PlanStatus.ACTIVE, ("lidocaine",), True, True),
        consent=sc.Consent(1, datetime(2027, 3, 1, tzinfo=UTC)),
        # 10:00 the day before, in the same ZoneInfo: 23 real hours across the change to summer time.
        allergy_test=sc.AllergyTest(datetime(2027, 3, 27, 10, 0, tzinfo=berlin), ("lidocaine",)),
        workup=sc.Workup(datetime(2027, 3, 1, tzinfo=UTC)),
        cream_applied_at=datetime(2027, 3, 28, 9, 30, tzinfo=berlin),
        clinic_licence=sc.ClinicLicence(date(2024, 1, 1)),
        lots=(sc.Lot("lidocaine", "LI-1", date(2027, 3, 28), False, Decimal("1.5"), Decimal("1.50")),))
    assert sc.check(inp).codes == ("ALLERGY_TEST_TOO_RECENT",)
    assert "2027-03-28 11:00" in sc.check(inp).blocking[0].fix  # 24 real hours later, local time


def test_decision_and_severity_values_are_the_screenings():
    from mesoclinic.screening.rules import Outcome, Severity

    assert [d.value for d in sc.Decision] == [o.value for o in Outcome]
    assert [s.value for s in sc.Severity] == [s.value for s in Severity]
