"""The pre-session safety check (pure): may this session start now, and if not, what to fix.

No Django here: dataclasses in, a frozen `SessionCheckResult` out, "now" is part of the input.
`mesoclinic session-check`, the session pages and the API all run `check()` on the same input
(built by `session_check_contract.parse`), so they can never disagree.

Every failing item is reported, once per code, in the contract's order (`CODES`), its message
naming every lot, credential or event concerned. A `Blocking` carries English templates marked
with `gettext_noop` (so makemessages extracts them) and the parts to fill in, plain text (lot
numbers, dates) or marked labels ("medical licence"); `.message` and `.fix` are the English text,
`localise(blocking, gettext)` the text in the active language.

Time: the session's local day is `now` in the clinic's `timezone`. Every date in the check
(credential and licence validity, lot expiry, the screening's day) is judged on that local day,
and a datetime written with any other offset is first converted to that zone. Durations (24 h
after the allergy test, 30 min after the cream) are measured in absolute time, so a change of
daylight-saving time never shortens or lengthens them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

from mesoclinic.plans.lifecycle import CLOSED, Status

PlanStatus = Status  # a plan's status: the plans app's own values, re-exported for callers


def gettext_noop(message: str) -> str:
    """Mark a template or label for translation; `localise` translates it when shown."""
    return message


ALLERGY_TEST_LEAD = timedelta(hours=24)  # F-ALLERGY-TEST: at least 24 h before; exactly 24 h passes
# F-ANAESTHESIA: cream 30–40 min before. 30 min exactly passes; past 40 min is no reason to
# refuse a session (the cream has worked; only too early is a problem).
CREAM_LEAD = timedelta(minutes=30)

# The contract's codes, in the order they are reported.
CODES = (
    "SCREENING_STALE", "SCREENING_BLOCKS", "SCREENING_INCOMPLETE", "SCREENING_OPEN_ITEM",
    "PLAN_NOT_ACTIVE", "CONSENT_MISSING", "CONSENT_OUTDATED", "CONSENT_WITHDRAWN",
    "ALLERGY_TEST_MISSING", "ALLERGY_TEST_TOO_RECENT", "ALLERGY_TEST_INCOMPLETE",
    "ALLERGY_TEST_REACTION", "WORKUP_NOT_SIGNED", "CREAM_NOT_APPLIED", "CREAM_NOT_READY",
    "PERFORMER_NOT_QUALIFIED", "CLINIC_NOT_LICENSED", "ADVERSE_EVENT_HOLD", "LOT_EXPIRED",
    "LOT_RECALLED", "LOT_INSUFFICIENT",
)


class Decision(StrEnum):
    """A screening's decision (the values of screening's Decision / rules.Outcome)."""

    ELIGIBLE = "eligible"
    ELIGIBLE_WITH_CONDITIONS = "eligible_with_conditions"
    INCOMPLETE = "incomplete"
    NOT_ELIGIBLE = "not_eligible"


class Severity(StrEnum):
    """A screening finding's severity (screening.rules.Severity)."""

    BLOCK = "block"
    REVIEW = "review"
    CONDITION = "condition"
    MISSING = "missing"
    INFO = "info"


# An open finding of these severities holds the session until met or accepted. `block` and
# `missing` already show in the decision (not_eligible, incomplete); `info` is only disclosed.
OPEN_ITEM_SEVERITIES = frozenset({Severity.REVIEW, Severity.CONDITION})


class Role(StrEnum):
    """Who gives the session (F-CREDENTIALS)."""

    PHYSICIAN = "physician"
    NURSE = "nurse"


class CredentialKind(StrEnum):
    """A credential the check knows (F-CREDENTIALS)."""

    MEDICAL_LICENCE = "medical_licence"
    DERMATOLOGY = "dermatology"
    NURSING_LICENCE = "nursing_licence"
    MESOTHERAPY_TRAINING = "mesotherapy_training"


