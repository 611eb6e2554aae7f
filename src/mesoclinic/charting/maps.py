"""The injection-point area maps of the session chart: drawn, located and validated from one source.

Pure Python (no Django; the import-linter "pure domain modules" contract covers this module). Six
maps, each in its own coordinate system (its `view_box`): the face from the front and from each
side, the scalp from above, and the body from the front and from the back. A point is stored in
its map's coordinates, rounded to one decimal (`COORD_DECIMALS`).

Each map is a stack of layers drawn bottom to top: named regions (the parts a point may be placed
on) and masks (parts drawn on top that take no point: the eyes, the ears, the hair on a face map).
A region's shape may be clipped by one of the map's silhouettes, so that its outer edge is the
outline of the head or body. `locate()` answers with the top-most layer under the point, exactly
as the browser's hit testing does on the SVG that `svg()` draws from the same polygons, so the
drawing and the server's validation never disagree: a point on a mask, or on no layer at all, is
off the map.

Left and right are always the patient's. On the front views the patient's right is on the
viewer's left; on the back view and on the scalp seen from above (front at the top) it is on the
viewer's right; `face_left` shows the patient's left profile (the face looks to the viewer's left).

Labels are English and marked with `gettext_noop` so that makemessages extracts them; callers
translate them (`svg(map_id, translate=gettext)`, `gettext(region.label)`). `MapError` carries an
English message template (also marked) and its parameters, for the caller to translate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from types import MappingProxyType


def gettext_noop(message: str) -> str:
    """Mark a string for translation without translating it (makemessages extracts it)."""
    return message


COORD_DECIMALS = 1  # points are stored with one decimal in map coordinates

Point = tuple[float, float]
Ring = tuple[Point, ...]
Shape = tuple[Ring, ...]  # one or more closed rings, combined with the even-odd rule


class MapError(ValueError):
    """A map or a point that cannot be charted; `message % params` is the English text.

    `field` is "map", "area", "x", "y" or "point" (a well-formed point that is off the map).
    """

    def __init__(self, field: str, message: str, **params: object) -> None:
        self.field = field
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


@dataclass(frozen=True)
class Region:
    """A named part of a map that takes injection points.

    `area` is the knowledge pack's area code (knowledge/data/areas.yaml) the region belongs to;
    `periorbital` flags the eye area, where aftercare is longer (F-SIDE-EFFECTS); `anchor` is a
    point well inside the visible part of the region (where the keyboard "add a point" puts it).
    """

    map_id: str
    id: str
    label: str
    area: str
    shape: Shape
    clip: Shape | None
    anchor: Point
    periorbital: bool = False
    _bounds: tuple[float, float, float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bounds", _bounds(self.shape, self.clip))

    def covers(self, x: float, y: float) -> bool:
        """Whether the point lies on this region's drawn shape (ignoring the layers above it)."""
        return _covers(self.shape, self.clip, self._bounds, x, y)


@dataclass(frozen=True)
class Mask:
    """A part drawn above the regions that takes no point (an eye, an ear, the hair)."""

    id: str
    shape: Shape
    clip: Shape | None
    css: str
    _bounds: tuple[float, float, float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bounds", _bounds(self.shape, self.clip))

    def covers(self, x: float, y: float) -> bool:
        """Whether the point lies on this mask."""
        return _covers(self.shape, self.clip, self._bounds, x, y)


@dataclass(frozen=True)
class Line:
    """A drawn stroke or fill that takes no part in locating points (outline, features)."""

    d: str
    css: str


@dataclass(frozen=True)
class Caption:
    """A short orientation label drawn on the map ("Patient's right")."""

    text: str
    x: float
    y: float
    anchor: str  # SVG text-anchor: start, middle or end


@dataclass(frozen=True)
class AreaMap:
    """One map: its coordinate box, what is drawn, and its layers (regions and masks) in order."""

    id: str
    label: str
    view_box: tuple[float, float, float, float]
    clips: Mapping[str, Shape]
    base: tuple[Line, ...]
    layers: tuple[Region | Mask, ...]
    lines: tuple[Line, ...]
    captions: tuple[Caption, ...]

    @property
    def regions(self) -> tuple[Region, ...]:
        """The regions, bottom to top."""
        return tuple(layer for layer in self.layers if isinstance(layer, Region))

    def region(self, region_id: str) -> Region:
        """The region with this id (KeyError when the map has none)."""
        for region in self.regions:
            if region.id == region_id:
                return region
        raise KeyError(region_id)

    def layer_at(self, x: float, y: float) -> Region | Mask | None:
        """The top-most layer under the point, as a tap on the drawing would hit it."""
        left, top, width, height = self.view_box
        if not (left <= x <= left + width and top <= y <= top + height):
            return None
        for layer in reversed(self.layers):
            if layer.covers(x, y):
                return layer
        return None


# --- Geometry -------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[MLHVCQZ]|-?(?:\d+\.?\d*|\.\d+)")
_CURVE_STEPS = 12  # segments per Bézier curve when a shape is flattened into a polygon


def _tokens(d: str) -> list[str]:
    tokens = _TOKEN_RE.findall(d)
    if "".join(tokens) != re.sub(r"[\s,]+", "", d):
        raise ValueError(f"unsupported path data: {d!r}")  # a typo in a map definition
    return tokens


def _commands(d: str) -> list[tuple[str, list[float]]]:
    """Absolute path commands (M L H V C Q Z only) with their numbers."""
    arity = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "Q": 4, "Z": 0}
    out: list[tuple[str, list[float]]] = []
    tokens = _tokens(d)
    i = 0
    while i < len(tokens):
        command = tokens[i]
        if command not in arity:
            raise ValueError(f"path data must start each segment with a command: {d!r}")
        i += 1
        n = arity[command]
        if n == 0:
            out.append((command, []))
            continue
        while True:  # implicit repetition, as SVG allows ("L 1 2 3 4")
            numbers = [float(t) for t in tokens[i : i + n]]
            if len(numbers) != n or any(t in arity for t in tokens[i : i + n]):
                raise ValueError(f"wrong number of coordinates after {command} in {d!r}")
            out.append((command, numbers))
            i += n
            if i >= len(tokens) or tokens[i] in arity:
                break
            if command == "M":
                command = "L"
    return out


