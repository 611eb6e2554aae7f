"""The eligibility engine: a pure, deterministic `screen(intake, pack) -> Decision`.

No Django here: frozen dataclasses in and out, "now" is `Intake.as_of`. Every finding carries its
code, severity, the fact it rests on (DESIGN.md, "Clinical facts from the brief") and a message in
plain language. Each code's severity is the knowledge pack's (contraindications.yaml); a rule can
only make a finding a block where a condition can no longer be met in time.

Time: the engine reasons in the clinic's zone, which the caller gives as the offsets of `as_of`
and of the first session (the product passes the clinic's zone). The session day is the first
session's local date; "today" is `as_of`'s local date; an allergy test's day is read in the
session's offset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from mesoclinic.knowledge.pack import AllergyConcept, KnowledgePack

RULES_VERSION = "engine-2"

ADULT_AGE = 18  # F-ELIG-AGE
NSAID_WASHOUT_DAYS = 7  # F-NSAID
# Irreversible platelet inhibitors act for the platelets' lifespan, 7-10 days after the last dose:
# a blood thinner stopped less than this before the session still counts (F-SIDE-EFFECTS).
ANTITHROMBOTIC_DAYS = 10
# Insulin stopped within three months still means a diabetes treated with insulin (F-ELIG-INSULIN).
INSULIN_RECENT_DAYS = 90
ALLERGY_TEST_LEAD = timedelta(hours=24)  # F-ALLERGY-TEST
NSAID_CLASS = "nsaid"
INSULIN_CLASS = "insulin"
ANTITHROMBOTIC_CLASSES = {"antiplatelet": "an antiplatelet", "anticoagulant": "an anticoagulant"}


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
    """The allergy test (F-ALLERGY-TEST); reactive_to None means the result is not recorded;
    tested None means what was tested is not recorded (then it is not checked)."""

    performed_at: datetime | None = None
    reactive_to: tuple[str, ...] | None = ()
    tested: tuple[str, ...] | None = None


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

    __slots__ = (
        "_medicines",
        "actions",
        "as_of",
        "as_of_day",
        "findings",
        "intake",
        "pack",
        "session_day",
    )

    def __init__(self, intake: Intake, pack: KnowledgePack) -> None:
        self.intake = intake
        self.pack = pack
        # The session day and as_of's day are local dates in their own offsets.
        self.session_day = intake.treatment.first_session_at.date()
        self.as_of = intake.as_of
        self.as_of_day = intake.as_of.date()
        self.findings: list[Finding] = []
        self.actions: list[RequiredAction] = []
        self._medicines: list[frozenset[str]] | None = None

    def add(self, code: str, fact: str, message: str, field: str, *, block: bool = False) -> None:
        """Record a finding with the pack's severity for its code; `block` when a condition can
        no longer be met in time."""
        severity = Severity.BLOCK if block else _SEVERITY[self.pack.severities[code]]
        self.findings.append(Finding(code, severity, fact, message, field))

    def missing(self, field: str, fact: str, what: str) -> None:
        """Record a MISSING_INFORMATION finding for `field` and the action to record it."""
        self.add(
            "MISSING_INFORMATION",
            fact,
            f"Not recorded: {field} ({what}). Screening cannot finish without it.",
            field,
        )
        self.actions.append(
            RequiredAction("MISSING_INFORMATION", f"Record {field}: {what}.", None, field)
        )

    def medicine_classes(self) -> list[frozenset[str]]:
        """The classes of each medicine, in list order (resolved once per screening)."""
        if self._medicines is None:
            resolve = self.pack.resolve_medicine
            self._medicines = [
                resolve(m.name, m.atc).classes for m in self.intake.patient.medications or ()
            ]
        return self._medicines


_SEVERITY: dict[str, Severity] = {s.value: s for s in Severity}


def eighteenth_birthday(birth_date: date) -> date:
    """The day the patient turns 18; a 29 February birthday turns 18 on 1 March (F-ELIG-AGE)."""
    year = birth_date.year + ADULT_AGE
    if year > date.max.year:
        return date.max
    try:
        return birth_date.replace(year=year)
    except ValueError:  # 29 February in a non-leap year
        return date(year, 3, 1)


@lru_cache(maxsize=4096)  # a few hundred distinct session days in any real mix
def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier; the 31st becomes the month's last day."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - 28 always exists


def rule_age(ctx: _Context) -> None:
    """Nobody under 18 on the day of the first session; the 18th birthday counts (F-ELIG-AGE)."""
    adult_on = eighteenth_birthday(ctx.intake.patient.birth_date)
    if ctx.session_day < adult_on:
        ctx.add(
            "AGE_UNDER_18",
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
            "F-ELIG-PREG",
            "The patient is pregnant. Mesotherapy is not given during pregnancy.",
            "patient.pregnant",
        )
    elif patient.pregnant is None and needed:
        ctx.missing("patient.pregnant", "F-ELIG-PREG", "whether the patient is pregnant")
    if patient.breastfeeding is True:
        ctx.add(
            "BREASTFEEDING",
            "F-ELIG-PREG",
            "The patient is breastfeeding. Mesotherapy is not given while breastfeeding.",
            "patient.breastfeeding",
        )
    elif patient.breastfeeding is None and needed:
        ctx.missing("patient.breastfeeding", "F-ELIG-PREG", "whether the patient is breastfeeding")


def _insulin_medicine(ctx: _Context) -> int | None:
    """The index of an insulin in the medicine list, still taken or stopped only recently."""
    medications = ctx.intake.patient.medications
    if not medications:
        return None
    since = ctx.session_day - timedelta(days=INSULIN_RECENT_DAYS)
    for index, classes in enumerate(ctx.medicine_classes()):
        last = medications[index].last_dose_on
        if INSULIN_CLASS in classes and (last is None or last >= since):
            return index
    return None


def rule_diabetes(ctx: _Context) -> None:
    """Insulin-dependent diabetes (type 1, or on insulin) excludes; insulin in the medicine list
    means insulin, whatever the checkbox says (F-ELIG-INSULIN)."""
    patient = ctx.intake.patient
    diabetes = patient.diabetes
    if diabetes is None:
        ctx.missing(
            "patient.diabetes", "F-ELIG-INSULIN", "whether the patient has diabetes, and which type"
        )
    insulin_at = _insulin_medicine(ctx)
    if diabetes is Diabetes.TYPE1:
        ctx.add(
            "INSULIN_DEPENDENT_DIABETES",
            "F-ELIG-INSULIN",
            "The patient has type 1 diabetes. Insulin-dependent diabetes rules mesotherapy out.",
            "patient.diabetes",
        )
    elif insulin_at is not None:
        name = (patient.medications or ())[insulin_at].name
        note = (
            " The record says the patient has no diabetes: correct it."
            if diabetes is Diabetes.NONE
            else ""
        )
        ctx.add(
            "INSULIN_DEPENDENT_DIABETES",
            "F-ELIG-INSULIN",
            f"{name} in the medicine list is an insulin, so the patient's diabetes is treated "
            f"with insulin, whatever the insulin box says. Insulin-dependent diabetes rules "
            f"mesotherapy out.{note}",
            f"patient.medications[{insulin_at}]",
        )
    elif diabetes is Diabetes.NONE:
        return
    elif patient.insulin is True:
        ctx.add(
            "INSULIN_DEPENDENT_DIABETES",
            "F-ELIG-INSULIN",
            "The patient has diabetes treated with insulin. Insulin-dependent diabetes rules "
            "mesotherapy out.",
            "patient.insulin",
        )
    elif diabetes is not None and patient.insulin is None:
        ctx.missing(
            "patient.insulin", "F-ELIG-INSULIN", "whether the diabetes is treated with insulin"
        )


def rule_cancer(ctx: _Context) -> None:
    """Active cancer excludes; in remission, review; either with multi-drug therapy excludes
    (F-ELIG-CANCER, F-ELIG-MULTIDRUG)."""
    patient = ctx.intake.patient
    cancer = patient.cancer
    if cancer is Cancer.ACTIVE:
        ctx.add(
            "ACTIVE_CANCER",
            "F-ELIG-CANCER",
            "The patient has cancer that is active or still being treated. Mesotherapy is not given.",
            "patient.cancer",
        )
    elif cancer is Cancer.REMISSION:
        ctx.add(
            "CANCER_HISTORY",
            "F-ELIG-CANCER",
            "The patient had cancer that is now in remission. A physician must review and "
            "decide before treatment.",
            "patient.cancer",
        )
    elif cancer is None:
        ctx.missing("patient.cancer", "F-ELIG-CANCER", "whether the patient has or has had cancer")
    if cancer in (Cancer.ACTIVE, Cancer.REMISSION) and patient.multi_drug_therapy is True:
        ctx.add(
            "CANCER_MULTI_DRUG",
            "F-ELIG-MULTIDRUG",
            "The patient has or has had cancer and takes several medicines together "
            "(multi-drug therapy). Mesotherapy is not given.",
            "patient.multi_drug_therapy",
        )
    elif (
        cancer is Cancer.REMISSION
        and patient.multi_drug_therapy is None
        and patient.heart_disease is not True  # rule_heart asks for it then
    ):
        ctx.missing(
            "patient.multi_drug_therapy",
            "F-ELIG-MULTIDRUG",
            "whether the patient is on multi-drug therapy",
        )


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
                "F-ELIG-MULTIDRUG",
                "The patient has heart disease and takes several medicines for it together "
                "(multi-drug therapy). Mesotherapy is not given.",
                "patient.multi_drug_therapy",
            )
        elif patient.multi_drug_therapy is False:
            ctx.add(
                "HEART_DISEASE",
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
            ctx.add(code, fact, blocked, field)
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
    if not medications:
        return
    last_allowed = ctx.session_day - timedelta(days=NSAID_WASHOUT_DAYS)
    for index, classes in enumerate(ctx.medicine_classes()):
        if NSAID_CLASS not in classes:
            continue
        medication = medications[index]
        field = f"patient.medications[{index}]"
        name = medication.name
        last = medication.last_dose_on
        if last is None:
            if last_allowed < ctx.as_of_day:
                ctx.add(
                    "NSAID_WASHOUT",
                    "F-NSAID",
                    f"{name} (an NSAID) is still being taken. It had to be stopped by "
                    f"{last_allowed}, 7 days before the first session on {ctx.session_day}; "
                    "move the session.",
                    field,
                    block=True,
                )
            else:
                ctx.add(
                    "NSAID_WASHOUT",
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
                "F-NSAID",
                f"The last dose of {name} (an NSAID) on {last} is {days} day(s) before the first "
                f"session on {ctx.session_day}; at least 7 days are needed.",
                field,
                block=True,
            )


def rule_medicines(ctx: _Context) -> None:
    """Blood thinners need the physician and the prescriber (never an automatic stop); a medicine
    the catalogue cannot classify needs a physician to code it (F-SIDE-EFFECTS, F-NSAID)."""
    medications = ctx.intake.patient.medications
    if not medications:
        return
    recent = ctx.session_day - timedelta(days=ANTITHROMBOTIC_DAYS)
    resolve = ctx.pack.resolve_medicine
    for index, classes in enumerate(ctx.medicine_classes()):
        medication = medications[index]
        if medication.last_dose_on is not None and medication.last_dose_on < recent:
            continue  # stopped long enough ago that no rule reads it
        field = f"patient.medications[{index}]"
        kinds = [label for cls, label in ANTITHROMBOTIC_CLASSES.items() if cls in classes]
        if kinds:
            ctx.add(
                "ANTITHROMBOTIC_THERAPY",
                "F-SIDE-EFFECTS",
                f"{medication.name} ({' and '.join(kinds)}) makes bleeding and bruising at the "
                "injection points more likely. The physician decides with the prescriber whether "
                "and when to treat; the patient must not stop it on their own.",
                field,
            )
        if not resolve(medication.name, medication.atc).classified:
            ctx.add(
                "UNCLASSIFIED_MEDICATION",
                "F-NSAID",
                f"{medication.name} is not in the medicine catalogue and has no ATC code, so "
                "screening cannot tell whether it is an NSAID, a blood thinner or an insulin. "
                "A physician must code it (choose the catalogue medicine or enter its ATC code).",
                field,
            )


def rule_allergy_test(ctx: _Context) -> None:
    """A valid allergy test at least 24 h before the first session: done by as_of, not older
    than the pack's validity, and covering every planned ingredient (F-ALLERGY-TEST)."""
    test = ctx.intake.allergy_test
    treatment = ctx.intake.treatment
    session_at = treatment.first_session_at
    due_by = session_at - ALLERGY_TEST_LEAD
    performed = test.performed_at if test is not None else None
    months = ctx.pack.validity.allergy_test_months
    reason: str | None = None
    if test is None or performed is None:
        reason = "No allergy test has been done"
    elif performed > ctx.as_of:
        reason = (
            f"The allergy test is dated {performed.isoformat()}, after this screening "
            f"({ctx.as_of.isoformat()}), so it has not been done yet"
        )
    elif session_at - performed < ALLERGY_TEST_LEAD:
        ctx.add(
            "ALLERGY_TEST_TOO_LATE",
            "F-ALLERGY-TEST",
            f"The allergy test ({performed.isoformat()}) was less than 24 hours before "
            f"the first session ({session_at.isoformat()}); move the session.",
            "allergy_test.performed_at",
        )
    else:
        tested_on = performed.astimezone(session_at.tzinfo).date()
        oldest = months_before(ctx.session_day, months)
        if tested_on < oldest:
            reason = (
                f"The allergy test of {tested_on} is more than {months} months before the first "
                f"session on {ctx.session_day} and no longer counts"
            )
        elif test.tested is not None:
            untested = _untested(ctx, test.tested)
            if untested:
                reason = (
                    f"The allergy test of {tested_on} did not test {', '.join(untested)}, which "
                    "the planned solution contains"
                )
    if reason is not None:
        due = due_by.isoformat()
        if due_by < ctx.as_of:
            ctx.add(
                "ALLERGY_TEST_REQUIRED",
                "F-ALLERGY-TEST",
                f"{reason}, and it is too late for a new one 24 hours before the first session "
                f"({due}); move the session.",
                "allergy_test",
                block=True,
            )
        else:
            ctx.add(
                "ALLERGY_TEST_REQUIRED",
                "F-ALLERGY-TEST",
                f"{reason}. An allergy test with the planned ingredients is needed by {due}, at "
                "least 24 hours before the first session.",
                "allergy_test",
            )
            ctx.actions.append(
                RequiredAction(
                    "ALLERGY_TEST_REQUIRED",
                    f"Do the allergy test with every planned ingredient by {due}.",
                    due_by,
                    "allergy_test",
                )
            )
    if performed is not None and test is not None and test.reactive_to is None:
        ctx.missing(
            "allergy_test.reactive_to",
            "F-ALLERGY-TEST",
            "the substances the allergy test reacted to (an empty list if none)",
        )


