"""Protocols in the knowledge pack: what they hold, and every refusal naming file and entry."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mesoclinic.knowledge.pack import DEFAULT_DATA_DIR, PackError, Range, load_pack

PACK = load_pack()


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def edit(directory: Path, old: str, new: str) -> None:
    path = directory / "protocols.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_face_and_body_are_six_to_ten_sessions_a_week_apart() -> None:
    for area, indication in (("face", "rejuvenation"), ("body", "stretch_marks")):
        protocol = PACK.protocol_for(area, indication)
        assert protocol is not None
        assert protocol.sessions == Range(6, 10)
        assert [p.interval_days for p in protocol.phases] == [Range(7, 7)]
        assert protocol.fact == "F-FACE-BODY"


def test_the_scalp_has_an_intensive_fortnightly_phase_then_maintenance() -> None:
    protocol = PACK.protocol_for("scalp", "hereditary_baldness")
    assert protocol is not None
    intensive, maintenance = protocol.phases
    assert intensive.interval_days == Range(14, 14)
    assert intensive.months == Range(2, 3)
    assert maintenance.interval_days.min > intensive.interval_days.max
    assert [m.weeks for m in protocol.expected_course] == [4, 10, 26]
    assert protocol.depth_mm == Range(1, 1)
    assert "hair_density" in [m.code for m in protocol.outcome_measures]


def test_every_group_on_every_area_it_treats_has_a_protocol() -> None:
    for code, indication in PACK.indications.items():
        for area in indication.areas:
            assert PACK.protocol_for(area, code) is not None, (code, area)


def test_no_protocol_for_an_unknown_indication() -> None:
    assert PACK.protocol_for("face", "unicorn") is None


def test_session_minutes_stay_inside_the_areas_range() -> None:
    for protocol in PACK.protocols.values():
        area = PACK.areas[protocol.area]
        for size, minutes in protocol.session_minutes.items():
            assert area.session_minutes.min <= minutes.min <= minutes.max <= area.session_minutes.max, \
                (protocol.code, size)


BROKEN: list[tuple[Callable[[Path], object], str]] = [
    (lambda d: edit(d, "sessions: {min: 6, max: 10, fact: F-FACE-BODY}",
                    "sessions: {min: 2, max: 10, fact: F-FACE-BODY}"), "outside 3-15 (F-SESSIONS)"),
    (lambda d: edit(d, "depth_mm: {min: 1, max: 2, fact: F-DEPTH}",
                    "depth_mm: {min: 1, max: 3, fact: F-DEPTH}"), "the face's depth"),
    (lambda d: edit(d, "area: face\n", "area: elbow\n"), "unknown top-level area 'elbow'"),
    (lambda d: edit(d, "indication_group: face_body\n", "indication_group: dreams\n"),
     "unknown indication group 'dreams'"),
    (lambda d: edit(d, "default_technique: point_by_point", "default_technique: tapping"),
     "unknown technique 'tapping'"),
    (lambda d: edit(d, "checkups: [4]", "checkups: [40]"), "'checkups' must list session numbers"),
    (lambda d: edit(d, "small: {min: 20, max: 25}", "small: {min: 10, max: 25}"),
     "session minutes"),
    (lambda d: edit(d, "      standard: {min: 20, max: 30}\n", ""), "missing 'standard'"),
    (lambda d: edit(d, "code: face_pain\n    label: Nerve pain of the face\n    area: face\n"
                       "    indication_group: pain",
                    "code: face_pain\n    label: Nerve pain of the face\n    area: face\n"
                    "    indication_group: face_body"),
     "already covers face_body on the face"),
    (lambda d: edit(d, "interval_days: {min: 7, max: 7}", "interval_days: {min: 0, max: 7}"),
     "interval_days must be at least 1"),
    (lambda d: edit(d, "fact: F-HAIR}\n      - {code: maintenance",
                    "fact: F-NOPE}\n      - {code: maintenance"),
     "unknown fact id 'F-NOPE'"),
]


@pytest.mark.parametrize(("breakage", "message"), BROKEN, ids=[b[1][:40] for b in BROKEN])
def test_a_broken_protocol_is_refused_naming_file_and_entry(
    pack_dir: Path, breakage: Callable[[Path], object], message: str
) -> None:
    breakage(pack_dir)
    with pytest.raises(PackError) as caught:
        load_pack(pack_dir)
    assert message in str(caught.value)
    assert str(caught.value).startswith("protocols.yaml")