def _flatten(d: str) -> Shape:
    """The polygon rings of a closed path, curves flattened, vertices rounded to 0.01."""
    rings: list[Ring] = []
    ring: list[Point] = []
    x = y = 0.0
    for command, n in _commands(d):
        if command == "M":
            if len(ring) > 2:
                rings.append(tuple(ring))
            x, y = n
            ring = [(x, y)]
        elif command == "L":
            x, y = n
            ring.append((x, y))
        elif command == "H":
            x = n[0]
            ring.append((x, y))
        elif command == "V":
            y = n[0]
            ring.append((x, y))
        elif command == "C":
            x0, y0 = x, y
            for step in range(1, _CURVE_STEPS + 1):
                t = step / _CURVE_STEPS
                u = 1 - t
                ring.append(
                    (
                        u**3 * x0 + 3 * u * u * t * n[0] + 3 * u * t * t * n[2] + t**3 * n[4],
                        u**3 * y0 + 3 * u * u * t * n[1] + 3 * u * t * t * n[3] + t**3 * n[5],
                    )
                )
            x, y = n[4], n[5]
        elif command == "Q":
            x0, y0 = x, y
            for step in range(1, _CURVE_STEPS + 1):
                t = step / _CURVE_STEPS
                u = 1 - t
                ring.append(
                    (
                        u * u * x0 + 2 * u * t * n[0] + t * t * n[2],
                        u * u * y0 + 2 * u * t * n[1] + t * t * n[3],
                    )
                )
            x, y = n[2], n[3]
        # Z closes the ring; the next M starts another
    if len(ring) > 2:
        rings.append(tuple(ring))
    out: list[Ring] = []
    for r in rings:
        rounded = [(round(px, 2), round(py, 2)) for px, py in r]
        deduped = [p for i, p in enumerate(rounded) if i == 0 or p != rounded[i - 1]]
        if len(deduped) > 1 and deduped[0] == deduped[-1]:
            deduped.pop()
        out.append(tuple(deduped))
    return tuple(out)


def _mirror_d(d: str, width: float) -> str:
    """The same path mirrored left to right in a box `width` wide."""
    parts: list[str] = []
    for command, n in _commands(d):
        if command == "H":
            values = [width - n[0]]
        elif command == "V":
            values = n
        else:
            values = [width - v if i % 2 == 0 else v for i, v in enumerate(n)]
        parts.append(command + " ".join(_num(v) for v in values))
    return " ".join(parts)


def _inside(shape: Shape, x: float, y: float) -> bool:
    """Even-odd point in polygon over all rings (SVG's fill-rule="evenodd")."""
    inside = False
    for ring in shape:
        j = len(ring) - 1
        for i in range(len(ring)):
            xi, yi = ring[i]
            xj, yj = ring[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
    return inside


def _bounds(shape: Shape, clip: Shape | None) -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom) outside which a layer certainly does not cover a point."""
    xs = [x for ring in shape for x, _ in ring]
    ys = [y for ring in shape for _, y in ring]
    left, top, right, bottom = min(xs), min(ys), max(xs), max(ys)
    if clip:
        cxs = [x for ring in clip for x, _ in ring]
        cys = [y for ring in clip for _, y in ring]
        left, top = max(left, min(cxs)), max(top, min(cys))
        right, bottom = min(right, max(cxs)), min(bottom, max(cys))
    return left, top, right, bottom


def _covers(
    shape: Shape, clip: Shape | None, bounds: tuple[float, float, float, float], x: float, y: float
) -> bool:
    left, top, right, bottom = bounds
    if not (left <= x <= right and top <= y <= bottom):
        return False
    return _inside(shape, x, y) and (clip is None or _inside(clip, x, y))


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _shape_d(shape: Shape) -> str:
    return " ".join(
        "M" + " L".join(f"{_num(x)} {_num(y)}" for x, y in ring) + " Z" for ring in shape
    )


# --- Labels and area codes --------------------------------------------------------------------

# Every region id means the same part wherever it appears; its label and knowledge-pack area.
_REGION_INFO: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        # face (F-TECHNIQUE: face, body, hair/scalp)
        "forehead": (gettext_noop("Forehead"), "face"),
        "glabella": (gettext_noop("Between the brows (glabella)"), "face"),
        "periorbital_right": (gettext_noop("Right eye area"), "face"),
        "periorbital_left": (gettext_noop("Left eye area"), "face"),
        "temple_right": (gettext_noop("Right temple"), "face"),
        "temple_left": (gettext_noop("Left temple"), "face"),
        "cheek_right": (gettext_noop("Right cheek"), "face"),
        "cheek_left": (gettext_noop("Left cheek"), "face"),
        "nose": (gettext_noop("Nose"), "face"),
        "perioral": (gettext_noop("Around the mouth"), "face"),
        "chin": (gettext_noop("Chin"), "face"),
        "jawline_right": (gettext_noop("Right jawline"), "face"),
        "jawline_left": (gettext_noop("Left jawline"), "face"),
        # neck
        "neck": (gettext_noop("Front of the neck"), "neck"),
        "neck_right": (gettext_noop("Right side of the neck"), "neck"),
        "neck_left": (gettext_noop("Left side of the neck"), "neck"),
        "neck_back": (gettext_noop("Back of the neck"), "neck"),
        # The décolletage is treated with the neck, at the neck's depth.
        "decolletage": (gettext_noop("Décolletage"), "neck"),
        # scalp (F-HAIR)
        "frontal": (gettext_noop("Frontal scalp"), "scalp"),
        "midscalp": (gettext_noop("Midscalp"), "scalp"),
        "crown": (gettext_noop("Crown (vertex)"), "scalp"),
        "temporal_right": (gettext_noop("Right temporal scalp"), "scalp"),
        "temporal_left": (gettext_noop("Left temporal scalp"), "scalp"),
        "occipital": (gettext_noop("Back of the scalp (occipital)"), "scalp"),
        # body
        "chest": (gettext_noop("Chest"), "body"),
        "shoulder_right": (gettext_noop("Right shoulder"), "joints"),
        "shoulder_left": (gettext_noop("Left shoulder"), "joints"),
        "upper_arm_right": (gettext_noop("Right upper arm"), "arms"),
        "upper_arm_left": (gettext_noop("Left upper arm"), "arms"),
        "elbow_right": (gettext_noop("Right elbow"), "joints"),
        "elbow_left": (gettext_noop("Left elbow"), "joints"),
        "forearm_right": (gettext_noop("Right forearm"), "arms"),
        "forearm_left": (gettext_noop("Left forearm"), "arms"),
        "hand_right": (gettext_noop("Right hand"), "hands"),
        "hand_left": (gettext_noop("Left hand"), "hands"),
        "abdomen": (gettext_noop("Abdomen"), "abdomen"),
        "flank_right": (gettext_noop("Right flank"), "flanks"),
        "flank_left": (gettext_noop("Left flank"), "flanks"),
        "thigh_right": (gettext_noop("Right thigh"), "thighs"),
        "thigh_left": (gettext_noop("Left thigh"), "thighs"),
        "knee_right": (gettext_noop("Right knee"), "joints"),
        "knee_left": (gettext_noop("Left knee"), "joints"),
        "lower_leg_right": (gettext_noop("Right lower leg"), "legs"),
        "lower_leg_left": (gettext_noop("Left lower leg"), "legs"),
        "ankle_right": (gettext_noop("Right ankle"), "joints"),
        "ankle_left": (gettext_noop("Left ankle"), "joints"),
        "upper_back": (gettext_noop("Upper back and shoulder blades"), "back"),
        "lower_back": (gettext_noop("Lower back"), "back"),
        "buttock_right": (gettext_noop("Right buttock"), "buttocks"),
        "buttock_left": (gettext_noop("Left buttock"), "buttocks"),
        "thigh_back_right": (gettext_noop("Back of the right thigh"), "thighs"),
        "thigh_back_left": (gettext_noop("Back of the left thigh"), "thighs"),
        "knee_back_right": (gettext_noop("Back of the right knee"), "joints"),
        "knee_back_left": (gettext_noop("Back of the left knee"), "joints"),
        "calf_right": (gettext_noop("Right calf"), "legs"),
        "calf_left": (gettext_noop("Left calf"), "legs"),
        "hand_back_right": (gettext_noop("Back of the right hand"), "hands"),
        "hand_back_left": (gettext_noop("Back of the left hand"), "hands"),
    }
)

_PATIENT_RIGHT = gettext_noop("Patient's right")
_PATIENT_LEFT = gettext_noop("Patient's left")
_FRONT = gettext_noop("Front of the head")
_BACK = gettext_noop("Back of the head")
_SWAPPED_CAPTIONS = {_PATIENT_RIGHT: _PATIENT_LEFT, _PATIENT_LEFT: _PATIENT_RIGHT}


# --- Authoring helpers ------------------------------------------------------------------------


@dataclass(frozen=True)
class _R:
    """A region as authored: id, path data, the silhouette that clips it, its anchor."""

    id: str
    d: str
    clip: str | None
    anchor: Point


@dataclass(frozen=True)
class _M:
    """A mask as authored."""

    id: str
    d: str
    clip: str | None
    css: str


def _swap_side(name: str) -> str:
    if name.endswith("_left"):
        return name[: -len("_left")] + "_right"
    if name.endswith("_right"):
        return name[: -len("_right")] + "_left"
    return name


def _pair(layer: _R, width: float) -> tuple[_R, _R]:
    """A region and its mirror image across the map's vertical middle (the other side)."""
    mirrored = _R(
        _swap_side(layer.id), _mirror_d(layer.d, width), layer.clip,
        (round(width - layer.anchor[0], 1), layer.anchor[1]),
    )
    return layer, mirrored


