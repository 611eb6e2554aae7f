"""Plan values against the protocol (pure): defaults, deviations, the F-HAIR conflict, structure."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.knowledge.pack import AREA_SIZES, load_pack
from mesoclinic.plans import rules

PACK = load_pack()
CASES = [(p, size, next(c for c, i in PACK.indications.items()
                        if i.group == p.indication_group and p.area in i.areas))
         for p in PACK.protocols.values() for size in AREA_SIZES]


@pytest.mark.parametrize(("protocol", "size", "indication"), CASES,
                         ids=[f"{c[0].code}-{c[1]}" for c in CASES])
def test_the_defaults_are_within_their_own_protocol(protocol, size, indication):
    values = rules.defaults(protocol, size, indication)
    assert rules.deviations(values, protocol) == []
    assert rules.check_structure(values, PACK) == []
    assert sum(p.sessions for p in values.phases) == values.sessions


def _face() -> tuple[rules.PlanValues, object]:
    protocol = PACK.protocol_for("face", "wrinkles")
    assert protocol is not None
    return rules.defaults(protocol, "standard", "wrinkles"), protocol


@given(st.integers(min_value=1, max_value=40))
def test_a_session_count_outside_the_range_is_a_deviation_and_inside_is_not(sessions):
    values, protocol = _face()
    changed = dataclasses.replace(values, sessions=sessions,
                                  phases=(dataclasses.replace(values.phases[0], sessions=sessions),))
    fields = [d.field for d in rules.deviations(changed, protocol)]  # type: ignore[arg-type]
    assert ("sessions" in fields) == (not 6 <= sessions <= 10)


def test_each_value_outside_the_protocol_names_its_field():
    values, protocol = _face()
    changed = dataclasses.replace(
        values, session_minutes=60, depth_mm=Decimal("3.5"),
        phases=(dataclasses.replace(values.phases[0], interval_days=3),))
    found = {d.field: d for d in rules.deviations(changed, protocol)}  # type: ignore[arg-type]
    assert set(found) == {"session_minutes", "depth_mm", "phases[0].interval_days"}
    assert "20–30" in found["session_minutes"].message
    assert "1–2 mm" in found["depth_mm"].message
    assert found["depth_mm"].fact == "F-DEPTH"


def test_a_different_technique_or_needle_free_is_a_choice_not_a_deviation():
    values, protocol = _face()
    changed = dataclasses.replace(values, technique="epidermal", delivery="needle_free")
    assert rules.deviations(changed, protocol) == []  # type: ignore[arg-type]


def test_the_scalp_protocol_shows_the_brief_conflict_on_the_intensive_phase():
    protocol = PACK.protocol_for("scalp", "hair_loss")
    assert protocol is not None
    (conflict,) = rules.conflicts(protocol)
    assert conflict.field == "phases[0].sessions"
    assert conflict.fact == "F-HAIR"
    assert "at least 10" in conflict.message
    assert "at most 7" in conflict.message


def test_face_protocol_has_no_conflict():
    _, protocol = _face()
    assert rules.conflicts(protocol) == []  # type: ignore[arg-type]


def test_phases_that_do_not_add_up_are_a_structural_error():
    values, _ = _face()
    changed = dataclasses.replace(values, sessions=values.sessions + 1)
    errors = {e.field: e.message for e in rules.check_structure(changed, PACK)}
    assert "add up to" in errors["sessions"]


def test_a_check_up_after_the_last_session_is_refused():
    values, _ = _face()
    changed = dataclasses.replace(values, checkups=(values.sessions + 1,))
    assert [e.field for e in rules.check_structure(changed, PACK)] == ["checkups[0]"]


def test_an_indication_on_the_wrong_area_and_unknown_codes_are_refused():
    values, _ = _face()
    changed = dataclasses.replace(values, indication="stretch_marks", technique="tapping",
                                  area_size="huge", outcome_measures=("vibes",))
    fields = {e.field for e in rules.check_structure(changed, PACK)}
    assert {"area", "technique", "area_size"} <= fields


def test_phases_must_follow_the_protocol():
    protocol = PACK.protocol_for("scalp", "hair_loss")
    assert protocol is not None
    values = rules.defaults(protocol, "standard", "hair_loss")
    swapped = dataclasses.replace(values, phases=tuple(reversed(values.phases)))
    assert "phases" in {e.field for e in rules.check_structure(swapped, PACK)}
