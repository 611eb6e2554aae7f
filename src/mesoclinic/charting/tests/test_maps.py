"""The injection-point area maps: regions, areas, point validation and the SVG drawn from them."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.charting.maps import (
    COORD_DECIMALS,
    MAPS,
    MapError,
    Region,
    gettext_noop,
    locate,
    maps_for_area,
    maps_for_areas,
    svg,
    validate_point,
)
from mesoclinic.knowledge.pack import load_pack

SVG = "{http://www.w3.org/2000/svg}"
MAP_IDS = ("face_front", "face_left", "face_right", "scalp", "body_front", "body_back")
ALL_REGIONS = [(m.id, r.id) for m in MAPS.values() for r in m.regions]
PACK_AREAS = load_pack().areas


def region(map_id: str, region_id: str) -> Region:
    return MAPS[map_id].region(region_id)


def swap_side(name: str) -> str:
    if name.endswith("_left"):
        return name[: -len("_left")] + "_right"
    if name.endswith("_right"):
        return name[: -len("_right")] + "_left"
    return name


def parse(map_id: str, **kwargs: Any) -> ET.Element:
    return ET.fromstring(svg(map_id, **kwargs))  # noqa: S314 (our own output, never a user's)


# --- The maps and their regions ------------------------------------------------------------


def test_the_six_maps_exist_with_their_labels() -> None:
    assert tuple(MAPS) == MAP_IDS
    assert {m.label for m in MAPS.values()} == {
        "Face, front", "Face, left side", "Face, right side", "Scalp, from above", "Body, front",
        "Body, back",
    }


def test_the_face_front_has_the_regions_a_face_is_charted_on() -> None:
    assert {r.id for r in MAPS["face_front"].regions} == {
        "forehead", "glabella", "periorbital_left", "periorbital_right", "cheek_left", "cheek_right",
        "nose", "perioral", "chin", "jawline_left", "jawline_right", "neck",
    }


def test_the_scalp_and_the_body_have_their_regions() -> None:
    assert {r.id for r in MAPS["scalp"].regions} == {
        "frontal", "midscalp", "crown", "temporal_left", "temporal_right", "occipital",
    }
    front = {r.id for r in MAPS["body_front"].regions}
    assert {"neck", "decolletage", "upper_arm_left", "upper_arm_right", "abdomen", "flank_left",
            "flank_right", "thigh_left", "thigh_right", "knee_left", "knee_right", "lower_leg_left",
            "lower_leg_right", "hand_left", "hand_right"} <= front
    back = {r.id for r in MAPS["body_back"].regions}
    assert {"upper_back", "lower_back", "upper_arm_left", "upper_arm_right", "buttock_left",
            "buttock_right", "thigh_back_left", "thigh_back_right", "calf_left", "calf_right",
            "hand_back_left", "hand_back_right"} <= back


@pytest.mark.parametrize("map_id", MAP_IDS)
def test_region_ids_and_labels_are_unique_within_a_map(map_id: str) -> None:
    regions = MAPS[map_id].regions
    assert len({r.id for r in regions}) == len(regions)
    assert len({r.label for r in regions}) == len(regions)


@pytest.mark.parametrize(("map_id", "region_id"), ALL_REGIONS)
def test_every_region_belongs_to_an_area_of_the_knowledge_pack(map_id: str, region_id: str) -> None:
    assert region(map_id, region_id).area in PACK_AREAS


def test_only_the_eye_areas_are_flagged_periorbital() -> None:
    flagged = {(m, r) for m, r in ALL_REGIONS if region(m, r).periorbital}
    assert flagged == {
        ("face_front", "periorbital_left"), ("face_front", "periorbital_right"),
        ("face_left", "periorbital_left"), ("face_right", "periorbital_right"),
    }


def test_left_and_right_are_the_patients() -> None:
    # Front views: the patient's right is on the viewer's left; back and top views: on the right.
    assert locate("face_front", 60, 140) == region("face_front", "cheek_right")
    assert locate("body_front", 48, 286) == region("body_front", "hand_right")
    assert locate("body_back", 48, 286) == region("body_back", "hand_back_left")
    assert locate("scalp", 46, 128) == region("scalp", "temporal_left")
    # The left profile looks to the viewer's left: the nose is on the left of the drawing.
    assert locate("face_left", 40, 138) == region("face_left", "nose")
    assert locate("face_right", 160, 138) == region("face_right", "nose")


@pytest.mark.parametrize(
    ("map_id", "x", "y", "expected"),
    [
        ("face_front", 100, 100, "glabella"),
        ("face_front", 100, 76, "forehead"),
        ("face_front", 100, 142, "nose"),
        ("face_front", 100, 184, "perioral"),
        ("face_front", 100, 198, "chin"),
        ("face_front", 100, 225, "neck"),
        ("face_front", 75, 127, "periorbital_right"),
        ("face_front", 125, 127, "periorbital_left"),
        ("face_left", 92, 96, "temple_left"),
        ("face_left", 112, 228, "neck_left"),
        ("scalp", 100, 160, "crown"),
        ("scalp", 100, 205, "occipital"),
        ("body_front", 120, 112, "decolletage"),
        ("body_front", 120, 210, "abdomen"),
        ("body_front", 99, 344, "knee_right"),
        ("body_back", 120, 132, "upper_back"),
        ("body_back", 100, 262, "buttock_left"),
        ("body_back", 141, 396, "calf_right"),
    ],
)
def test_known_spots_are_located_to_their_region(map_id: str, x: float, y: float, expected: str) -> None:
    found = locate(map_id, x, y)
    assert found is not None
    assert found.id == expected


@pytest.mark.parametrize(
    ("map_id", "x", "y"),
    [
        ("face_front", 75, 115),  # the eye itself
        ("face_front", 125, 115),
        ("face_front", 100, 30),  # the hair
        ("face_front", 33, 125),  # the ear
        ("face_front", 10, 130),  # beside the head
        ("face_front", 30, 255),  # the shoulder, not charted on the face map
        ("face_left", 132, 125),  # the ear
        ("face_left", 150, 60),  # the hair
        ("face_left", 62, 111),  # the eye
        ("scalp", 100, 45),  # the forehead, in front of the hairline
        ("scalp", 100, 5),
        ("body_front", 120, 35),  # the head: charted on the face maps
        ("body_front", 100, 462),  # the foot
        ("body_front", 120, 300),  # between the thighs
        ("body_front", 20, 200),  # beside the arm
    ],
)
def test_spots_off_every_region_are_off_the_map(map_id: str, x: float, y: float) -> None:
    assert locate(map_id, x, y) is None
    with pytest.raises(MapError) as refused:
        validate_point(map_id, x, y)
    assert refused.value.field == "point"


@pytest.mark.parametrize(("map_id", "region_id"), ALL_REGIONS)
def test_each_regions_anchor_is_on_the_region(map_id: str, region_id: str) -> None:
    # The keyboard's "add a point" puts its point there: it must be where the server finds it.
    r = region(map_id, region_id)
    assert locate(map_id, *r.anchor) == r
    assert validate_point(map_id, *r.anchor) == r


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from(ALL_REGIONS),
    angle=st.floats(0, 2 * math.pi),
    distance=st.floats(0, 2.5),
)
def test_points_close_to_a_regions_anchor_are_located_to_it(
    which: tuple[str, str], angle: float, distance: float
) -> None:
    map_id, region_id = which
    ax, ay = region(map_id, region_id).anchor
    found = locate(map_id, ax + distance * math.cos(angle), ay + distance * math.sin(angle))
    assert found is not None
    assert found.id == region_id


@settings(max_examples=400, deadline=None)
@given(x=st.integers(0, 1999), y=st.integers(0, 2599))
def test_the_right_profile_is_the_left_one_mirrored(x: int, y: int) -> None:
    # Coordinates ending in .05 never lie on the maps' edges, which sit on whole hundredths.
    px, py = x / 10 + 0.05, y / 10 + 0.05
    left = locate("face_left", px, py)
    right = locate("face_right", 200 - px, py)
    assert (right.id if right else None) == (swap_side(left.id) if left else None)


@settings(max_examples=300, deadline=None)
@given(
    map_id=st.sampled_from(MAP_IDS),
    x=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    y=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
)
def test_points_outside_the_view_box_are_off_the_map(map_id: str, x: float, y: float) -> None:
    left, top, width, height = MAPS[map_id].view_box
    outside = not (left <= x <= left + width and top <= y <= top + height)
    if outside:
        assert locate(map_id, x, y) is None
        with pytest.raises(MapError) as refused:
            validate_point(map_id, x, y)
        assert refused.value.field == "point"
        assert refused.value.params == {"x": round(x, 1), "y": round(y, 1)}


@settings(max_examples=300, deadline=None)
@given(
    map_id=st.sampled_from(MAP_IDS),
    x=st.floats(-10, 250, allow_nan=False),
    y=st.floats(-10, 490, allow_nan=False),
)
def test_validation_locates_the_point_as_it_is_stored(map_id: str, x: float, y: float) -> None:
    stored = locate(map_id, round(x, COORD_DECIMALS), round(y, COORD_DECIMALS))
    if stored is None:
        with pytest.raises(MapError):
            validate_point(map_id, x, y)
    else:
        assert validate_point(map_id, x, y) == stored


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "12", None, True, [1]])
@pytest.mark.parametrize("axis", ["x", "y"])
def test_a_coordinate_that_is_not_a_finite_number_is_refused(axis: str, bad: object) -> None:
    x, y = region("face_front", "forehead").anchor
    point: dict[str, object] = {"x": x, "y": y, axis: bad}
    with pytest.raises(MapError) as refused:
        validate_point("face_front", point["x"], point["y"])
    assert refused.value.field == axis
    assert refused.value.message == "The %(axis)s coordinate of a point must be a finite number."
    assert str(refused.value) == f"The {axis} coordinate of a point must be a finite number."


def test_nan_is_never_on_the_map() -> None:
    assert locate("face_front", math.nan, 100) is None
    assert locate("face_front", 100, math.nan) is None


@pytest.mark.parametrize("bad", ["eyebrow", "", None, 3, "x" * 500])
def test_an_unknown_map_is_refused(bad: object) -> None:
    with pytest.raises(MapError) as refused:
        validate_point(bad, 10, 10)
    assert refused.value.field == "map"
    assert len(str(refused.value)) < 120  # a long name is cut, never echoed whole


def test_locate_on_an_unknown_map_is_refused() -> None:
    with pytest.raises(MapError) as refused:
        locate("back_of_the_hand", 1, 1)
    assert refused.value.field == "map"
    assert str(refused.value) == "There is no injection map called “back_of_the_hand”."


def test_map_error_is_a_value_error_with_a_translatable_template() -> None:
    error = MapError("point", "The point at (%(x)s, %(y)s) is off the map.", x=1.5, y=2.0)
    assert isinstance(error, ValueError)
    assert (error.field, error.message, error.params) == (
        "point", "The point at (%(x)s, %(y)s) is off the map.", {"x": 1.5, "y": 2.0}
    )
    assert str(error) == "The point at (1.5, 2.0) is off the map."
    assert gettext_noop("Forehead") == "Forehead"


# --- Which maps a plan's area offers ---------------------------------------------------------


def test_the_face_offers_the_three_face_maps() -> None:
    assert maps_for_area("face") == ["face_front", "face_left", "face_right"]


def test_the_scalp_neck_and_joints_offer_their_maps() -> None:
    assert maps_for_area("scalp") == ["scalp"]
    assert maps_for_area("neck") == ["face_front", "body_front"]
    assert maps_for_area("joints") == ["body_front", "body_back"]
    assert maps_for_area("buttocks") == ["body_back"]
    assert maps_for_area("abdomen") == ["body_front"]


@pytest.mark.parametrize("code", sorted(PACK_AREAS))
def test_every_area_of_the_knowledge_pack_has_maps_with_its_regions(code: str) -> None:
    offered = maps_for_area(code)
    assert offered
    assert set(offered) <= set(MAPS)
    areas_drawn = {r.area for m in offered for r in MAPS[m].regions}
    if code == "body":
        # "body" is charted on its parts: arms, abdomen, thighs and the rest.
        assert {a for a in areas_drawn if PACK_AREAS[a].top_level == "body"} - {"body"}
    else:
        assert code in areas_drawn


def test_an_unknown_area_is_refused() -> None:
    with pytest.raises(MapError) as refused:
        maps_for_area("elbows")
    assert refused.value.field == "area"
    assert refused.value.params == {"area": "elbows"}


def test_several_areas_offer_each_map_once_in_order() -> None:
    assert maps_for_areas(["neck", "face"]) == ["face_front", "body_front", "face_left", "face_right"]
    assert maps_for_areas([]) == []


# --- The SVG drawn from the same definitions ---------------------------------------------------


@pytest.mark.parametrize("map_id", MAP_IDS)
def test_the_svg_is_a_complete_element_with_one_path_per_region(map_id: str) -> None:
    root = parse(map_id)
    m = MAPS[map_id]
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == " ".join(f"{v:g}" for v in m.view_box)
    assert root.get("data-map") == map_id
    assert root.get("aria-label") == m.label
    paths = root.findall(f".//{SVG}path[@data-region]")
    assert [p.get("data-region") for p in paths] == [r.id for r in m.regions]
    for path, r in zip(paths, m.regions, strict=True):
        assert "region" in (path.get("class") or "").split()
        assert path.findtext(f"{SVG}title") == r.label
        assert path.get("data-label") == r.label
        assert path.get("data-area") == r.area
        assert path.get("data-anchor") == f"{r.anchor[0]:g} {r.anchor[1]:g}"
        assert (path.get("data-periorbital") == "true") == r.periorbital
    layer = root.find(f"{SVG}g[@class='points']")
    assert layer is not None
    assert len(layer) == 0


@pytest.mark.parametrize("map_id", MAP_IDS)
def test_the_drawn_shapes_are_the_polygons_that_validate_points(map_id: str) -> None:
    root = parse(map_id)
    clips = {c.get("id"): c.find(f"{SVG}path") for c in root.iter(f"{SVG}clipPath")}

    def rings(d: str) -> list[list[tuple[float, float]]]:
        out = []
        for ring in re.findall(r"M([^MZ]+)Z", d):
            numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", ring)]
            out.append(list(zip(numbers[::2], numbers[1::2], strict=True)))
        return out

    for path, r in zip(root.findall(f".//{SVG}path[@data-region]"), MAPS[map_id].regions, strict=True):
        assert rings(path.get("d") or "") == [list(ring) for ring in r.shape]
        assert path.get("fill-rule") == "evenodd"
        clip = path.get("clip-path")
        if r.clip is None:
            assert clip is None
        else:
            match = re.fullmatch(r"url\(#(.+)\)", clip or "")
            assert match is not None
            clip_path = clips[match.group(1)]
            assert clip_path is not None
            assert rings(clip_path.get("d") or "") == [list(ring) for ring in r.clip]


def test_the_svg_speaks_the_readers_language_and_escapes_it() -> None:
    root = parse("face_front", translate=lambda text: f'<{text}> & "{text}"')
    forehead = root.find(f".//{SVG}path[@data-region='forehead']")
    assert forehead is not None
    assert forehead.findtext(f"{SVG}title") == '<Forehead> & "Forehead"'
    assert forehead.get("data-label") == '<Forehead> & "Forehead"'
    assert root.get("aria-label") == '<Face, front> & "Face, front"'
    captions = [t.text for t in root.iter(f"{SVG}text")]
    assert captions == ['<Patient\'s right> & "Patient\'s right"', '<Patient\'s left> & "Patient\'s left"']


def test_clip_ids_carry_the_prefix_so_two_maps_can_share_a_page() -> None:
    ids = {c.get("id") for c in parse("body_front", id_prefix="chart2").iter(f"{SVG}clipPath")}
    assert ids == {"chart2-body_front-body"}


def test_points_can_be_drawn_into_the_svg_for_a_page_without_javascript() -> None:
    root = parse("face_front", points=[(1, 60.0, 140.0), (2, 100.0, 142.0)])
    layer = root.find(f"{SVG}g[@class='points']")
    assert layer is not None
    assert [g.get("data-n") for g in layer] == ["1", "2"]
    assert [g.findtext(f"{SVG}text") for g in layer] == ["1", "2"]
    circle = layer[0].find(f"{SVG}circle")
    assert circle is not None
    assert (circle.get("cx"), circle.get("cy")) == ("60", "140")


def test_the_svg_of_an_unknown_map_is_refused() -> None:
    with pytest.raises(MapError):
        svg("tail")