def _pair_mask(layer: _M, width: float) -> tuple[_M, _M]:
    return layer, _M(layer.id + "_mirror", _mirror_d(layer.d, width), layer.clip, layer.css)


def _circle(cx: float, cy: float, r: float) -> str:
    """A circle as four cubic curves (the path language here has no arcs)."""
    k = 0.5523 * r
    return (
        f"M{_num(cx + r)} {_num(cy)} C{_num(cx + r)} {_num(cy + k)} {_num(cx + k)} {_num(cy + r)}"
        f" {_num(cx)} {_num(cy + r)} C{_num(cx - k)} {_num(cy + r)} {_num(cx - r)} {_num(cy + k)}"
        f" {_num(cx - r)} {_num(cy)} C{_num(cx - r)} {_num(cy - k)} {_num(cx - k)} {_num(cy - r)}"
        f" {_num(cx)} {_num(cy - r)} C{_num(cx + k)} {_num(cy - r)} {_num(cx + r)} {_num(cy - k)}"
        f" {_num(cx + r)} {_num(cy)} Z"
    )


def _lines(css: str, *ds: str, mirror: float | None = None) -> tuple[Line, ...]:
    out = [Line(d, css) for d in ds]
    if mirror is not None:
        out += [Line(_mirror_d(d, mirror), css) for d in ds]
    return tuple(out)


def _build(
    map_id: str,
    label: str,
    view_box: tuple[float, float, float, float],
    clips: Mapping[str, str],
    base: Sequence[Line],
    layers: Sequence[_R | _M],
    lines: Sequence[Line],
    captions: Sequence[Caption],
) -> AreaMap:
    flat_clips = {name: _flatten(d) for name, d in clips.items()}
    built: list[Region | Mask] = []
    for layer in layers:
        clip = flat_clips[layer.clip] if layer.clip else None
        if isinstance(layer, _R):
            text, area = _REGION_INFO[layer.id]
            built.append(
                Region(
                    map_id=map_id, id=layer.id, label=text, area=area, shape=_flatten(layer.d),
                    clip=clip, anchor=layer.anchor, periorbital=layer.id.startswith("periorbital_"),
                )
            )
        else:
            built.append(Mask(layer.id, _flatten(layer.d), clip, layer.css))
    return AreaMap(
        id=map_id, label=label, view_box=view_box, clips=MappingProxyType(flat_clips),
        base=tuple(base), layers=tuple(built), lines=tuple(lines), captions=tuple(captions),
    )