def _untested(ctx: _Context, tested: tuple[str, ...]) -> list[str]:
    """The planned ingredients (as written) that the test did not cover, itself or by parts."""
    pack = ctx.pack
    covered: set[str] = set()
    for name in tested:
        covered.update(pack.ingredient_profile(name).direct)
    missed: list[str] = []
    for name in ctx.intake.treatment.ingredients:
        code = pack.canonical_ingredient(name)
        if code in covered:
            continue
        parts = pack.ingredients[code].contains if code in pack.ingredients else ()
        if parts and all(part in covered for part in parts):
            continue
        if name not in missed:
            missed.append(name)
    return missed


def rule_ingredient_allergy(ctx: _Context) -> None:
    """An allergy or a test reaction to a planned ingredient excludes it; to a cross-reacting one,
    review; one the catalogue cannot resolve, review (F-ALLERGY-TEST)."""
    patient = ctx.intake.patient
    test = ctx.intake.allergy_test
    resolve = ctx.pack.resolve_allergy
    # (concept, substance, True for a test reaction); the cause's words are built only on a hit
    causes: list[tuple[AllergyConcept, str, bool]] = []
    for from_test, entries, path in (
        (False, [a.substance for a in patient.allergies or ()], "patient.allergies"),
        (
            True,
            list(test.reactive_to or ()) if test is not None else [],
            "allergy_test.reactive_to",
        ),
    ):
        for index, substance in enumerate(entries):
            concept = resolve(substance)
            if concept is None:
                ctx.add(
                    "UNCLASSIFIED_ALLERGY",
                    "F-ALLERGY-TEST",
                    f"The allergy to {substance!r} is not in the allergen catalogue, so screening "
                    "cannot tell which ingredients it rules out. A physician must code it or "
                    "decide.",
                    f"{path}[{index}]",
                )
            else:
                causes.append((concept, substance, from_test))
    if patient.allergies is None:
        ctx.missing(
            "patient.allergies",
            "F-ALLERGY-TEST",
            "the patient's known allergies (an empty list if none)",
        )
    if not causes:
        return
    seen: set[str] = set()
    profile_of = ctx.pack.ingredient_profile
    for index, ingredient in enumerate(ctx.intake.treatment.ingredients):
        canon = ctx.pack.canonical_ingredient(ingredient)
        if canon in seen:
            continue
        seen.add(canon)
        profile = profile_of(ingredient)
        direct = [_cause(name, t) for concept, name, t in causes if concept.direct & profile.direct]
        field = f"treatment.ingredients[{index}]"
        if direct:
            ctx.add(
                "INGREDIENT_ALLERGY",
                "F-ALLERGY-TEST",
                f"The planned solution contains {ingredient}, and the patient has "
                f"{' and '.join(direct)}. This solution cannot be used.",
                field,
            )
            continue
        cross = [
            (_cause(name, t), concept.groups & profile.groups)
            for concept, name, t in causes
            if concept.groups & profile.groups
        ]
        if cross:
            groups = sorted({g for _, shared in cross for g in shared})
            labels = ", ".join(ctx.pack.cross_reactivity[g].label for g in groups)
            ctx.add(
                "ALLERGY_CROSS_REACTIVITY",
                "F-ALLERGY-TEST",
                f"The planned solution contains {ingredient}, which can cross-react with "
                f"{' and '.join(cause for cause, _ in cross)} ({labels}). A physician must "
                "decide, with an allergist's test where needed.",
                field,
            )


