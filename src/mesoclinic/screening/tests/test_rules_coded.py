"""Screening that real records cannot slip past (issue 7): coded medicines and allergens, blood
thinners, valid tests and workup, cancer with multi-drug therapy, clinic-local time, and the pack
as the source of severities. Every new code and boundary as a table; monotonicity by hypothesis."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesoclinic.knowledge.pack import DEFAULT_DATA_DIR, load_pack
from mesoclinic.screening.rules import (
    OUTCOME_RANK,
    Allergy,
    AllergyTest,
    Cancer,
    Decision,
    Diabetes,
    Finding,
    Intake,
    Medication,
    Outcome,
    Severity,
    Sex,
    Workup,
    months_before,
    screen,
)
from mesoclinic.screening.tests.test_rules import (
    AS_OF,
    FULL_WORKUP,
    GOOD_TEST,
    MSK,
    SESSION_AT,
    SESSION_DAY,
    intakes,
    make_intake,
)

PACK = load_pack()
IST = timezone(timedelta(hours=3))  # Europe/Istanbul has no daylight saving time
BERLIN_WINTER = timezone(timedelta(hours=1))


def codes(decision: Decision) -> list[str]:
    return [f.code for f in decision.findings]


def only(decision: Decision, code: str) -> Finding:
    found = [f for f in decision.findings if f.code == code]
    assert len(found) == 1, decision.findings
    return found[0]


def with_meds(*medications: Medication, **changes: Any) -> Intake:
    return make_intake(patient={"medications": medications, **changes.pop("patient", {})},
                       **changes)


# --- NSAIDs by brand (F-NSAID) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Majezik 100 mg", "Arveles", "Apranax forte", "Dikloron", "Ibu-ratiopharm 400",
     "Voltaren Emulgel", "Thomapyrin", "Acetylsalicylsäure 500 mg", "Aspirin 500 mg", "Advil"],
)
def test_an_nsaid_brand_taken_three_days_before_blocks(name: str) -> None:
    decision = screen(with_meds(Medication(name, None, SESSION_DAY - timedelta(days=3))), PACK)
    assert codes(decision) == ["NSAID_WASHOUT"]
    assert decision.decision is Outcome.NOT_ELIGIBLE


# --- ANTITHROMBOTIC_THERAPY ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "atc", "kind"),
    [
        ("ASA 81 mg", None, "antiplatelet"),
        ("Coraspin 100", None, "antiplatelet"),
        ("Aspirin Protect", None, "antiplatelet"),
        ("ASS 100", None, "antiplatelet"),
        ("cardio tablet", "B01AC06", "antiplatelet"),
        ("Aggrenox", "B01AC30", "antiplatelet"),
        ("Plavix", None, "antiplatelet"),
        ("Brilique", None, "antiplatelet"),
        ("Coumadin", None, "anticoagulant"),
        ("Marcumar", None, "anticoagulant"),
        ("Xarelto 20 mg", None, "anticoagulant"),
        ("Eliquis", None, "anticoagulant"),
        ("Clexane", None, "anticoagulant"),
    ],
)
def test_blood_thinners_need_the_prescriber_never_an_automatic_stop(
    name: str, atc: str | None, kind: str
) -> None:
    decision = screen(with_meds(Medication(name, atc, None)), PACK)
    assert codes(decision) == ["ANTITHROMBOTIC_THERAPY"]  # no NSAID_WASHOUT for antiplatelet ASA
    finding = only(decision, "ANTITHROMBOTIC_THERAPY")
    assert (finding.severity, finding.fact, finding.field) == (
        Severity.REVIEW, "F-SIDE-EFFECTS", "patient.medications[0]")
    assert kind in finding.message
    assert "prescriber" in finding.message
    assert decision.required_actions == ()  # no "stop by <date>"
    assert decision.decision is Outcome.ELIGIBLE_WITH_CONDITIONS


@pytest.mark.parametrize(
    ("days_before", "flagged"), [(None, True), (0, True), (9, True), (10, True), (11, False)]
)
def test_a_blood_thinner_stopped_more_than_ten_days_before_no_longer_counts(
    days_before: int | None, flagged: bool
) -> None:
    last = None if days_before is None else SESSION_DAY - timedelta(days=days_before)
    decision = screen(with_meds(Medication("warfarin", None, last)), PACK)
    assert ("ANTITHROMBOTIC_THERAPY" in codes(decision)) is flagged


# --- UNCLASSIFIED_MEDICATION ---------------------------------------------------------------------


def test_a_medicine_the_catalogue_cannot_resolve_is_kept_and_flagged() -> None:
    decision = screen(with_meds(Medication("Zyxorin 20 mg", None, None)), PACK)
    finding = only(decision, "UNCLASSIFIED_MEDICATION")
    assert (finding.severity, finding.field) == (Severity.REVIEW, "patient.medications[0]")
    assert "Zyxorin 20 mg" in finding.message
    assert decision.decision is Outcome.ELIGIBLE_WITH_CONDITIONS


def test_an_atc_code_classifies_a_medicine_whatever_its_name() -> None:
    assert screen(with_meds(Medication("Zyxorin", "H03AA01", None)), PACK).decision is (
        Outcome.ELIGIBLE)
    glucosamine = screen(with_meds(Medication("Zyxorin", "M01AX05", SESSION_DAY)), PACK)
    assert glucosamine.decision is Outcome.ELIGIBLE  # M01AX05 is not an NSAID


def test_an_unknown_medicine_stopped_long_ago_does_not_matter() -> None:
    old = Medication("Zyxorin", None, SESSION_DAY - timedelta(days=30))
    assert screen(with_meds(old), PACK).decision is Outcome.ELIGIBLE


# --- insulin in the medicine list (F-ELIG-INSULIN) -----------------------------------------------


@pytest.mark.parametrize("diabetes", [Diabetes.TYPE2, Diabetes.OTHER, Diabetes.NONE])
@pytest.mark.parametrize("insulin_box", [False, None])
@pytest.mark.parametrize("name", ["Lantus", "NovoRapid FlexPen", "insülin", "Humalog Mix 25"])
def test_insulin_in_the_medicine_list_means_insulin_whatever_the_box_says(
    diabetes: Diabetes, insulin_box: bool | None, name: str
) -> None:
    intake = with_meds(Medication(name, None, None),
                       patient={"diabetes": diabetes, "insulin": insulin_box})
    decision = screen(intake, PACK)
    finding = only(decision, "INSULIN_DEPENDENT_DIABETES")
    assert (finding.severity, finding.fact, finding.field) == (
        Severity.BLOCK, "F-ELIG-INSULIN", "patient.medications[0]")
    assert "MISSING_INFORMATION" not in codes(decision)
    assert decision.decision is Outcome.NOT_ELIGIBLE


def test_insulin_stopped_months_ago_leaves_the_box_to_decide() -> None:
    stopped = Medication("Lantus", None, SESSION_DAY - timedelta(days=91))
    assert screen(with_meds(stopped, patient={"diabetes": Diabetes.TYPE2}), PACK).decision is (
        Outcome.ELIGIBLE)
    recent = Medication("Lantus", None, SESSION_DAY - timedelta(days=90))
    assert screen(with_meds(recent, patient={"diabetes": Diabetes.TYPE2}), PACK).decision is (
        Outcome.NOT_ELIGIBLE)


# --- allergies: direct, cross-reacting, unclassified (F-ALLERGY-TEST) ----------------------------


@pytest.mark.parametrize(
    ("allergy", "ingredient"),
    [
        ("Lidocaine HCl 2%", "lidocaine"),
        ("Xylocaine", "Lidocain"),
        ("lidocaine", "lidokain"),
        ("lidocaine", "EMLA"),  # the numbing cream is screened like any ingredient
        ("Novocain", "procaine"),
        ("procaine", "Novocain 1%"),
        ("sodium hyaluronate", "Hyaluronic acid 1%"),
        ("Hyaluronic acid 1%", "sodium hyaluronate"),
        ("vitamin B12", "vitamin B complex"),
        ("vitamin B complex", "biotin"),
        ("soy", "phosphatidylcholine"),
        ("local anaesthetics", "benzocaine"),
        ("bee stings", "bee venom"),
        ("Propecia", "finasteride"),
    ],
)
def test_a_direct_hit_blocks(allergy: str, ingredient: str) -> None:
    intake = make_intake(patient={"allergies": (Allergy(allergy),)},
                         treatment={"ingredients": ("vitamin E", ingredient)})
    decision = screen(intake, PACK)
    finding = only(decision, "INGREDIENT_ALLERGY")
    assert (finding.severity, finding.field) == (Severity.BLOCK, "treatment.ingredients[1]")
    assert decision.decision is Outcome.NOT_ELIGIBLE


@pytest.mark.parametrize(
    ("allergy", "ingredient", "group"),
    [
        ("procaine", "benzocaine", "Ester local anaesthetics"),
        ("Novocain", "tetracaine", "Ester local anaesthetics"),
        ("PABA", "procaine", "Ester local anaesthetics"),
        ("mepivacaine", "lidocaine", "Amide local anaesthetics"),
        ("Citanest", "lidocaine", "Amide local anaesthetics"),
        ("chamomile", "artichoke extract", "Daisy family"),
        ("wasp sting", "bee venom", "Bee and wasp venoms"),
    ],
)
def test_a_cross_reacting_allergy_is_a_review(allergy: str, ingredient: str, group: str) -> None:
    intake = make_intake(patient={"allergies": (Allergy(allergy),)},
                         treatment={"ingredients": (ingredient,)})
    decision = screen(intake, PACK)
    assert "INGREDIENT_ALLERGY" not in codes(decision)
    finding = only(decision, "ALLERGY_CROSS_REACTIVITY")
    assert (finding.severity, finding.field) == (Severity.REVIEW, "treatment.ingredients[0]")
    assert group in finding.message
    assert decision.decision is Outcome.ELIGIBLE_WITH_CONDITIONS


def test_esters_and_amides_do_not_cross_react() -> None:
    intake = make_intake(patient={"allergies": (Allergy("procaine"),)},
                         treatment={"ingredients": ("lidocaine",)})
    assert screen(intake, PACK).decision is Outcome.ELIGIBLE


@pytest.mark.parametrize(
    "allergy",
    ["penicillin", "Augmentin", "amoxicillin", "sulfa", "latex", "nickel", "pollen",
     "house dust", "peanuts", "eggs", "shellfish", "cat hair", "aspirin", "Voltaren"],
)
def test_common_allergens_unrelated_to_the_solution_resolve_and_raise_nothing(allergy: str) -> None:
    intake = make_intake(patient={"allergies": (Allergy(allergy),)},
                         treatment={"ingredients": ("hyaluronic acid", "vitamin C", "EMLA")})
    assert screen(intake, PACK).decision is Outcome.ELIGIBLE


@pytest.mark.parametrize("source", ["allergy", "test"])
def test_an_allergy_the_catalogue_cannot_resolve_is_a_review(source: str) -> None:
    if source == "allergy":
        intake = make_intake(patient={"allergies": (Allergy("latex"), Allergy("Zorblax root"))})
        field = "patient.allergies[1]"
    else:
        intake = make_intake(allergy_test=AllergyTest(GOOD_TEST.performed_at, ("Zorblax root",)))
        field = "allergy_test.reactive_to[0]"
    decision = screen(intake, PACK)
    finding = only(decision, "UNCLASSIFIED_ALLERGY")
    assert (finding.severity, finding.field) == (Severity.REVIEW, field)
    assert "Zorblax root" in finding.message


# --- INGREDIENT_RISK -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "ingredient", "flagged"),
    [
        (Sex.FEMALE, "finasteride", True),
        (Sex.FEMALE, "Finasterid", True),
        (Sex.FEMALE, "dutasteride", True),
        (Sex.OTHER, "finasteride", True),
        (Sex.MALE, "finasteride", False),
        (Sex.FEMALE, "minoxidil", False),
    ],
)
def test_a_five_alpha_reductase_inhibitor_for_a_woman_is_a_review(
    sex: Sex, ingredient: str, flagged: bool
) -> None:
    intake = make_intake(patient={"sex": sex},
                         treatment={"area": "scalp", "indication": "hair_loss",
                                    "ingredients": ("biotin", ingredient)})
    decision = screen(intake, PACK)
    if flagged:
        finding = only(decision, "INGREDIENT_RISK")
        assert (finding.severity, finding.fact, finding.field) == (
            Severity.REVIEW, "F-INDICATIONS", "treatment.ingredients[1]")
        assert "Source:" in finding.message
        assert decision.decision is Outcome.ELIGIBLE_WITH_CONDITIONS
    else:
        assert decision.decision is Outcome.ELIGIBLE


@pytest.mark.parametrize(
    "ingredient", ["salmon calcitonin", "phosphatidylcholine", "deoxycholic acid", "hyaluronidase",
                   "collagenase"],
)
def test_added_ingredients_carry_their_cautions_for_everyone(ingredient: str) -> None:
    decision = screen(make_intake(patient={"sex": Sex.MALE},
                                  treatment={"area": "body", "indication": "regional_fat",
                                             "ingredients": (ingredient,)}), PACK)
    assert "INGREDIENT_RISK" in codes(decision)


# --- CANCER_MULTI_DRUG (F-ELIG-MULTIDRUG) --------------------------------------------------------


@pytest.mark.parametrize(
    ("cancer", "multi", "expected"),
    [
        (Cancer.REMISSION, True, ["CANCER_MULTI_DRUG", "CANCER_HISTORY"]),
        (Cancer.ACTIVE, True, ["ACTIVE_CANCER", "CANCER_MULTI_DRUG"]),
        (Cancer.REMISSION, False, ["CANCER_HISTORY"]),
        (Cancer.REMISSION, None, ["CANCER_HISTORY", "MISSING_INFORMATION"]),
        (Cancer.NONE, True, []),
        (Cancer.ACTIVE, None, ["ACTIVE_CANCER"]),
    ],
)
def test_cancer_with_multi_drug_therapy_blocks(
    cancer: Cancer, multi: bool | None, expected: list[str]
) -> None:
    decision = screen(make_intake(patient={"cancer": cancer, "multi_drug_therapy": multi}), PACK)
    assert codes(decision) == expected
    if "CANCER_MULTI_DRUG" in expected:
        finding = only(decision, "CANCER_MULTI_DRUG")
        assert (finding.severity, finding.fact) == (Severity.BLOCK, "F-ELIG-MULTIDRUG")
        assert decision.decision is Outcome.NOT_ELIGIBLE


# --- allergy test: done, valid, complete (F-ALLERGY-TEST) ----------------------------------------


def test_a_test_dated_after_as_of_is_not_done() -> None:
    future = AllergyTest(AS_OF + timedelta(minutes=1), ())
    finding = only(screen(make_intake(allergy_test=future), PACK), "ALLERGY_TEST_REQUIRED")
    assert finding.severity is Severity.CONDITION
    assert "has not been done yet" in finding.message
    at_as_of = AllergyTest(AS_OF, ())
    assert screen(make_intake(allergy_test=at_as_of), PACK).decision is Outcome.ELIGIBLE


def test_a_future_dated_test_when_no_time_is_left_blocks() -> None:
    as_of = SESSION_AT - timedelta(hours=12)
    future = AllergyTest(as_of + timedelta(hours=1), ())
    finding = only(screen(make_intake(allergy_test=future, as_of=as_of), PACK),
                   "ALLERGY_TEST_REQUIRED")
    assert finding.severity is Severity.BLOCK


@pytest.mark.parametrize(
    ("tested_on", "valid"),
    [
        pytest.param(date(2026, 6, 10), True, id="exactly-6-months"),
        pytest.param(date(2026, 6, 9), False, id="6-months-and-a-day"),
        pytest.param(date(2026, 11, 1), True, id="last-month"),
        pytest.param(date(2025, 12, 10), False, id="last-year"),
    ],
)
def test_a_test_older_than_the_validity_is_due_again(tested_on: date, valid: bool) -> None:
    test = AllergyTest(datetime.combine(tested_on, datetime.min.time(), MSK)
                       + timedelta(hours=9), ())
    decision = screen(make_intake(allergy_test=test), PACK)
    if valid:
        assert decision.decision is Outcome.ELIGIBLE
    else:
        finding = only(decision, "ALLERGY_TEST_REQUIRED")
        assert finding.severity is Severity.CONDITION
        assert "more than 6 months" in finding.message


def test_the_test_day_is_read_in_the_sessions_offset() -> None:
    # 9 Jun 22:30 UTC is 10 Jun 01:30 in Istanbul: exactly six months before the session.
    test = AllergyTest(datetime(2026, 6, 9, 22, 30, tzinfo=UTC), ())
    assert screen(make_intake(allergy_test=test), PACK).decision is Outcome.ELIGIBLE


def test_validity_comes_from_the_pack(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_DATA_DIR, tmp_path / "pack")
    path = tmp_path / "pack" / "contraindications.yaml"
    path.write_text(path.read_text().replace("allergy_test_months: 6", "allergy_test_months: 1"))
    strict = load_pack(tmp_path / "pack")
    test = AllergyTest(datetime(2026, 11, 9, 9, 0, tzinfo=MSK), ())
    assert screen(make_intake(allergy_test=test), PACK).decision is Outcome.ELIGIBLE
    assert "ALLERGY_TEST_REQUIRED" in codes(screen(make_intake(allergy_test=test), strict))


@pytest.mark.parametrize(
    ("ingredients", "tested", "missed"),
    [
        (("hyaluronic acid", "vitamin C"), ("sodium hyaluronate", "ascorbic acid"), None),
        (("hyaluronic acid", "vitamin C"), ("hyaluronic acid",), "vitamin C"),
        (("hyaluronic acid", "vitamin C"), (), "hyaluronic acid, vitamin C"),
        (("hyaluronic acid", "EMLA"), ("hyaluronic acid",), "EMLA"),
        (("hyaluronic acid", "EMLA"), ("hyaluronic acid", "lidocaine", "prilocaine"), None),
        (("hyaluronic acid", "EMLA"), ("hyaluronic acid", "lidocaine"), "EMLA"),
        (("vitamin B complex",), ("B-complex",), None),
    ],
)
def test_a_test_that_missed_an_ingredient_is_due_again(
    ingredients: tuple[str, ...], tested: tuple[str, ...], missed: str | None
) -> None:
    test = AllergyTest(GOOD_TEST.performed_at, (), tested)
    decision = screen(make_intake(allergy_test=test, treatment={"ingredients": ingredients}), PACK)
    if missed is None:
        assert decision.decision is Outcome.ELIGIBLE
    else:
        finding = only(decision, "ALLERGY_TEST_REQUIRED")
        assert f"did not test {missed}," in finding.message
        assert finding.severity is Severity.CONDITION


def test_a_test_without_a_tested_list_is_not_checked_for_coverage() -> None:
    assert screen(make_intake(allergy_test=AllergyTest(GOOD_TEST.performed_at, (), None)),
                  PACK).decision is Outcome.ELIGIBLE


# --- workup (F-WORKUP) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blood_on", "reason"),
    [
        pytest.param(date(2026, 6, 10), None, id="exactly-6-months"),
        pytest.param(date(2026, 6, 9), "older than 6 months", id="6-months-and-a-day"),
        pytest.param(date(2022, 11, 20), "older than 6 months", id="four-years"),
        pytest.param(date(2026, 12, 11), "after the first session", id="after-the-session"),
        pytest.param(date(2026, 11, 26), "in the future", id="after-as-of"),
        pytest.param(AS_OF.date(), None, id="today"),
    ],
)
def test_a_workup_item_must_be_done_before_and_within_validity(
    blood_on: date, reason: str | None
) -> None:
    workup = dataclasses.replace(FULL_WORKUP, blood_test_on=blood_on)
    decision = screen(make_intake(workup=workup), PACK)
    if reason is None:
        assert decision.decision is Outcome.ELIGIBLE
    else:
        finding = only(decision, "WORKUP_REQUIRED")
        assert "blood test (the one" in finding.message
        assert reason in finding.message
        assert "urine test" not in finding.message
        assert decision.decision is Outcome.ELIGIBLE_WITH_CONDITIONS


def test_months_before_clamps_to_the_end_of_the_month() -> None:
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert months_before(date(2028, 8, 31), 6) == date(2028, 2, 29)
    assert months_before(date(2026, 1, 15), 1) == date(2025, 12, 15)


# --- clinic-local time ---------------------------------------------------------------------------


def test_a_session_at_00_30_local_is_judged_on_its_local_day() -> None:
    # 00:30 in Istanbul on 10 Dec is 21:30 UTC on 9 Dec; the wash-out counts from the 10th.
    session = datetime(2026, 12, 10, 0, 30, tzinfo=IST)
    assert session.astimezone(UTC).date() == date(2026, 12, 9)
    ok = Medication("Majezik", None, date(2026, 12, 3))
    intake = make_intake(patient={"medications": (ok,)},
                         treatment={"first_session_at": session},
                         allergy_test=AllergyTest(AS_OF - timedelta(days=1), ()))
    assert screen(intake, PACK).decision is Outcome.ELIGIBLE
    late = Medication("Majezik", None, date(2026, 12, 4))
    intake = dataclasses.replace(intake, patient=dataclasses.replace(intake.patient,
                                                                     medications=(late,)))
    assert codes(screen(intake, PACK)) == ["NSAID_WASHOUT"]


def test_at_01_30_in_istanbul_a_past_stop_date_is_a_block() -> None:
    # The last day to stop is 3 Dec; at 01:30 on 4 Dec in Istanbul (22:30 UTC on the 3rd) the
    # date has passed: the clinic's zone gives a block, UTC would still say "stop by 3 Dec".
    still_taking = (Medication("Advil", None, None),)
    local = datetime(2026, 12, 4, 1, 30, tzinfo=IST)
    in_utc = local.astimezone(UTC)
    assert only(screen(make_intake(patient={"medications": still_taking}, as_of=local), PACK),
                "NSAID_WASHOUT").severity is Severity.BLOCK
    assert only(screen(make_intake(patient={"medications": still_taking}, as_of=in_utc), PACK),
                "NSAID_WASHOUT").severity is Severity.CONDITION


# --- the pack is the source of severities --------------------------------------------------------


def test_the_engine_reads_severities_from_the_pack(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_DATA_DIR, tmp_path / "pack")
    path = tmp_path / "pack" / "contraindications.yaml"
    text = path.read_text()
    text = text.replace("{code: HEART_DISEASE, severity: review,",
                        "{code: HEART_DISEASE, severity: block,")
    text = text.replace("{code: WORKUP_REQUIRED, severity: condition,",
                        "{code: WORKUP_REQUIRED, severity: block,")
    path.write_text(text)
    strict = load_pack(tmp_path / "pack")
    heart = make_intake(patient={"heart_disease": True})
    assert screen(heart, PACK).decision is Outcome.ELIGIBLE_WITH_CONDITIONS
    assert only(screen(heart, strict), "HEART_DISEASE").severity is Severity.BLOCK
    no_workup = screen(make_intake(workup=Workup()), strict)
    assert only(no_workup, "WORKUP_REQUIRED").severity is Severity.BLOCK
    assert no_workup.required_actions == ()  # a block has nothing left to complete


# --- monotonicity --------------------------------------------------------------------------------

EXTRA_MEDICINES = st.sampled_from(
    [
        Medication("Majezik", None, None),
        Medication("ASA 81 mg", None, None),
        Medication("Xarelto", None, None),
        Medication("Lantus", None, None),
        Medication("Zyxorin", None, None),
        Medication("paracetamol", "N02BE01", None),
        Medication("x", "M01AE01", SESSION_DAY),
        Medication("Coumadin", None, SESSION_DAY - timedelta(days=3)),
        Medication("Novalgin", None, None),
    ]
)
EXTRA_ALLERGIES = st.sampled_from(
    ["Lidocaine HCl 2%", "Novocain", "procaine", "soy", "penicillin", "Zorblax root",
     "sodium hyaluronate", "vitamin B complex", "chamomile", "latex", "Propecia", "EMLA"]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(intakes(), EXTRA_MEDICINES, EXTRA_ALLERGIES)
def test_adding_a_medicine_or_an_allergy_never_makes_a_decision_better(
    intake: Intake, medicine: Medication, allergy: str
) -> None:
    before = OUTCOME_RANK[screen(intake, PACK).decision]
    p = intake.patient
    more_meds = dataclasses.replace(p, medications=(*(p.medications or ()), medicine))
    more_allergies = dataclasses.replace(p, allergies=(*(p.allergies or ()), Allergy(allergy)))
    for patient in (more_meds, more_allergies):
        if (patient is more_meds and p.medications is None) or (
            patient is more_allergies and p.allergies is None
        ):
            continue  # "not recorded" turned into a list is new information, not an addition
        after = screen(dataclasses.replace(intake, patient=patient), PACK)
        assert OUTCOME_RANK[after.decision] <= before, after.findings