def _mirror_map(source: AreaMap, map_id: str, label: str) -> AreaMap:
    """`source` seen from the other side: every shape mirrored, left and right swapped."""
    width = source.view_box[2]

    def flip(shape: Shape) -> Shape:
        return tuple(tuple((round(width - x, 2), y) for x, y in ring) for ring in shape)

    clips = {name: flip(shape) for name, shape in source.clips.items()}
    layers: list[Region | Mask] = []
    for layer in source.layers:
        if isinstance(layer, Region):
            layers.append(
                Region(
                    map_id=map_id, id=_swap_side(layer.id), label=_REGION_INFO[_swap_side(layer.id)][0],
                    area=layer.area, shape=flip(layer.shape),
                    clip=flip(layer.clip) if layer.clip else None,
                    anchor=(round(width - layer.anchor[0], 1), layer.anchor[1]),
                    periorbital=layer.periorbital,
                )
            )
        else:
            layers.append(Mask(layer.id, flip(layer.shape), flip(layer.clip) if layer.clip else None,
                               layer.css))
    return AreaMap(
        id=map_id, label=label, view_box=source.view_box, clips=MappingProxyType(clips),
        base=tuple(Line(_mirror_d(line.d, width), line.css) for line in source.base),
        layers=tuple(layers),
        lines=tuple(Line(_mirror_d(line.d, width), line.css) for line in source.lines),
        captions=tuple(
            Caption(
                _SWAPPED_CAPTIONS.get(c.text, c.text), width - c.x, c.y,
                {"start": "end", "end": "start"}.get(c.anchor, c.anchor),
            )
            for c in source.captions
        ),
    )


# --- Face, front (viewBox 0 0 200 260; the patient's right on the viewer's left) ---------------

_W = 200.0

_FACE_HEAD = (
    "M100 14 C131 14 156 36 159 72 C161 92 160 108 158 124 C155 146 150 162 142 174"
    " C131 190 117 203 100 205 C83 203 69 190 58 174 C50 162 45 146 42 124"
    " C40 108 39 92 41 72 C44 36 69 14 100 14 Z"
)
_FACE_HAIRLINE = (
    "M40 106 C40 96 42 86 47 78 C52 70 57 66 63 66 C72 60 86 55 100 55 C114 55 128 60 137 66"
    " C143 66 148 70 153 78 C158 86 160 96 160 106"
)
_FACE_EAR = "M42 102 C34 95 27 100 27 112 C27 126 31 140 38 146 C40 148 42 148 44 147"
_FACE_NECK = (
    "M66 168 C67 196 66 218 62 234 C56 243 36 250 8 255 L0 257 V260 H200 V257 L192 255"
    " C164 250 144 243 138 234 C134 218 133 196 134 168 Z"
)
_FACE_EYE = "M61 115 C66 109 81 108 89 115 C82 120 68 121 61 115 Z"

_FACE_FRONT = _build(
    "face_front",
    gettext_noop("Face, front"),
    (0, 0, _W, 260),
    {"head": _FACE_HEAD},
    base=(
        Line(_FACE_NECK, "skin"),
        Line(_FACE_EAR + " L44 102 Z", "skin"),
        Line(_mirror_d(_FACE_EAR + " L44 102 Z", _W), "skin"),
        Line(_FACE_HEAD, "skin"),
    ),
    layers=(
        _R("neck", "M66 160 C67 196 66 218 62 234 C72 240 86 243 100 243 C114 243 128 240 138 234"
           " C134 218 133 196 134 160 Z", None, (100, 222)),
        *_pair(_R("cheek_right", "M20 100 H100 V230 H20 Z", "head", (60, 140)), _W),
        _R("forehead", "M20 0 H180 V103 H20 Z", "head", (100, 76)),
        _M("hair", _FACE_HAIRLINE + " H180 V0 H20 V106 Z", "head", "hair"),
        *_pair(_R("jawline_right", "M20 134 H52 C57 149 64 160 73 169 C78 173 83 176 88 178"
                  " V230 H20 Z", "head", (61, 166)), _W),
        _R("chin", "M77 182 C84 187 92 189 100 189 C108 189 116 187 123 182 L128 230 H72 Z",
           "head", (100, 197)),
        _R("perioral", "M87 152 C77 154 70 162 70 172 C70 182 79 189 90 190 H110"
           " C121 189 130 182 130 172 C130 162 123 154 113 152 C107 155 93 155 87 152 Z",
           None, (100, 184)),
        _R("nose", "M94 110 H106 C107 122 109 131 114 138 C120 144 120 153 112 155"
           " C106 157 94 157 88 155 C80 153 80 144 86 138 C91 131 93 122 94 110 Z",
           None, (100, 135)),
        _R("glabella", "M89 92 C96 89 104 89 111 92 L108 112 C103 114 97 114 92 112 Z",
           None, (100, 100)),
        *_pair(_R("periorbital_right", "M55 114 C55 104 65 100 77 100 C86 100 92 104 93 110"
                  " C94 118 92 126 84 130 C76 133 64 132 58 126 C56 122 55 118 55 114 Z",
                  None, (75, 126)), _W),
        *_pair_mask(_M("eye", _FACE_EYE, None, "eye"), _W),
    ),
    lines=(
        *_lines("outline", _FACE_HEAD),
        *_lines("outline", "M66.2 185 C67 204 66 220 62 234 C56 243 36 250 8 255 L0 257", mirror=_W),
        *_lines("outline", _FACE_EAR, "M37 108 C32 108 31 117 33 125 C34 131 37 136 40 137",
                mirror=_W),
        Line(_FACE_HAIRLINE, "feature"),
        *_lines("brow", "M57 103 C63 97 74 95 90 99", mirror=_W),
        *_lines("feature", _FACE_EYE, "M64 112 C70 108 80 108 87 112", mirror=_W),
        *_lines("iris", _circle(75, 114.6, 4.2), mirror=_W),
        *_lines("detail", "M64 121 C70 125 80 125 87 120", "M95 112 C95 122 93 130 90 137",
                "M84 145 C77 152 75 162 78 171", mirror=_W),
        Line("M86 141 C81 146 83 153 90 152 C94 151 96 154 100 154 C104 154 106 151 110 152"
             " C117 153 119 146 114 141", "feature"),
        Line("M80 170 C86 167 92 164 97 165 C98.5 165.4 99.3 166 100 166 C100.7 166 101.5 165.4"
             " 103 165 C108 164 114 167 120 170 C112 172 106 172 100 172 C94 172 88 172 80 170 Z",
             "lip"),
        Line("M84 172 C89 177 95 179 100 179 C105 179 111 177 116 172", "feature"),
        Line("M92 188 C96 190 104 190 108 188", "detail"),
        *_lines("detail", "M72 198 C78 214 86 228 95 237", mirror=_W),
        Line("M94 240 C97 243 103 243 106 240", "detail"),
        *_lines("detail", "M94 247 C80 246 62 248 44 252", mirror=_W),
    ),
    captions=(Caption(_PATIENT_RIGHT, 6, 16, "start"), Caption(_PATIENT_LEFT, 194, 16, "end")),
)