def _cause(substance: str, from_test: bool) -> str:
    """How a cause reads in a message."""
    if from_test:
        return f"a reaction to {substance} in the allergy test"
    return f"a recorded allergy to {substance}"


def rule_ingredient_risk(ctx: _Context) -> None:
    """Ingredient-level cautions of the pack, e.g. finasteride for a woman (each cites its source)."""
    sex = ctx.intake.patient.sex.value
    seen: set[tuple[str, str]] = set()
    for index, ingredient in enumerate(ctx.intake.treatment.ingredients):
        for caution in ctx.pack.cautions_for(ingredient):
            if caution.sexes and sex not in caution.sexes:
                continue
            key = (caution.code, ctx.pack.canonical_ingredient(ingredient))
            if key in seen:
                continue
            seen.add(key)
            ctx.add(
                caution.finding,
                caution.fact,
                f"{ingredient} {caution.message} (Source: {caution.source})",
                f"treatment.ingredients[{index}]",
            )


_WORKUP_ITEMS = (
    ("physical_exam_on", "physical examination"),
    ("blood_test_on", "blood test"),
    ("urine_test_on", "urine test"),
    ("history_reviewed_on", "medical history review"),
)


def rule_workup(ctx: _Context) -> None:
    """Examination, blood and urine tests and history review before treatment, each done by
    today, before the first session and within the pack's validity (F-WORKUP)."""
    workup = ctx.intake.workup
    months = ctx.pack.validity.workup_months
    oldest = months_before(ctx.session_day, months)
    todo: list[str] = []
    for attribute, label in _WORKUP_ITEMS:
        done_on: date | None = getattr(workup, attribute)
        if done_on is None:
            todo.append(label)
        elif done_on > ctx.session_day:
            todo.append(f"{label} (the one dated {done_on} is after the first session)")
        elif done_on > ctx.as_of_day:
            todo.append(f"{label} (the one dated {done_on} is in the future)")
        elif done_on < oldest:
            todo.append(f"{label} (the one of {done_on} is older than {months} months)")
    if not todo:
        return
    listed = ", ".join(todo)
    ctx.add("WORKUP_REQUIRED", "F-WORKUP", f"Still to do before treatment: {listed}.", "workup")
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
            "F-INDICATIONS",
            (indication.disclosure if indication and indication.disclosure else None)
            or "Fat reduction by mesotherapy is not FDA-approved; tell the patient.",
            "treatment.indication",
        )
    if treatment.delivery == "needle_free":  # F-TECHNIQUE
        delivery = ctx.pack.deliveries.get("needle_free")
        ctx.add(
            "NEEDLE_FREE_LOWER_EFFICACY",
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
    rule_ingredient_risk,
    rule_nsaid,
    rule_medicines,
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
    # Actions follow the order of the findings they come from; a finding the pack made a block
    # or a review has no action to complete.
    actions: tuple[RequiredAction, ...] = ()
    if ctx.actions:
        order = {
            (f.code, f.field): i
            for i, f in enumerate(findings)
            if f.severity in (Severity.CONDITION, Severity.MISSING)
        }
        actions = tuple(
            sorted(
                (a for a in ctx.actions if (a.code, a.field) in order),
                key=lambda a: order[(a.code, a.field)],
            )
        )
    return Decision(
        decision=outcome_of(findings),
        findings=findings,
        required_actions=actions,
        rules_version=f"{RULES_VERSION}+pack-{pack.version}",
    )