class EventSeverity(StrEnum):
    """An adverse event's severity."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


# An uncleared event of these severities puts the patient's sessions on hold.
HOLD_SEVERITIES = frozenset({EventSeverity.MODERATE, EventSeverity.SEVERE})

# F-CREDENTIALS: a dermatologist trained in mesotherapy, or a specialist nurse (who also needs a
# plan a physician approved).
REQUIRED_CREDENTIALS: Mapping[Role, tuple[CredentialKind, ...]] = MappingProxyType({
    Role.PHYSICIAN: (CredentialKind.MEDICAL_LICENCE, CredentialKind.DERMATOLOGY,
                     CredentialKind.MESOTHERAPY_TRAINING),
    Role.NURSE: (CredentialKind.NURSING_LICENCE, CredentialKind.MESOTHERAPY_TRAINING),
})

# Labels that appear inside messages; translated by `localise` like the templates.
ROLE_LABELS: Mapping[Role, str] = MappingProxyType({
    Role.PHYSICIAN: gettext_noop("physician"),
    Role.NURSE: gettext_noop("nurse"),
})
CREDENTIAL_LABELS: Mapping[CredentialKind, str] = MappingProxyType({
    CredentialKind.MEDICAL_LICENCE: gettext_noop("medical licence"),
    CredentialKind.DERMATOLOGY: gettext_noop("dermatology specialisation"),
    CredentialKind.NURSING_LICENCE: gettext_noop("nursing licence"),
    CredentialKind.MESOTHERAPY_TRAINING: gettext_noop("mesotherapy training"),
})
APPROVAL_LABEL = gettext_noop("plan approved by a physician")
PLAN_STATUS_LABELS: Mapping[PlanStatus, str] = MappingProxyType({
    PlanStatus.DRAFT: gettext_noop("draft"),
    PlanStatus.PROPOSED: gettext_noop("proposed"),
    PlanStatus.ACCEPTED: gettext_noop("accepted"),
    PlanStatus.ACTIVE: gettext_noop("active"),
    PlanStatus.COMPLETED: gettext_noop("completed"),
    PlanStatus.STOPPED: gettext_noop("stopped"),
})
EVENT_SEVERITY_LABELS: Mapping[EventSeverity, str] = MappingProxyType({
    EventSeverity.MILD: gettext_noop("mild"),
    EventSeverity.MODERATE: gettext_noop("moderate"),
    EventSeverity.SEVERE: gettext_noop("severe"),
})

Quantity = int | float | Decimal  # an amount of a lot, in the product's unit (2.5 ml, 3 vials)


# --- input -----------------------------------------------------------------------------------
# Every datetime is timezone-aware (the contract refuses one without its offset). The input
# classes are slotted but not frozen: building frozen dataclasses costs about a third of a whole
# parse + check, and the issue asks for 20,000 checks a second. The engine never changes them.


@dataclass(slots=True)
class OpenItem:
    """A screening finding not yet met or accepted."""

    code: str
    severity: Severity


@dataclass(slots=True)
class Screening:
    """The patient's latest screening."""

    at: datetime
    decision: Decision
    open: tuple[OpenItem, ...] = ()


@dataclass(slots=True)
class Plan:
    """The treatment plan the session belongs to; `ingredients` are today's solution's."""

    version: int
    status: PlanStatus
    ingredients: tuple[str, ...]
    uses_anaesthetic_cream: bool
    approved_by_physician: bool


@dataclass(slots=True)
class Consent:
    """The patient's latest consent to the plan."""

    plan_version: int
    signed_at: datetime
    withdrawn_at: datetime | None = None


@dataclass(slots=True)
class AllergyTest:
    """The latest allergy test: what was tested, and what reacted."""

    at: datetime
    ingredients: tuple[str, ...]
    reactions: tuple[str, ...] = ()


@dataclass(slots=True)
class Workup:
    """The workup (F-WORKUP); `signed_off_at` None while not signed off."""

    signed_off_at: datetime | None = None


@dataclass(slots=True)
class Credential:
    """A credential valid from `valid_from` through `valid_until` (None: no end date)."""

    kind: CredentialKind
    valid_from: date
    valid_until: date | None = None

    def valid_on(self, day: date) -> bool:
        """Valid on `day`, both ends inclusive (a range ending before it starts is never valid)."""
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@dataclass(slots=True)
class Performer:
    """Who gives the session, with all their credentials."""

    role: Role
    credentials: tuple[Credential, ...] = ()