# --- Face, left side (viewBox 0 0 200 260; the face looks to the viewer's left) ----------------

Seg = tuple[float, float, float, float, float, float]


def _segs_d(start: Point, segs: Sequence[Seg], *, close: bool = False) -> str:
    """Path data for a run of cubic segments from `start`."""
    parts = [f"M{_num(start[0])} {_num(start[1])}"]
    parts += ["C" + " ".join(_num(v) for v in seg) for seg in segs]
    return " ".join(parts) + (" Z" if close else "")


def _reversed(start: Point, segs: Sequence[Seg]) -> tuple[Point, list[Seg]]:
    """The same run of cubic segments walked the other way."""
    ends = [start, *((seg[4], seg[5]) for seg in segs)]
    out = [(seg[2], seg[3], seg[0], seg[1], ends[i][0], ends[i][1]) for i, seg in enumerate(segs)]
    return ends[-1], out[::-1]


def _mirrored(segs: Sequence[Seg], width: float) -> list[Seg]:
    return [(width - a, b, width - c, d, width - e, f) for a, b, c, d, e, f in segs]


# The profile from the back of the skull round the face, clockwise from the crown.
_PROFILE_BACK: list[Seg] = [(142, 14, 166, 38, 168, 76), (170, 102, 164, 126, 150, 148)]
_PROFILE_JAW: list[Seg] = [(140, 162, 130, 172, 120, 180), (104, 192, 78, 206, 56, 208)]
_PROFILE_FACE: list[Seg] = [  # from the chin up to the crown
    (48, 207, 44, 202, 44, 196), (43, 190, 46, 186, 49, 183), (45, 180, 42, 177, 42, 174),
    (43, 171, 45, 169, 45, 168), (42, 166, 41, 165, 41, 163), (41, 157, 42, 153, 44, 150),
    (37, 149, 30, 146, 30, 141), (30, 134, 43, 120, 53, 108), (50, 104, 48, 100, 48, 96),
    (48, 84, 49, 74, 54, 62), (58.5, 51, 80, 14, 108, 14),
]
_PROFILE_HEAD = _segs_d((108, 14), _PROFILE_BACK + _PROFILE_JAW + _PROFILE_FACE, close=True)
_NECK_BACK: list[Seg] = [(142, 170, 140, 190, 142, 206), (146, 228, 158, 246, 176, 260)]
_NECK_FRONT: list[Seg] = [(66, 210, 76, 212, 82, 216), (86, 226, 87, 240, 86, 260)]
_PROFILE_OUTLINE = (
    _segs_d(*_reversed((150, 148), _NECK_BACK))
    + " "
    + " ".join(
        "C" + " ".join(_num(v) for v in seg)
        for seg in _reversed((108, 14), _PROFILE_BACK)[1] + _reversed((56, 208), _PROFILE_FACE)[1]
        + _NECK_FRONT
    )
)
_PROFILE_NECK = (
    _segs_d((56, 208), _NECK_FRONT) + " H176 "
    + " ".join("C" + " ".join(_num(v) for v in seg) for seg in _reversed((150, 148), _NECK_BACK)[1])
    + " Z"
)
_PROFILE_EAR = "M121 106 C128 98 142 100 144 114 C146 128 140 140 133 148 C129 153 123 153 121 147"
_PROFILE_HAIRLINE = (
    "M57 50 C70 55 85 62 94 72 C100 82 104 96 108 110 C110 117 115 116 119 108"
)
_PROFILE_EYE = "M56 110 C60 107 65 107 69 111 C65 115 61 116 57 114 Z"

_FACE_LEFT = _build(
    "face_left",
    gettext_noop("Face, left side"),
    (0, 0, _W, 260),
    {"head": _PROFILE_HEAD},
    base=(Line(_PROFILE_NECK, "skin"), Line(_PROFILE_HEAD, "skin")),
    layers=(
        _R("neck_left", _segs_d((56, 208), _NECK_FRONT[:1]) + " C86 226 87 240 86 250"
           " C108 253 130 250 150 243 C145 230 142 218 142 206 C140 190 142 170 150 148"
           " L152 128 L122 142 Z",
           None, (112, 226)),
        _R("cheek_left", "M20 96 H126 V142 L122 152 V240 H20 Z", "head", (88, 140)),
        _R("temple_left", "M68 52 H130 V118 L74 106 Z", "head", (92, 96)),
        _R("forehead", "M20 0 H96 L72 56 L70 104 H20 Z", "head", (58, 74)),
        _M("hair", _PROFILE_HAIRLINE + " L132 104 L146 120 L150 148 L200 160 V0 H20 V50 Z", "head", "hair"),
        _R("jawline_left", "M60 232 L62 192 C80 188 98 179 108 169 C113 162 116 154 117 146"
           " H128 V232 Z", "head", (94, 190)),
        _R("chin", "M30 184 H62 C67 191 69 201 67 216 H30 Z", "head", (54, 197)),
        _R("perioral", "M30 150 H58 C64 158 66 172 62 184 H30 Z", "head", (51, 167)),
        _R("nose", "M54 104 L20 138 L40 154 L58 151 C60 140 60 120 57 104 Z", "head", (43, 136)),
        _R("periorbital_left", "M46 100 C56 95 70 97 76 104 C80 112 78 122 70 127"
           " C62 130 54 126 50 120 C47 114 46 106 46 100 Z", "head", (66, 120)),
        _M("eye", _PROFILE_EYE, None, "eye"),
        _M("ear", _PROFILE_EAR + " C119 136 118 116 121 106 Z", None, "ear"),
    ),
    lines=(
        Line(_PROFILE_OUTLINE, "outline"),
        Line(_PROFILE_HAIRLINE, "feature"),
        Line(_PROFILE_EAR, "outline"),
        Line("M125 110 C133 106 139 113 138 122 C137 131 133 137 128 141", "feature"),
        Line("M121 125 C124 124 126 129 122 132", "feature"),
        Line("M49 100 C55 96.5 64 96.5 72 101", "brow"),
        Line(_PROFILE_EYE, "feature"),
        Line(_circle(59.6, 111.6, 1.5), "iris"),
        Line("M58 106 C62 104.5 66 105 70 108", "detail"),
        Line("M47.5 139.5 C43.5 141.5 43.5 147 48 149 C50 150 52 149.5 53 147.5", "feature"),
        Line("M45 168 C48 168 51 168.5 54 170", "feature"),
        Line("M54 150 C58 157 59 165 57 174", "detail"),
        Line("M50 188 C52 187 54 187 56 188", "detail"),
        Line("M58 206 C78 202 102 192 117 181 C122 172 123 161 121 151", "detail"),
        Line("M125 172 C117 192 102 218 92 240", "detail"),
    ),
    captions=(),
)
_FACE_RIGHT = _mirror_map(_FACE_LEFT, "face_right", gettext_noop("Face, right side"))


