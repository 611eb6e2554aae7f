"""The eligibility engine: a pure, deterministic `screen(intake, pack) -> Decision`.

No Django here: frozen dataclasses in and out, "now" is `Intake.as_of`. Every finding carries its
code, severity, the fact it rests on (DESIGN.md, "Clinical facts from the brief") and a message in
plain language. Dates: the session day is the first session's local date in its own UTC offset;
`as_of`'s date is likewise its local date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from mesoclinic.knowledge.pack import KnowledgePack

RULES_VERSION = "engine-1"

ADULT_AGE = 18  # F-ELIG-AGE
NSAID_WASHOUT_DAYS = 7  # F-NSAID
ALLERGY_TEST_LEAD = timedelta(hours=24)  # F-ALLERGY-TEST
NSAID_CLASS = "nsaid"


class Sex(StrEnum):
    """Sex as recorded at intake."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Diabetes(StrEnum):
    """Diabetes status."""

    NONE = "none"
    TYPE1 = "type1"
    TYPE2 = "type2"
    OTHER = "other"


class Cancer(StrEnum):
    """Cancer status."""

    NONE = "none"
    ACTIVE = "active"
    REMISSION = "remission"


class Severity(StrEnum):
    """How much a finding weighs, from block (never treated) to info (disclose)."""

    BLOCK = "block"
    REVIEW = "review"
    CONDITION = "condition"
    MISSING = "missing"
    INFO = "info"


class Outcome(StrEnum):
    """The overall decision."""

    ELIGIBLE = "eligible"
    ELIGIBLE_WITH_CONDITIONS = "eligible_with_conditions"
    INCOMPLETE = "incomplete"
    NOT_ELIGIBLE = "not_eligible"


SEVERITY_ORDER: dict[Severity, int] = {s: i for i, s in enumerate(Severity)}

# Best first; used by callers to compare decisions ("never better after adding a cause").
OUTCOME_RANK: dict[Outcome, int] = {
    Outcome.ELIGIBLE: 3,
    Outcome.ELIGIBLE_WITH_CONDITIONS: 2,
    Outcome.INCOMPLETE: 1,
    Outcome.NOT_ELIGIBLE: 0,
}


# --- input ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Medication:
    """A medicine the patient takes or took; `last_dose_on` None means still being taken."""

    name: str
    atc: str | None = None
    last_dose_on: date | None = None


@dataclass(frozen=True, slots=True)
class Allergy:
    """A known allergy."""

    substance: str


@dataclass(frozen=True, slots=True)
class Patient:
    """What screening needs to know about the patient; None means unknown."""

    birth_date: date
    sex: Sex
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    diabetes: Diabetes | None = None
    insulin: bool | None = None
    cancer: Cancer | None = None
    multi_drug_therapy: bool | None = None
    heart_disease: bool | None = None
    stroke_history: bool | None = None
    liver_disorder: bool | None = None
    kidney_disorder: bool | None = None
    # None: not recorded (unknown); an empty tuple: none.
    medications: tuple[Medication, ...] | None = None
    allergies: tuple[Allergy, ...] | None = None


@dataclass(frozen=True, slots=True)
class Treatment:
    """The proposed treatment; codes are knowledge-pack codes, first_session_at is aware."""

    area: str
    indication: str
    technique: str
    delivery: str
    ingredients: tuple[str, ...]
    first_session_at: datetime


@dataclass(frozen=True, slots=True)
class Workup:
    """Dates of the pre-treatment workup (F-WORKUP); None means not done."""

    physical_exam_on: date | None = None
    blood_test_on: date | None = None
    urine_test_on: date | None = None
    history_reviewed_on: date | None = None


@dataclass(frozen=True, slots=True)
class AllergyTest:
    """The allergy test (F-ALLERGY-TEST); reactive_to None means the result is not recorded."""

    performed_at: datetime | None = None
    reactive_to: tuple[str, ...] | None = ()


@dataclass(frozen=True, slots=True)
class Intake:
    """Everything one screening reads; `as_of` (aware) is the moment it is made."""

    patient: Patient
    treatment: Treatment
    as_of: datetime
    workup: Workup = Workup()
    allergy_test: AllergyTest | None = None