@dataclass(slots=True)
class ClinicLicence:
    """The clinic's licence, valid from `valid_from` through `valid_until` (None: no end date)."""

    valid_from: date
    valid_until: date | None = None


@dataclass(slots=True)
class AdverseEvent:
    """An adverse event not yet closed; `id` and `code` only name it in the message."""

    severity: EventSeverity
    cleared: bool
    id: str | None = None
    code: str | None = None


@dataclass(slots=True)
class Lot:
    """A lot today's solution draws from: how much it holds and how much the session needs."""

    product: str
    lot: str
    expires: date
    recalled: bool
    available: Quantity
    needed: Quantity


@dataclass(slots=True)
class SessionCheckInput:
    """Everything the check reads, as of `now`; None where the record has nothing."""

    now: datetime
    timezone: ZoneInfo
    performer: Performer
    screening: Screening | None = None
    record_changed_at: datetime | None = None  # last change of history, medications or allergies
    plan: Plan | None = None
    consent: Consent | None = None
    allergy_test: AllergyTest | None = None
    workup: Workup | None = None
    cream_applied_at: datetime | None = None
    clinic_licence: ClinicLicence | None = None
    open_adverse_events: tuple[AdverseEvent, ...] = ()
    lots: tuple[Lot, ...] = ()


# --- output ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Phrase:
    """A piece of a message's parameter made from a template: `template % values`, where the
    values named in `labels` are marked labels (translated too) and the others plain text."""

    template: str
    values: Mapping[str, str] = field(default_factory=dict)
    labels: frozenset[str] = frozenset()

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        """The text, translated through `gettext` when one is given."""
        if gettext is None:
            return self.template % self.values
        values = {k: gettext(v) if k in self.labels else v for k, v in self.values.items()}
        return gettext(self.template) % values


class Label(str):
    """A marked label shown on its own ("medical licence"): translated when shown."""

    __slots__ = ()


# A parameter's part: plain text (a lot number, a code, a date: never translated), a Label, or a
# Phrase.
Part = str | Phrase


def _render(parts: tuple[Part, ...], gettext: Callable[[str], str] | None) -> str:
    texts = []
    for part in parts:
        if isinstance(part, Phrase):
            texts.append(part.render(gettext))
        elif gettext is not None and type(part) is Label:
            texts.append(gettext(part))
        else:
            texts.append(part)
    return ", ".join(texts)


@dataclass(frozen=True, slots=True)
class Blocking:
    """One failing item: its code, and what is wrong and how to fix it as templates to fill.

    Each parameter is a tuple of parts joined with ", " (every lot, credential or event
    concerned)."""

    code: str
    message_template: str
    fix_template: str
    phrases: Mapping[str, tuple[Part, ...]] = field(default_factory=dict)

    @property
    def params(self) -> Mapping[str, str]:
        """The parameters in English."""
        return {key: _render(parts, None) for key, parts in self.phrases.items()}

    @property
    def message(self) -> str:
        """What is wrong, in English."""
        return self.message_template % self.params

    @property
    def fix(self) -> str:
        """What to do about it, in English."""
        return self.fix_template % self.params

    def english(self) -> tuple[str, str]:
        """(message, fix) in English, the parameters rendered once."""
        params = self.params
        return self.message_template % params, self.fix_template % params


def localise(blocking: Blocking, gettext: Callable[[str], str]) -> tuple[str, str]:
    """(message, fix) translated through `gettext`, labels inside the parameters included."""
    params = {key: _render(parts, gettext) for key, parts in blocking.phrases.items()}
    return gettext(blocking.message_template) % params, gettext(blocking.fix_template) % params


@dataclass(frozen=True, slots=True)
class SessionCheckResult:
    """Whether the session may start; `blocking` lists every failing code once, in CODES order."""

    blocking: tuple[Blocking, ...]

    @property
    def ready(self) -> bool:
        """True exactly when nothing blocks."""
        return not self.blocking

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(b.code for b in self.blocking)


# --- the check -------------------------------------------------------------------------------