# --- Scalp from above (viewBox 0 0 200 240; the front at the top, the patient's left on the
# viewer's left) --------------------------------------------------------------------------------

_SCALP_HEAD = (
    "M100 34 C134 34 160 60 166 102 C172 142 162 190 138 210 C126 219 114 222 100 222"
    " C86 222 74 219 62 210 C38 190 28 142 34 102 C40 60 66 34 100 34 Z"
)
_SCALP_HAIRLINE = "M42 84 C56 68 78 60 100 60 C122 60 144 68 158 84"

_SCALP = _build(
    "scalp",
    gettext_noop("Scalp, from above"),
    (0, 0, _W, 240),
    {"head": _SCALP_HEAD},
    base=(
        Line("M92 36 C93 26 107 26 108 36 Z", "skin"),
        *_lines("skin", "M36 114 C26 112 21 120 22 130 C23 140 28 148 37 148 Z", mirror=_W),
        Line(_SCALP_HEAD, "skin"),
    ),
    layers=(
        _R("midscalp", "M0 100 C40 102 60 104 100 104 C140 104 160 102 200 100 V178 H0 Z",
           "head", (100, 124)),
        _R("occipital", "M0 178 C40 174 70 180 100 180 C130 180 160 174 200 178 V240 H0 Z",
           "head", (100, 204)),
        _R("frontal", "M0 0 H200 V100 C160 102 140 104 100 104 C60 104 40 102 0 100 Z",
           "head", (100, 82)),
        *_pair(_R("temporal_left", "M0 70 L64 88 L62 166 L0 176 Z", "head", (46, 128)), _W),
        _R("crown", _circle(100, 160, 24), None, (100, 160)),
        _M("forehead", _SCALP_HAIRLINE + " L200 92 V0 H0 V92 Z", "head", "plain"),
    ),
    lines=(
        Line(_SCALP_HEAD, "outline"),
        Line("M92 36 C93 26 107 26 108 36", "outline"),
        *_lines("outline", "M36 114 C26 112 21 120 22 130 C23 140 28 148 37 148", mirror=_W),
        *_lines("detail", "M33 120 C29 122 28 132 32 140", mirror=_W),
        Line(_SCALP_HAIRLINE, "feature"),
        Line("M100 64 V134", "dashed"),
        Line("M100 152 C106 152 108 158 104 163 C99 168 92 163 93 157 C94 149 106 146 111 153"
             " C116 160 112 170 104 173", "detail"),
    ),
    captions=(
        Caption(_FRONT, 100, 14, "middle"), Caption(_BACK, 100, 236, "middle"),
        Caption(_PATIENT_LEFT, 6, 24, "start"), Caption(_PATIENT_RIGHT, 194, 24, "end"),
    ),
)


# --- The body, front and back (viewBox 0 0 240 480) ------------------------------------------

_BW = 240.0
# Half the silhouette, the viewer's left side, from the top of the head to the crotch.
_BODY_HALF: list[Seg] = [
    (107, 8, 98, 19, 98, 34),  # head
    (98, 48, 103, 60, 111, 66),  # jaw
    (111, 71, 110, 77, 110, 83),  # neck
    (100, 88, 80, 88, 68, 94),  # trapezius to the shoulder
    (60, 98, 56, 108, 56, 122),  # deltoid
    (55, 146, 52, 168, 50, 190),  # upper arm, outer side
    (48, 214, 44, 240, 42, 262),  # forearm, outer side
    (38, 272, 34, 292, 38, 306),  # hand, outer side
    (41, 314, 52, 315, 56, 305),  # fingertips
    (58, 293, 58, 277, 58, 265),  # hand, inner side
    (60, 240, 64, 214, 68, 192),  # forearm, inner side
    (70, 170, 72, 146, 78, 128),  # upper arm, inner side, to the armpit
    (80, 150, 87, 174, 89, 196),  # chest to the waist
    (90, 214, 80, 230, 78, 252),  # waist to the hip
    (78, 284, 86, 318, 87, 344),  # thigh, outer side, to the knee
    (88, 357, 84, 367, 84, 382),  # below the knee, to the widest of the calf
    (84, 405, 92, 425, 96, 440),  # lower leg to the ankle
    (95, 452, 87, 461, 91, 467),  # foot
    (96, 472, 110, 472, 113, 466),  # toes
    (114, 458, 111, 450, 111, 440),  # inner ankle
    (110, 410, 108, 372, 111, 346),  # inner calf to the knee
    (113, 316, 116, 282, 120, 254),  # inner thigh to the crotch
]
_BODY = (
    _segs_d((120, 8), _BODY_HALF)
    + " "
    + " ".join("C" + " ".join(_num(v) for v in seg)
               for seg in _reversed((_BW - 120, 8), _mirrored(_BODY_HALF, _BW))[1])
    + " Z"
)

_BODY_ARM_CELLS = (  # the viewer's left arm, bottom to top: (id stem, path, anchor)
    ("hand", "M20 262 H78 V330 H20 Z", (48, 286)),
    ("forearm", "M20 206 H78 V262 H20 Z", (55, 234)),
    ("elbow", "M20 178 H78 V206 H20 Z", (59, 192)),
    ("upper_arm", "M20 120 H78 V178 H20 Z", (64, 152)),
    ("shoulder", "M30 80 H96 L78 128 H30 Z", (66, 108)),
)
_BODY_LEG_CELLS = (  # the viewer's left leg, below the trunk: (id stem, path, anchor)
    ("knee", "M70 326 H120 V362 H70 Z", (99, 344)),
    ("lower_leg", "M70 362 H120 V432 H70 Z", (99, 396)),
    ("ankle", "M70 432 H120 V450 H70 Z", (103.5, 441)),
)