# --- output --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason in a decision; `field` (an optional extra) is the input path it concerns."""

    code: str
    severity: Severity
    fact: str
    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class RequiredAction:
    """Something to do before treatment; due_by is a date, a datetime or None."""

    code: str
    message: str
    due_by: date | datetime | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome with its findings, required actions and the rules/pack version."""

    decision: Outcome
    findings: tuple[Finding, ...]
    required_actions: tuple[RequiredAction, ...]
    rules_version: str


# --- the rules -----------------------------------------------------------------------------------


class _Context:
    """Per-screening values computed once, and the collected findings and actions."""

    __slots__ = ("actions", "as_of", "as_of_day", "findings", "intake", "pack", "session_day")

    def __init__(self, intake: Intake, pack: KnowledgePack) -> None:
        self.intake = intake
        self.pack = pack
        # The session day and as_of's day are local dates in their own offsets.
        self.session_day = intake.treatment.first_session_at.date()
        self.as_of = intake.as_of
        self.as_of_day = intake.as_of.date()
        self.findings: list[Finding] = []
        self.actions: list[RequiredAction] = []

    def add(self, code: str, severity: Severity, fact: str, message: str, field: str) -> None:
        """Record a finding."""
        self.findings.append(Finding(code, severity, fact, message, field))

    def missing(self, field: str, fact: str, what: str) -> None:
        """Record a MISSING_INFORMATION finding for `field` and the action to record it."""
        self.findings.append(
            Finding(
                "MISSING_INFORMATION",
                Severity.MISSING,
                fact,
                f"Not recorded: {field} ({what}). Screening cannot finish without it.",
                field,
            )
        )
        self.actions.append(
            RequiredAction("MISSING_INFORMATION", f"Record {field}: {what}.", None, field)
        )


def eighteenth_birthday(birth_date: date) -> date:
    """The day the patient turns 18; a 29 February birthday turns 18 on 1 March (F-ELIG-AGE)."""
    year = birth_date.year + ADULT_AGE
    if year > date.max.year:
        return date.max
    try:
        return birth_date.replace(year=year)
    except ValueError:  # 29 February in a non-leap year
        return date(year, 3, 1)


def rule_age(ctx: _Context) -> None:
    """Nobody under 18 on the day of the first session; the 18th birthday counts (F-ELIG-AGE)."""
    adult_on = eighteenth_birthday(ctx.intake.patient.birth_date)
    if ctx.session_day < adult_on:
        ctx.add(
            "AGE_UNDER_18",
            Severity.BLOCK,
            "F-ELIG-AGE",
            f"The patient is under 18 on the day of the first session ({ctx.session_day}) and "
            f"turns 18 on {adult_on}. Mesotherapy is for adults only.",
            "patient.birth_date",
        )


def rule_pregnancy(ctx: _Context) -> None:
    """Pregnant or breastfeeding patients are excluded; unknown unless male (F-ELIG-PREG)."""
    patient = ctx.intake.patient
    needed = patient.sex is not Sex.MALE
    if patient.pregnant is True:
        ctx.add(
            "PREGNANT",
            Severity.BLOCK,
            "F-ELIG-PREG",
            "The patient is pregnant. Mesotherapy is not given during pregnancy.",
            "patient.pregnant",
        )
    elif patient.pregnant is None and needed:
        ctx.missing("patient.pregnant", "F-ELIG-PREG", "whether the patient is pregnant")
    if patient.breastfeeding is True:
        ctx.add(
            "BREASTFEEDING",
            Severity.BLOCK,
            "F-ELIG-PREG",
            "The patient is breastfeeding. Mesotherapy is not given while breastfeeding.",
            "patient.breastfeeding",
        )
    elif patient.breastfeeding is None and needed:
        ctx.missing("patient.breastfeeding", "F-ELIG-PREG", "whether the patient is breastfeeding")


def rule_diabetes(ctx: _Context) -> None:
    """Insulin-dependent diabetes (type 1, or on insulin) excludes (F-ELIG-INSULIN)."""
    patient = ctx.intake.patient
    diabetes = patient.diabetes
    if diabetes is None:
        ctx.missing(
            "patient.diabetes", "F-ELIG-INSULIN", "whether the patient has diabetes, and which type"
        )
    if diabetes is Diabetes.NONE:
        return
    if diabetes is Diabetes.TYPE1 or patient.insulin is True:
        kind = "type 1 diabetes" if diabetes is Diabetes.TYPE1 else "diabetes treated with insulin"
        ctx.add(
            "INSULIN_DEPENDENT_DIABETES",
            Severity.BLOCK,
            "F-ELIG-INSULIN",
            f"The patient has {kind}. Insulin-dependent diabetes rules mesotherapy out.",
            "patient.diabetes" if diabetes is Diabetes.TYPE1 else "patient.insulin",
        )
    elif diabetes is not None and patient.insulin is None:
        ctx.missing(
            "patient.insulin", "F-ELIG-INSULIN", "whether the diabetes is treated with insulin"
        )


def rule_cancer(ctx: _Context) -> None:
    """Active cancer excludes; cancer in remission needs physician review (F-ELIG-CANCER)."""
    cancer = ctx.intake.patient.cancer
    if cancer is Cancer.ACTIVE:
        ctx.add(
            "ACTIVE_CANCER",
            Severity.BLOCK,
            "F-ELIG-CANCER",
            "The patient has cancer that is active or still being treated. "
            "Mesotherapy is not given.",
            "patient.cancer",
        )
    elif cancer is Cancer.REMISSION:
        ctx.add(
            "CANCER_HISTORY",
            Severity.REVIEW,
            "F-ELIG-CANCER",
            "The patient had cancer that is now in remission. A physician must review and "
            "decide before treatment.",
            "patient.cancer",
        )
    elif cancer is None:
        ctx.missing("patient.cancer", "F-ELIG-CANCER", "whether the patient has or has had cancer")


def rule_heart(ctx: _Context) -> None:
    """Heart disease with multi-drug therapy excludes; without, review (F-ELIG-MULTIDRUG)."""
    patient = ctx.intake.patient
    if patient.heart_disease is None:
        ctx.missing(
            "patient.heart_disease", "F-ELIG-MULTIDRUG", "whether the patient has heart disease"
        )
    elif patient.heart_disease:
        if patient.multi_drug_therapy is True:
            ctx.add(
                "HEART_DISEASE_MULTI_DRUG",
                Severity.BLOCK,
                "F-ELIG-MULTIDRUG",
                "The patient has heart disease and takes several medicines for it together "
                "(multi-drug therapy). Mesotherapy is not given.",
                "patient.multi_drug_therapy",
            )
        elif patient.multi_drug_therapy is False:
            ctx.add(
                "HEART_DISEASE",
                Severity.REVIEW,
                "F-ELIG-MULTIDRUG",
                "The patient has heart disease (without multi-drug therapy). A physician must "
                "review and decide before treatment.",
                "patient.heart_disease",
            )
        else:
            ctx.missing(
                "patient.multi_drug_therapy",
                "F-ELIG-MULTIDRUG",
                "whether the patient is on multi-drug therapy",
            )


def _boolean_block(
    code: str, fact: str, attribute: str, blocked: str, what: str
) -> Callable[[_Context], None]:
    """Build a rule that blocks when a patient flag is true and asks for it when unknown."""
    field = f"patient.{attribute}"

    def rule(ctx: _Context) -> None:
        value = getattr(ctx.intake.patient, attribute)
        if value is True:
            ctx.add(code, Severity.BLOCK, fact, blocked, field)
        elif value is None:
            ctx.missing(field, fact, what)

    rule.__name__ = f"rule_{attribute}"
    rule.__doc__ = f"{code}: block when {field} is true, missing when unknown ({fact})."
    return rule


rule_stroke = _boolean_block(
    "STROKE_HISTORY",
    "F-ELIG-STROKE",
    "stroke_history",
    "The patient has had a stroke. Mesotherapy is not given after a stroke.",
    "whether the patient has ever had a stroke",
)
rule_liver = _boolean_block(
    "LIVER_DISORDER",
    "F-ELIG-LIVER-KIDNEY",
    "liver_disorder",
    "The patient has a liver disorder. Mesotherapy is not given.",
    "whether the patient has a liver disorder",
)
rule_kidney = _boolean_block(
    "KIDNEY_DISORDER",
    "F-ELIG-LIVER-KIDNEY",
    "kidney_disorder",
    "The patient has a kidney disorder. Mesotherapy is not given.",
    "whether the patient has a kidney disorder",
)


def rule_nsaid(ctx: _Context) -> None:
    """Aspirin and other NSAIDs must be stopped at least 7 days before the session (F-NSAID)."""
    medications = ctx.intake.patient.medications
    if medications is None:
        ctx.missing(
            "patient.medications",
            "F-NSAID",
            "the medicines the patient takes (an empty list if none)",
        )
        return
    last_allowed = ctx.session_day - timedelta(days=NSAID_WASHOUT_DAYS)
    classes_of = ctx.pack.medication_class_codes
    for index, medication in enumerate(medications):
        if NSAID_CLASS not in classes_of(medication.name, medication.atc):
            continue
        field = f"patient.medications[{index}]"
        name = medication.name
        last = medication.last_dose_on
        if last is None:
            if last_allowed < ctx.as_of_day:
                ctx.add(
                    "NSAID_WASHOUT",
                    Severity.BLOCK,
                    "F-NSAID",
                    f"{name} (an NSAID) is still being taken. It had to be stopped by "
                    f"{last_allowed}, 7 days before the first session on {ctx.session_day}; "
                    "move the session.",
                    field,
                )
            else:
                ctx.add(
                    "NSAID_WASHOUT",
                    Severity.CONDITION,
                    "F-NSAID",
                    f"{name} (an NSAID) is still being taken. The last dose may be taken on "
                    f"{last_allowed} at the latest, 7 days before the first session.",
                    field,
                )
                ctx.actions.append(
                    RequiredAction(
                        "NSAID_WASHOUT",
                        f"Stop {name}: last dose on or before {last_allowed}.",
                        last_allowed,
                        field,
                    )
                )
        elif last > last_allowed:
            days = (ctx.session_day - last).days
            ctx.add(
                "NSAID_WASHOUT",
                Severity.BLOCK,
                "F-NSAID",
                f"The last dose of {name} (an NSAID) on {last} is {days} day(s) before the first "
                f"session on {ctx.session_day}; at least 7 days are needed.",
                field,
            )


def rule_allergy_test(ctx: _Context) -> None:
    """An allergy test at least 24 h before the first session (F-ALLERGY-TEST)."""
    test = ctx.intake.allergy_test
    session_at = ctx.intake.treatment.first_session_at
    due_by = session_at - ALLERGY_TEST_LEAD
    if test is None or test.performed_at is None:
        if due_by < ctx.as_of:
            ctx.add(
                "ALLERGY_TEST_REQUIRED",
                Severity.BLOCK,
                "F-ALLERGY-TEST",
                f"No allergy test has been done, and it is too late for one 24 hours before the "
                f"first session ({due_by.isoformat()}); move the session.",
                "allergy_test",
            )
        else:
            ctx.add(
                "ALLERGY_TEST_REQUIRED",
                Severity.CONDITION,
                "F-ALLERGY-TEST",
                f"An allergy test with the planned ingredients is needed by {due_by.isoformat()}, "
                "at least 24 hours before the first session.",
                "allergy_test",
            )
            ctx.actions.append(
                RequiredAction(
                    "ALLERGY_TEST_REQUIRED",
                    f"Do the allergy test by {due_by.isoformat()}.",
                    due_by,
                    "allergy_test",
                )
            )
        return
    if session_at - test.performed_at < ALLERGY_TEST_LEAD:
        ctx.add(
            "ALLERGY_TEST_TOO_LATE",
            Severity.BLOCK,
            "F-ALLERGY-TEST",
            f"The allergy test ({test.performed_at.isoformat()}) was less than 24 hours before "
            f"the first session ({session_at.isoformat()}); move the session.",
            "allergy_test.performed_at",
        )
    if test.reactive_to is None:
        ctx.missing(
            "allergy_test.reactive_to",
            "F-ALLERGY-TEST",
            "the substances the allergy test reacted to (an empty list if none)",
        )


def rule_ingredient_allergy(ctx: _Context) -> None:
    """An allergy or a test reaction to a planned ingredient excludes it (F-ALLERGY-TEST)."""
    patient = ctx.intake.patient
    test = ctx.intake.allergy_test
    canonical = ctx.pack.canonical_ingredient
    causes: dict[str, list[str]] = {}
    if patient.allergies:
        for allergy in patient.allergies:
            causes.setdefault(canonical(allergy.substance), []).append(
                f"a recorded allergy to {allergy.substance}"
            )
    if test is not None and test.reactive_to:
        for substance in test.reactive_to:
            causes.setdefault(canonical(substance), []).append(
                f"a reaction to {substance} in the allergy test"
            )
    if patient.allergies is None:
        ctx.missing(
            "patient.allergies",
            "F-ALLERGY-TEST",
            "the patient's known allergies (an empty list if none)",
        )
    if not causes:
        return
    seen: set[str] = set()
    for index, ingredient in enumerate(ctx.intake.treatment.ingredients):
        canon = canonical(ingredient)
        if canon in seen or canon not in causes:
            continue
        seen.add(canon)
        ctx.add(
            "INGREDIENT_ALLERGY",
            Severity.BLOCK,
            "F-ALLERGY-TEST",
            f"The planned solution contains {ingredient}, and the patient has "
            f"{' and '.join(causes[canon])}. This solution cannot be used.",
            f"treatment.ingredients[{index}]",
        )


_WORKUP_ITEMS = (
    ("physical_exam_on", "physical examination"),
    ("blood_test_on", "blood test"),
    ("urine_test_on", "urine test"),
    ("history_reviewed_on", "medical history review"),
)


def rule_workup(ctx: _Context) -> None:
    """Examination, blood and urine tests and history review before treatment (F-WORKUP)."""
    workup = ctx.intake.workup
    todo = [label for attribute, label in _WORKUP_ITEMS if getattr(workup, attribute) is None]
    if not todo:
        return
    listed = ", ".join(todo)
    ctx.add(
        "WORKUP_REQUIRED",
        Severity.CONDITION,
        "F-WORKUP",
        f"Still to do before treatment: {listed}.",
        "workup",
    )
    ctx.actions.append(
        RequiredAction("WORKUP_REQUIRED", f"Complete the workup: {listed}.", None, "workup")
    )


def rule_disclosures(ctx: _Context) -> None:
    """Disclose that fat reduction is not FDA-approved and needle-free is less effective."""
    treatment = ctx.intake.treatment
    if treatment.indication == "regional_fat":  # F-INDICATIONS
        indication = ctx.pack.indications.get("regional_fat")
        ctx.add(
            "FAT_REDUCTION_NOT_APPROVED",
            Severity.INFO,
            "F-INDICATIONS",
            (indication.disclosure if indication and indication.disclosure else None)
            or "Fat reduction by mesotherapy is not FDA-approved; tell the patient.",
            "treatment.indication",
        )
    if treatment.delivery == "needle_free":  # F-TECHNIQUE
        delivery = ctx.pack.deliveries.get("needle_free")
        ctx.add(
            "NEEDLE_FREE_LOWER_EFFICACY",
            Severity.INFO,
            "F-TECHNIQUE",
            (delivery.disclosure if delivery and delivery.disclosure else None)
            or "Needle-free delivery is less effective than needles; tell the patient.",
            "treatment.delivery",
        )


RULES: tuple[Callable[[_Context], None], ...] = (
    rule_age,
    rule_pregnancy,
    rule_diabetes,
    rule_cancer,
    rule_heart,
    rule_stroke,
    rule_liver,
    rule_kidney,
    rule_ingredient_allergy,
    rule_nsaid,
    rule_allergy_test,
    rule_workup,
    rule_disclosures,
)


def outcome_of(findings: tuple[Finding, ...] | list[Finding]) -> Outcome:
    """Block beats missing beats review/condition; nothing left is eligible."""
    severities = {f.severity for f in findings}
    if Severity.BLOCK in severities:
        return Outcome.NOT_ELIGIBLE
    if Severity.MISSING in severities:
        return Outcome.INCOMPLETE
    if Severity.REVIEW in severities or Severity.CONDITION in severities:
        return Outcome.ELIGIBLE_WITH_CONDITIONS
    return Outcome.ELIGIBLE


def _finding_key(finding: Finding) -> tuple[int, str]:
    """Sort by severity, then code; ties keep the rules' order."""
    return SEVERITY_ORDER[finding.severity], finding.code


def screen(intake: Intake, pack: KnowledgePack) -> Decision:
    """Screen an intake against every rule and decide; pure and deterministic."""
    ctx = _Context(intake, pack)
    for rule in RULES:
        rule(ctx)
    findings = tuple(sorted(ctx.findings, key=_finding_key))
    # Actions follow the order of the findings they come from.
    order = {(f.code, f.field): i for i, f in enumerate(findings)}
    actions = tuple(sorted(ctx.actions, key=lambda a: order.get((a.code, a.field), len(order))))
    return Decision(
        decision=outcome_of(findings),
        findings=findings,
        required_actions=actions,
        rules_version=f"{RULES_VERSION}+pack-{pack.version}",
    )