def _day(value: date) -> str:
    return value.isoformat()


class _Clock:
    """`now` and the clinic's zone: the local day, and times as a nurse reads them."""

    __slots__ = ("day", "now", "tz")

    def __init__(self, now: datetime, tz: ZoneInfo) -> None:
        # In UTC: two datetimes sharing one ZoneInfo compare and subtract by wall clock, which is
        # wrong across a daylight-saving change; against UTC they compare as instants.
        self.now = now.astimezone(UTC)
        self.tz = tz
        self.day = now.astimezone(tz).date()

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def time(self, moment: datetime) -> str:
        """"2027-01-11 09:25", in the clinic's zone."""
        return moment.astimezone(self.tz).isoformat(" ", "minutes")[:16]


def _norm(name: str) -> str:
    """Ingredient names compare without case or surrounding spaces ("Lidocaine" is lidocaine)."""
    return name.strip().casefold()


def _unique(names: list[str]) -> tuple[str, ...]:
    """Each name once, in first-seen order."""
    return tuple(dict.fromkeys(names))


def _screening(inp: SessionCheckInput, clock: _Clock, out: list[Blocking]) -> None:
    """SCREENING_*: a screening today, after the record's last change, then what it said."""
    screening = inp.screening
    fix = gettext_noop("Screen the patient again today, before the session.")
    if screening is None:
        out.append(Blocking("SCREENING_STALE", gettext_noop("No screening on record."), fix))
        return
    # A screening from the future cannot be trusted (a wrong clock): it is stale, not early.
    if screening.at > clock.now:
        out.append(Blocking("SCREENING_STALE", gettext_noop("The screening's time (%(at)s) is after now."),
                            fix, {"at": (clock.time(screening.at),)}))
        return
    screened_on = clock.local_day(screening.at)
    if screened_on != clock.day:
        out.append(Blocking("SCREENING_STALE",
                            gettext_noop("The last screening was on %(day)s, not today."),
                            fix, {"day": (_day(screened_on),)}))
        return
    changed = inp.record_changed_at
    if changed is not None and screening.at.astimezone(UTC) < changed.astimezone(UTC):
        out.append(Blocking(
            "SCREENING_STALE",
            gettext_noop("History, medications or allergies changed at %(changed)s, after the "
                         "screening."),
            gettext_noop("Screen the patient again: the record changed since the last screening."),
            {"changed": (clock.time(changed),)}))
        return
    if screening.decision == Decision.NOT_ELIGIBLE:
        out.append(Blocking("SCREENING_BLOCKS",
                            gettext_noop("Today's screening found the patient not eligible."),
                            gettext_noop("Do not treat. A physician reviews the screening with the "
                                         "patient.")))
    elif screening.decision == Decision.INCOMPLETE:
        out.append(Blocking("SCREENING_INCOMPLETE", gettext_noop("Today's screening is incomplete."),
                            gettext_noop("Record the missing information, then screen again.")))
    codes = [item.code for item in screening.open if item.severity in OPEN_ITEM_SEVERITIES]
    if codes:
        if "NSAID_WASHOUT" in codes:
            open_fix = gettext_noop("Meet each condition and screen again, or have a physician "
                                    "review and accept it. Aspirin and other NSAIDs must be stopped "
                                    "7 days before treatment (F-NSAID).")
        else:
            open_fix = gettext_noop("Meet each condition and screen again, or have a physician "
                                    "review and accept it.")
        out.append(Blocking("SCREENING_OPEN_ITEM", gettext_noop("Still open in the screening: %(codes)s."),
                            open_fix, {"codes": _unique(codes)}))


def _plan(inp: SessionCheckInput, out: list[Blocking]) -> None:
    """PLAN_NOT_ACTIVE: sessions are given only under an active plan."""
    plan = inp.plan
    if plan is None:
        out.append(Blocking("PLAN_NOT_ACTIVE", gettext_noop("No treatment plan for this session."),
                            gettext_noop("Choose the patient's active treatment plan for the session.")))
    elif plan.status != PlanStatus.ACTIVE:
        fix = (gettext_noop("Make a new plan: this one can no longer be treated.")
               if plan.status in CLOSED else
               gettext_noop("A physician approves the plan, the patient consents, then the plan is "
                            "activated."))
        out.append(Blocking("PLAN_NOT_ACTIVE", gettext_noop("The plan is %(status)s, not active."), fix,
                            {"status": (Label(PLAN_STATUS_LABELS[plan.status]),)}))