def _side_cells(cells: Sequence[tuple[str, str, Point]], side: str, back: bool = False) -> list[_R]:
    """Regions for the viewer's left limb (`side` is whose side it is) and their mirror images."""
    seen_from_behind = {"hand": "hand_back", "knee": "knee_back", "lower_leg": "calf"}
    out: list[_R] = []
    for stem, d, anchor in cells:
        name = seen_from_behind.get(stem, stem) if back else stem
        out += _pair(_R(f"{name}_{side}", d, "body", anchor), _BW)
    return out


_BODY_FRONT = _build(
    "body_front",
    gettext_noop("Body, front"),
    (0, 0, _BW, 480),
    {"body": _BODY},
    base=(Line(_BODY, "skin"),),
    layers=(
        _R("chest", "M78 120 H162 V172 H78 Z", "body", (120, 156)),
        _R("decolletage", "M60 84 H180 V128 C160 134 140 136 120 136 C100 136 80 134 60 128 Z",
           "body", (120, 112)),
        _R("neck", "M104 62 C110 68 130 68 136 62 L140 90 C130 94 110 94 100 90 Z", "body",
           (120, 78)),
        _R("abdomen", "M78 172 H162 V235.2 L126 256 H114 L78 235.2 Z", "body", (120, 212)),
        *_pair(_R("flank_right", "M78 172 H98 V246.7 L78 235.2 Z", "body", (93.5, 206)), _BW),
        *_pair(_R("thigh_right", "M70 230.6 L114 256 H120 V326 H70 Z", "body", (98, 292)), _BW),
        *_side_cells(_BODY_LEG_CELLS, "right"),
        *_side_cells(_BODY_ARM_CELLS, "right"),
    ),
    lines=(
        Line(_BODY, "outline"),
        *_lines("detail", "M111 63 C115 68 125 68 129 63", "M98.5 30 C95 29 94.5 39 99 42",
                "M113 92 C104 94 90 90 78 95", "M84 140 C92 152 108 154 116 146",
                "M82 236 C96 246 108 252 117 258", "M93 340 C94 332 104 332 105 340",
                "M58 188 C61 190 64 190 67 188", "M45 288 C44 296 45 302 47 306",
                "M93 436 C95 440 95 443 94 446", mirror=_BW),
        Line("M116 92 C118 95 122 95 124 92", "detail"),
        Line(_circle(120, 198, 1.6), "detail"),
    ),
    captions=(Caption(_PATIENT_RIGHT, 6, 16, "start"), Caption(_PATIENT_LEFT, 234, 16, "end")),
)

_BODY_BACK = _build(
    "body_back",
    gettext_noop("Body, back"),
    (0, 0, _BW, 480),
    {"body": _BODY},
    base=(
        Line(_BODY, "skin"),
        Line("M120 8 C107 8 98 19 98 34 C98 48 101 58 106 66 C114 69 126 69 134 66"
             " C139 58 142 48 142 34 C142 19 133 8 120 8 Z", "hair"),
    ),
    layers=(
        _R("upper_back", "M78 84 H162 V172 H78 Z", "body", (120, 132)),
        _R("neck_back", "M104 66 C110 69 130 69 136 66 L140 90 C130 94 110 94 100 90 Z", "body",
           (120, 79)),
        _R("lower_back", "M98 172 H142 V238 H98 Z", "body", (120, 206)),
        *_pair(_R("flank_left", "M78 172 H98 V240 H78 Z", "body", (93.5, 206)), _BW),
        *_pair(_R("thigh_back_left", "M70 284 H120 V326 H70 Z", "body", (99, 312)), _BW),
        *_pair(_R("buttock_left", "M70 236 H120 V290 C108 294 92 294 78 289 H70 Z", "body",
                  (100, 262)), _BW),
        *_side_cells(_BODY_LEG_CELLS, "left", back=True),
        *_side_cells(_BODY_ARM_CELLS, "left", back=True),
    ),
    lines=(
        Line(_BODY, "outline"),
        *_lines("detail", "M98.5 30 C95 29 94.5 39 99 42",
                "M90 110 C98 108 106 112 108 122 C109 136 103 148 96 154",
                "M83 288 C94 294 108 295 117 291", "M93 344 C97 346 103 346 107 344",
                "M55 190 C57 194 61 195 64 192", "M100 416 C101.5 426 102.5 433 103 440",
                "M46 272 C48 280 50 290 50 300", mirror=_BW),
        Line("M120 90 V236", "dashed"),
        Line("M120 238 V256", "detail"),
        Line("M106 66 C114 69 126 69 134 66", "feature"),
    ),
    captions=(Caption(_PATIENT_LEFT, 6, 16, "start"), Caption(_PATIENT_RIGHT, 234, 16, "end")),
)


# --- The maps and their public interface ------------------------------------------------------

MAPS: Mapping[str, AreaMap] = MappingProxyType(
    {m.id: m for m in (_FACE_FRONT, _FACE_LEFT, _FACE_RIGHT, _SCALP, _BODY_FRONT, _BODY_BACK)}
)

# Which maps the chart offers for a plan's area, the most useful first (areas.yaml codes).
_FACE_MAPS = ("face_front", "face_left", "face_right")
_MAPS_FOR_AREA: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "face": _FACE_MAPS,
        "scalp": ("scalp",),
        "neck": ("face_front", "body_front"),
        "body": ("body_front", "body_back"),
        "hands": ("body_back", "body_front"),  # the backs of the hands face backwards
        "arms": ("body_back", "body_front"),
        "abdomen": ("body_front",),
        "flanks": ("body_front", "body_back"),
        "thighs": ("body_front", "body_back"),
        "buttocks": ("body_back",),
        "back": ("body_back",),
        "legs": ("body_front", "body_back"),
        "joints": ("body_front", "body_back"),
    }
)


def _identity(text: str) -> str:
    return text


def _map(map_id: object) -> AreaMap:
    if isinstance(map_id, str) and map_id in MAPS:
        return MAPS[map_id]
    shown = map_id[:40] if isinstance(map_id, str) else type(map_id).__name__
    raise MapError("map", gettext_noop("There is no injection map called “%(map)s”."), map=shown)


def maps_for_area(area_code: str) -> list[str]:
    """The ids of the maps the chart offers for a plan's area (knowledge-pack area code)."""
    try:
        return list(_MAPS_FOR_AREA[area_code])
    except (KeyError, TypeError):
        raise MapError(
            "area", gettext_noop("There is no injection map for the area “%(area)s”."),
            area=str(area_code)[:40],
        ) from None


