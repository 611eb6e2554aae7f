"""A plan's values against its protocol (pure): defaults, deviations, conflicts, structure.

A deviation is a value outside the protocol's range: allowed, with the physician's written reason.
A structural error is never allowed (phases that do not add up, a check-up after the last
session, an indication not treated on the area). A conflict is the protocol disagreeing with the
brief it rests on (F-HAIR): shown to the physician, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mesoclinic.knowledge.pack import AREA_SIZES, KnowledgePack, Protocol, Range

# A month counted as 30 days when fitting sessions into a phase measured in months.
DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class Phase:
    """One interval phase of a plan: this many sessions, this many days apart."""

    code: str
    sessions: int
    interval_days: int


@dataclass(frozen=True)
class PlanValues:
    """What the physician wrote (or the protocol's defaults)."""

    area: str
    area_size: str
    indication: str
    technique: str
    delivery: str
    sessions: int
    phases: tuple[Phase, ...]
    session_minutes: int
    depth_mm: Decimal
    anaesthetic_cream: bool
    checkups: tuple[int, ...]
    outcome_measures: tuple[str, ...]


@dataclass(frozen=True)
class Deviation:
    field: str
    message: str
    fact: str


def _span(r: Range) -> str:
    return str(r.min) if r.min == r.max else f"{r.min}–{r.max}"


def _phase_default(protocol: Protocol, index: int) -> int | None:
    sessions = protocol.phases[index].sessions
    return None if sessions is None else (sessions.min + sessions.max) // 2


def defaults(protocol: Protocol, area_size: str, indication: str) -> PlanValues:
    """The protocol's typical plan: midpoints of its ranges, every outcome measure."""
    sessions = (protocol.sessions.min + protocol.sessions.max) // 2
    counts = [_phase_default(protocol, i) for i in range(len(protocol.phases))]
    fixed = sum(c for c in counts if c is not None)
    if None in counts:
        counts[counts.index(None)] = max(sessions - fixed, 0)
    else:
        sessions = fixed
    sessions = max(sessions, sum(c or 0 for c in counts))
    phases = tuple(
        Phase(p.code, int(counts[i] or 0), (p.interval_days.min + p.interval_days.max) // 2)
        for i, p in enumerate(protocol.phases))
    minutes = protocol.session_minutes[area_size if area_size in AREA_SIZES else "standard"]
    depth = (Decimal(protocol.depth_mm.min) + Decimal(protocol.depth_mm.max)) / 2
    return PlanValues(
        area=protocol.area, area_size=area_size, indication=indication,
        technique=protocol.default_technique, delivery=protocol.default_delivery,
        sessions=sessions, phases=phases, session_minutes=(minutes.min + minutes.max) // 2,
        depth_mm=depth.quantize(Decimal("0.1")),
        anaesthetic_cream=protocol.anaesthetic_cream_usual,
        checkups=tuple(n for n in protocol.checkups if n <= sessions),
        outcome_measures=tuple(m.code for m in protocol.outcome_measures),
    )


def deviations(values: PlanValues, protocol: Protocol) -> list[Deviation]:
    """Each value outside the protocol, with the range it should lie in."""
    found: list[Deviation] = []
    if not protocol.sessions.min <= values.sessions <= protocol.sessions.max:
        found.append(Deviation("sessions", f"{values.sessions} sessions is outside the protocol's "
                                           f"{_span(protocol.sessions)}", protocol.fact))
    for i, (phase, rule) in enumerate(zip(values.phases, protocol.phases, strict=False)):
        interval = rule.interval_days
        if not interval.min <= phase.interval_days <= interval.max:
            found.append(Deviation(
                f"phases[{i}].interval_days",
                f"{rule.label}: {phase.interval_days} days apart is outside the protocol's "
                f"{_span(interval)} days", rule.fact))
        if rule.sessions is not None and not rule.sessions.min <= phase.sessions <= rule.sessions.max:
            found.append(Deviation(
                f"phases[{i}].sessions",
                f"{rule.label}: {phase.sessions} sessions is outside the protocol's "
                f"{_span(rule.sessions)}", rule.fact))
    minutes = protocol.session_minutes.get(values.area_size)
    if minutes is not None and not minutes.min <= values.session_minutes <= minutes.max:
        found.append(Deviation(
            "session_minutes", f"{values.session_minutes} minutes is outside the protocol's "
                               f"{_span(minutes)} for a {values.area_size} area", protocol.fact))
    depth = protocol.depth_mm
    if not Decimal(depth.min) <= values.depth_mm <= Decimal(depth.max):
        found.append(Deviation("depth_mm", f"{values.depth_mm} mm deep is outside the protocol's "
                                           f"{_span(depth)} mm", "F-DEPTH"))
    return found


def conflicts(protocol: Protocol) -> list[Deviation]:
    """Where the brief asks more of a phase than its months at its interval can hold (F-HAIR)."""
    found: list[Deviation] = []
    for i, phase in enumerate(protocol.phases):
        if phase.brief_sessions_min is None or phase.months is None:
            continue
        fits = phase.months.max * DAYS_PER_MONTH // phase.interval_days.min + 1
        if phase.brief_sessions_min > fits:
            found.append(Deviation(
                f"phases[{i}].sessions",
                f"{phase.label}: the brief asks for at least {phase.brief_sessions_min} sessions, but "
                f"{_span(phase.months)} months at every {_span(phase.interval_days)} days hold at "
                f"most {fits}; the protocol plans {_span(phase.sessions) if phase.sessions else fits} "
                f"and moves the rest into the next phase — decide per patient", phase.fact))
    return found


def check_structure(values: PlanValues, pack: KnowledgePack) -> list[Deviation]:
    """Errors no justification can cover; field names are PlanValues paths."""
    errors: list[Deviation] = []

    def error(field: str, message: str, fact: str = "F-SESSIONS") -> None:
        errors.append(Deviation(field, message, fact))

    indication = pack.indications.get(values.indication)
    if indication is None:
        error("indication", f"unknown indication {values.indication!r}", "F-INDICATIONS")
    elif values.area not in indication.areas:
        error("area", f"{indication.label} is not treated on the {values.area}", "F-INDICATIONS")
    protocol = pack.protocol_for(values.area, values.indication)
    if values.area_size not in AREA_SIZES:
        error("area_size", f"area size must be one of {', '.join(AREA_SIZES)}", "F-FACE-BODY")
    if values.technique not in pack.techniques:
        error("technique", f"unknown technique {values.technique!r}", "F-TECHNIQUE")
    if values.delivery not in pack.deliveries:
        error("delivery", f"unknown delivery {values.delivery!r}", "F-TECHNIQUE")
    if values.sessions < 1:
        error("sessions", "a plan has at least one session")
    if protocol is not None:
        expected = [p.code for p in protocol.phases]
        if [p.code for p in values.phases] != expected:
            error("phases", f"the phases must be {', '.join(expected)}, in that order")
        known = {m.code for m in protocol.outcome_measures}
        for i, code in enumerate(values.outcome_measures):
            if code not in known:
                error(f"outcome_measures[{i}]", f"unknown outcome measure {code!r}", protocol.fact)
    for i, phase in enumerate(values.phases):
        if phase.sessions < 0:
            error(f"phases[{i}].sessions", "cannot be negative")
        if phase.interval_days < 1:
            error(f"phases[{i}].interval_days", "sessions are at least one day apart")
    if values.phases and values.phases[0].sessions < 1:
        error("phases[0].sessions", "the first phase has at least one session")
    total = sum(p.sessions for p in values.phases)
    if values.phases and total != values.sessions:
        error("sessions", f"the phases add up to {total} sessions, not {values.sessions}")
    for i, n in enumerate(values.checkups):
        if not 1 <= n <= values.sessions:
            error(f"checkups[{i}]", f"a check-up after session {n}, but the plan has "
                                    f"{values.sessions}", "F-OUTPATIENT")
    if values.depth_mm <= 0:
        error("depth_mm", "depth must be above 0 mm", "F-DEPTH")
    if values.session_minutes < 1:
        error("session_minutes", "a session lasts at least a minute", "F-FACE-BODY")
    return errors