def _consent(inp: SessionCheckInput, clock: _Clock, out: list[Blocking]) -> None:
    """CONSENT_*: signed (not in the future), to this plan version, not withdrawn."""
    consent = inp.consent
    if consent is None or consent.signed_at > clock.now:
        out.append(Blocking("CONSENT_MISSING", gettext_noop("No signed consent to the plan."),
                            gettext_noop("The patient signs consent to the current plan version.")))
        return
    plan = inp.plan
    if plan is not None and consent.plan_version != plan.version:
        out.append(Blocking(
            "CONSENT_OUTDATED",
            gettext_noop("The consent is to plan version %(consented)s; the plan is now version "
                         "%(current)s."),
            gettext_noop("The patient signs consent to version %(current)s."),
            {"consented": (str(consent.plan_version),), "current": (str(plan.version),)}))
    if consent.withdrawn_at is not None and consent.withdrawn_at <= clock.now:
        out.append(Blocking("CONSENT_WITHDRAWN",
                            gettext_noop("The patient withdrew consent on %(day)s."),
                            gettext_noop("Do not treat. The patient must sign a new consent first."),
                            {"day": (_day(clock.local_day(consent.withdrawn_at)),)}))


def _allergy_test(inp: SessionCheckInput, clock: _Clock, out: list[Blocking]) -> None:
    """ALLERGY_TEST_*: at least 24 h before, every ingredient tested, no reaction (F-ALLERGY-TEST)."""
    test = inp.allergy_test
    if test is None:
        out.append(Blocking("ALLERGY_TEST_MISSING", gettext_noop("No allergy test on record."),
                            gettext_noop("Test the solution's ingredients at least 24 hours before "
                                         "treatment (F-ALLERGY-TEST).")))
        return
    if clock.now - test.at < ALLERGY_TEST_LEAD:  # a test after now is too recent as well
        message = (gettext_noop("The allergy test's time (%(at)s) is after now.") if test.at > clock.now
                   else gettext_noop("The allergy test was at %(at)s, less than 24 hours ago."))
        out.append(Blocking("ALLERGY_TEST_TOO_RECENT", message,
                            gettext_noop("Wait until %(ready_at)s: the test must be at least 24 hours "
                                         "before treatment (F-ALLERGY-TEST)."),
                            {"at": (clock.time(test.at),),
                             "ready_at": (clock.time(test.at.astimezone(UTC) + ALLERGY_TEST_LEAD),)}))
    solution = inp.plan.ingredients if inp.plan is not None else ()
    if not solution:
        return
    untested = [name for name in solution if name not in test.ingredients]  # as written, usually
    if untested:
        tested = {_norm(name) for name in test.ingredients}
        untested = [name for name in untested if _norm(name) not in tested]
    if untested:
        out.append(Blocking("ALLERGY_TEST_INCOMPLETE",
                            gettext_noop("Not covered by the allergy test: %(ingredients)s."),
                            gettext_noop("Test these at least 24 hours before treatment, or leave them "
                                         "out of the solution (F-ALLERGY-TEST)."),
                            {"ingredients": _unique(untested)}))
    # Only a reaction to today's solution rules it out; others are the screening's business.
    if not test.reactions:
        return
    reacted = {_norm(name) for name in test.reactions}
    culprits = [name for name in solution if _norm(name) in reacted]
    if culprits:
        out.append(Blocking("ALLERGY_TEST_REACTION",
                            gettext_noop("The allergy test showed a reaction to %(ingredients)s, "
                                         "in today's solution."),
                            gettext_noop("Do not use this solution; a physician changes the plan "
                                         "(F-ALLERGY-TEST)."),
                            {"ingredients": _unique(culprits)}))