def maps_for_areas(area_codes: Iterable[str]) -> list[str]:
    """The maps for several areas, each once, in the order the areas first ask for them."""
    out: list[str] = []
    for code in area_codes:
        out += [m for m in maps_for_area(code) if m not in out]
    return out


def locate(map_id: str, x: float, y: float) -> Region | None:
    """The region a point falls on, as drawn; None when it is off every region (or not a number)."""
    layer = _map(map_id).layer_at(x, y)
    return layer if isinstance(layer, Region) else None


def _coordinate(axis: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MapError(
            axis, gettext_noop("The %(axis)s coordinate of a point must be a finite number."), axis=axis
        )
    return round(float(value), COORD_DECIMALS)


def validate_point(map_id: object, x: object, y: object) -> Region:
    """The region of a charted point, after rounding it as it is stored; MapError if it has none."""
    area_map = _map(map_id)
    px, py = _coordinate("x", x), _coordinate("y", y)
    region = locate(area_map.id, px, py)
    if region is None:
        raise MapError(
            "point",
            gettext_noop("The point at (%(x)s, %(y)s) is off the map: place it on a shaded area."),
            x=px, y=py,
        )
    return region


# Presentation attributes, so the drawing reads well without charting.css (a PDF, a print).
_PAINT: Mapping[str, str] = MappingProxyType(
    {
        "skin": 'fill="#ffffff" stroke="none"',
        "region": 'fill="#e3f1f2" stroke="#ffffff" stroke-width="1"',
        "hair": 'fill="#e6e9ec" stroke="none"',
        "eye": 'fill="#ffffff" stroke="none"',
        "ear": 'fill="#ffffff" stroke="none"',
        "plain": 'fill="#ffffff" stroke="none"',
        "outline": 'fill="none" stroke="#44525f" stroke-width="1.4" stroke-linejoin="round"',
        "feature": 'fill="none" stroke="#44525f" stroke-width="1" stroke-linecap="round"',
        "detail": 'fill="none" stroke="#8a98a5" stroke-width="0.8" stroke-linecap="round"',
        "brow": 'fill="none" stroke="#44525f" stroke-width="2.4" stroke-linecap="round"',
        "lip": 'fill="#f3e6e6" stroke="#44525f" stroke-width="0.9" stroke-linejoin="round"',
        "iris": 'fill="#c9d3da" stroke="#44525f" stroke-width="0.7"',
        "dashed": 'fill="none" stroke="#8a98a5" stroke-width="0.8" stroke-dasharray="2 2"',
    }
)


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def svg(
    map_id: str,
    *,
    translate: Callable[[str], str] = _identity,
    id_prefix: str = "injmap",
    points: Sequence[tuple[int, float, float]] = (),
) -> str:
    """The map as a complete <svg> element: outline, one path per region, an empty points layer.

    `translate` turns the English labels into the reader's language (pass Django's gettext);
    `id_prefix` keeps the clip-path ids unique when a page shows the same map twice; `points`
    (number, x, y) are drawn in the points layer, for a page or a PDF without JavaScript.
    """
    m = _map(map_id)
    left, top, width, height = m.view_box
    clip_ids = {name: f"{id_prefix}-{m.id}-{name}" for name in m.clips}
    label = translate(m.label)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="injection-map-svg" data-map="{_attr(m.id)}"'
        f' viewBox="{_num(left)} {_num(top)} {_num(width)} {_num(height)}" role="group"'
        f' aria-label="{_attr(label)}">',
        "<defs>",
    ]
    for name, shape in m.clips.items():
        out.append(
            f'<clipPath id="{_attr(clip_ids[name])}" clipPathUnits="userSpaceOnUse">'
            f'<path d="{_shape_d(shape)}" clip-rule="evenodd"/></clipPath>'
        )
    out.append("</defs>")
    out.append('<g class="map-base" aria-hidden="true" pointer-events="none">')
    out += [f'<path class="{_attr(line.css)}" d="{_attr(line.d)}" {_PAINT[line.css]}/>' for line in m.base]
    out.append('</g><g class="map-layers">')
    clip_of = {shape: clip_ids[name] for name, shape in m.clips.items()}
    for layer in m.layers:
        clip = f' clip-path="url(#{_attr(clip_of[layer.clip])})"' if layer.clip else ""
        if isinstance(layer, Region):
            text = translate(layer.label)
            classes = "region periorbital" if layer.periorbital else "region"
            flag = ' data-periorbital="true"' if layer.periorbital else ""
            out.append(
                f'<path class="{classes}" data-region="{_attr(layer.id)}" data-area="{_attr(layer.area)}"'
                f' data-label="{_attr(text)}" data-anchor="{_num(layer.anchor[0])} {_num(layer.anchor[1])}"'
                f'{flag} d="{_shape_d(layer.shape)}" fill-rule="evenodd"{clip} {_PAINT["region"]}>'
                f"<title>{escape(text)}</title></path>"
            )
        else:
            out.append(
                f'<path class="mask mask-{_attr(layer.css)}" d="{_shape_d(layer.shape)}"'
                f' fill-rule="evenodd"{clip} {_PAINT[layer.css]}/>'
            )
    out.append('</g><g class="map-lines" aria-hidden="true" pointer-events="none">')
    out += [f'<path class="{_attr(line.css)}" d="{_attr(line.d)}" {_PAINT[line.css]}/>' for line in m.lines]
    out.append('</g><g class="map-captions" aria-hidden="true" pointer-events="none">')
    out += [
        f'<text x="{_num(c.x)}" y="{_num(c.y)}" text-anchor="{c.anchor}" font-size="{_num(width / 32)}"'
        f' fill="#44525f">{escape(translate(c.text))}</text>'
        for c in m.captions
    ]
    out.append('</g><g class="points">')
    r = width / 40
    for number, x, y in points:
        out.append(
            f'<g class="point" data-n="{int(number)}"><circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r)}"'
            f' fill="#1f6f78" stroke="#ffffff" stroke-width="{_num(r / 4)}"/><text x="{_num(x)}"'
            f' y="{_num(y)}" dy="0.35em" text-anchor="middle" font-size="{_num(r * 1.2)}" fill="#ffffff"'
            f' font-weight="700">{int(number)}</text></g>'
        )
    out.append("</g></svg>")
    return "".join(out)
