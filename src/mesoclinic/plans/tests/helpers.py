"""Drafts for tests: the protocol's defaults with a real solution, changed where a test says."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from mesoclinic.knowledge.store import active_pack
from mesoclinic.plans import rules
from mesoclinic.plans.actions import PlanDraft, SolutionItem

HA = SolutionItem("hyaluronic_acid", Decimal("1.5"), "%", Decimal("2.00"))
VIT_C = SolutionItem("vitamin_c", Decimal("20"), "mg/ml", Decimal("1.00"))


def draft(area: str = "face", indication: str = "rejuvenation", size: str = "standard", *,
          solution: tuple[SolutionItem, ...] = (HA, VIT_C), justifications: dict[str, str] | None = None,
          **values: Any) -> PlanDraft:
    pack = active_pack()
    protocol = pack.protocol_for(area, indication)
    assert protocol is not None, (area, indication)
    base = rules.defaults(protocol, size, indication)
    return PlanDraft(values=dataclasses.replace(base, **values), solution=solution,
                     justifications=justifications or {})


def with_sessions(d: PlanDraft, sessions: int) -> PlanDraft:
    """The same draft with `sessions`, the last phase taking up the difference."""
    v = d.values
    phases = list(v.phases)
    last = phases[-1]
    phases[-1] = dataclasses.replace(last, sessions=last.sessions + sessions - v.sessions)
    return dataclasses.replace(d, values=dataclasses.replace(v, sessions=sessions,
                                                             phases=tuple(phases)))


def payload(d: PlanDraft) -> dict[str, Any]:
    """The API's JSON body for a draft."""
    v = d.values
    return {
        "indication": v.indication, "area": v.area, "area_size": v.area_size,
        "technique": v.technique, "delivery": v.delivery, "sessions": v.sessions,
        "phases": [{"code": p.code, "sessions": p.sessions, "interval_days": p.interval_days}
                   for p in v.phases],
        "session_minutes": v.session_minutes, "depth_mm": str(v.depth_mm),
        "anaesthetic_cream": d.anaesthetic_cream, "checkups": list(v.checkups),
        "outcome_measures": list(v.outcome_measures),
        "solution": [{"ingredient": s.ingredient, "concentration": str(s.concentration),
                      "unit": s.unit, "volume_ml": str(s.volume_ml)} for s in d.solution],
        "justifications": d.justifications,
        "planned_start": d.planned_start.isoformat() if d.planned_start else None,
        "note": d.note,
    }