def _workup(inp: SessionCheckInput, clock: _Clock, out: list[Blocking]) -> None:
    """WORKUP_NOT_SIGNED: the workup signed off before now (F-WORKUP)."""
    workup = inp.workup
    if workup is None or workup.signed_off_at is None or workup.signed_off_at > clock.now:
        out.append(Blocking("WORKUP_NOT_SIGNED", gettext_noop("The workup is not signed off."),
                            gettext_noop("A physician completes and signs off the examination, history, "
                                         "and blood and urine tests (F-WORKUP).")))


def _cream(inp: SessionCheckInput, clock: _Clock, out: list[Blocking]) -> None:
    """CREAM_*: where the plan uses anaesthetic cream, on for at least 30 min (F-ANAESTHESIA)."""
    if inp.plan is None or not inp.plan.uses_anaesthetic_cream:
        return
    applied = inp.cream_applied_at
    if applied is None:
        out.append(Blocking("CREAM_NOT_APPLIED",
                            gettext_noop("The plan uses anaesthetic cream; none is recorded."),
                            gettext_noop("Apply the cream, record the time, and wait 30 minutes "
                                         "(F-ANAESTHESIA).")))
    elif clock.now - applied < CREAM_LEAD:  # applied after now: not ready either
        message = (gettext_noop("The cream's time (%(at)s) is after now.") if applied > clock.now
                   else gettext_noop("The cream went on at %(at)s, less than 30 minutes ago."))
        out.append(Blocking("CREAM_NOT_READY", message,
                            gettext_noop("Wait until %(ready_at)s: the cream needs 30 minutes to work "
                                         "(F-ANAESTHESIA)."),
                            {"at": (clock.time(applied),),
                             "ready_at": (clock.time(applied.astimezone(UTC) + CREAM_LEAD),)}))


def _performer(inp: SessionCheckInput, clock: _Clock, out: list[Blocking]) -> None:
    """PERFORMER_NOT_QUALIFIED: each required credential valid today (F-CREDENTIALS)."""
    performer = inp.performer
    valid = {c.kind for c in performer.credentials if c.valid_on(clock.day)}  # any valid one counts
    missing = [Label(CREDENTIAL_LABELS[kind]) for kind in REQUIRED_CREDENTIALS[performer.role]
               if kind not in valid]
    unapproved = performer.role == Role.NURSE and (inp.plan is None or not inp.plan.approved_by_physician)
    if unapproved:
        missing.append(Label(APPROVAL_LABEL))
    if missing:
        fix = (gettext_noop("A physician approves the plan and any missing credential is recorded, or a "
                            "qualified colleague gives the session (F-CREDENTIALS).") if unapproved else
               gettext_noop("Record the valid credential, or a qualified colleague gives the session "
                            "(F-CREDENTIALS)."))
        out.append(Blocking("PERFORMER_NOT_QUALIFIED",
                            gettext_noop("The %(role)s is not qualified for this session on %(day)s. "
                                         "Missing or not valid: %(missing)s."),
                            fix, {"role": (Label(ROLE_LABELS[performer.role]),), "day": (_day(clock.day),),
                                  "missing": tuple(missing)}))


def _clinic(inp: SessionCheckInput, clock: _Clock, out: list[Blocking]) -> None:
    """CLINIC_NOT_LICENSED: the clinic's licence valid today, both ends inclusive (F-CREDENTIALS)."""
    licence = inp.clinic_licence
    fix = gettext_noop("The clinic manager records the clinic's valid licence (F-CREDENTIALS).")
    if licence is None:
        out.append(Blocking("CLINIC_NOT_LICENSED", gettext_noop("No clinic licence on record."), fix))
    elif clock.day < licence.valid_from:
        out.append(Blocking("CLINIC_NOT_LICENSED",
                            gettext_noop("The clinic licence is valid only from %(valid_from)s."), fix,
                            {"valid_from": (_day(licence.valid_from),)}))
    elif licence.valid_until is not None and clock.day > licence.valid_until:
        out.append(Blocking("CLINIC_NOT_LICENSED",
                            gettext_noop("The clinic licence ran out on %(valid_until)s."), fix,
                            {"valid_until": (_day(licence.valid_until),)}))


_EVENT_TEMPLATES = {  # (has id, has code) → how the event is named
    (True, False): gettext_noop("%(id)s (%(severity)s)"),
    (True, True): gettext_noop("%(id)s, %(code)s (%(severity)s)"),
    (False, False): gettext_noop("event %(position)s (%(severity)s)"),
    (False, True): gettext_noop("event %(position)s, %(code)s (%(severity)s)"),
}
_SEVERITY_LABEL = frozenset({"severity"})


def _adverse_events(inp: SessionCheckInput, out: list[Blocking]) -> None:
    """ADVERSE_EVENT_HOLD: an uncleared moderate or severe adverse event (F-SIDE-EFFECTS)."""
    events = []
    for position, event in enumerate(inp.open_adverse_events, start=1):  # named from 1, as people count
        if event.cleared or event.severity not in HOLD_SEVERITIES:
            continue
        values = {"severity": EVENT_SEVERITY_LABELS[event.severity], "position": str(position)}
        if event.id is not None:
            values["id"] = event.id
        if event.code is not None:
            values["code"] = event.code
        events.append(Phrase(_EVENT_TEMPLATES[event.id is not None, event.code is not None], values,
                             _SEVERITY_LABEL))
    if events:
        out.append(Blocking("ADVERSE_EVENT_HOLD",
                            gettext_noop("Adverse event not cleared, moderate or worse: %(events)s."),
                            gettext_noop("A physician assesses the event and clears it before any further "
                                         "session (F-SIDE-EFFECTS)."),
                            {"events": tuple(events)}))


def _amount(value: Quantity) -> str:
    """2.5 → "2.5", 3.0 → "3", Decimal("1.50") → "1.5"."""
    if isinstance(value, int):
        return str(value)
    number = Decimal(str(value)).normalize()
    return f"{number:f}"


def _lots(inp: SessionCheckInput, clock: _Clock, out: list[Blocking]) -> None:
    """LOT_*: every lot in date (usable through its expiry day), not recalled, enough in it."""
    expired, recalled, short = [], [], []
    for lot in inp.lots:
        if lot.expires < clock.day:
            expired.append(Phrase(gettext_noop("%(lot)s (%(product)s, expired %(expires)s)"),
                                  {"lot": lot.lot, "product": lot.product,
                                   "expires": lot.expires.isoformat()}))
        if lot.recalled:
            recalled.append(Phrase(gettext_noop("%(lot)s (%(product)s)"),
                                   {"lot": lot.lot, "product": lot.product}))
        if lot.available < lot.needed:
            short.append(Phrase(gettext_noop("%(lot)s (%(product)s): %(available)s available, "
                                             "%(needed)s needed"),
                                {"lot": lot.lot, "product": lot.product, "available": _amount(lot.available),
                                 "needed": _amount(lot.needed)}))
    if expired:
        out.append(Blocking("LOT_EXPIRED", gettext_noop("Past its expiry date: %(lots)s."),
                            gettext_noop("Use a lot within its expiry date, and set this one aside."),
                            {"lots": tuple(expired)}))
    if recalled:
        out.append(Blocking("LOT_RECALLED", gettext_noop("Recalled: %(lots)s."),
                            gettext_noop("Do not use it: quarantine the lot and take another one."),
                            {"lots": tuple(recalled)}))
    if short:
        out.append(Blocking("LOT_INSUFFICIENT", gettext_noop("Not enough in stock: %(lots)s."),
                            gettext_noop("Add another lot of the product, or receive new stock first."),
                            {"lots": tuple(short)}))


def check(inp: SessionCheckInput) -> SessionCheckResult:
    """Every item that keeps the session from starting at `inp.now`, once per code, in CODES order."""
    clock = _Clock(inp.now, inp.timezone)
    out: list[Blocking] = []
    _screening(inp, clock, out)
    _plan(inp, out)
    _consent(inp, clock, out)
    _allergy_test(inp, clock, out)
    _workup(inp, clock, out)
    _cream(inp, clock, out)
    _performer(inp, clock, out)
    _clinic(inp, clock, out)
    _adverse_events(inp, out)
    _lots(inp, clock, out)
    return SessionCheckResult(tuple(out))
