"""The clinical knowledge pack: versioned YAML files, validated and loaded into frozen dataclasses.

Pure Python (no Django): the screening engine, the CLI and the database loader all read the pack
through `load_pack()`. Every entry cites a fact id from DESIGN.md's "Clinical facts from the
brief"; the valid ids are listed here in `KNOWN_FACTS` so that validation needs no other file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"

# The fact ids of DESIGN.md's table; keep in step with it.
KNOWN_FACTS: frozenset[str] = frozenset(
    {
        "F-ELIG-AGE",
        "F-ELIG-PREG",
        "F-ELIG-INSULIN",
        "F-ELIG-CANCER",
        "F-ELIG-STROKE",
        "F-ELIG-MULTIDRUG",
        "F-ELIG-LIVER-KIDNEY",
        "F-WORKUP",
        "F-ALLERGY-TEST",
        "F-NSAID",
        "F-ANAESTHESIA",
        "F-LIFESTYLE",
        "F-DEPTH",
        "F-TOOLS",
        "F-SESSIONS",
        "F-FACE-BODY",
        "F-HAIR",
        "F-TECHNIQUE",
        "F-INDICATIONS",
        "F-SOLUTION",
        "F-OUTPATIENT",
        "F-SIDE-EFFECTS",
        "F-AFTERCARE",
        "F-COST",
        "F-CREDENTIALS",
        "F-PHOTOS",
    }
)

SEVERITIES: tuple[str, ...] = ("block", "review", "condition", "missing", "info")
AFTERCARE_TIMES: tuple[str, ...] = ("before", "after", "around")
SIDE_EFFECT_KINDS: tuple[str, ...] = ("local", "systemic")

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_FINDING_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_ATC_PREFIX_RE = re.compile(r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$")
_WORD_RE = re.compile(r"[^\W_]+")
_CACHE_LIMIT = 10_000  # lookup caches are cleared past this size, so hostile input cannot grow them


class PackError(ValueError):
    """A knowledge-pack file is missing, malformed or inconsistent."""

    def __init__(self, file: str, entry: str | None, message: str) -> None:
        self.file = file
        self.entry = entry
        self.message = message
        where = f"{file}: {entry}" if entry else file
        super().__init__(f"{where}: {message}")


def normalize_name(text: str) -> str:
    """Fold a substance or medicine name for matching: case, spacing and punctuation ignored."""
    return " ".join(_WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold()))


def normalize_atc(code: str) -> str:
    """Upper-case an ATC code and drop spaces."""
    return "".join(code.split()).upper()


# --- the entries -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive numeric range."""

    min: int
    max: int


@dataclass(frozen=True, slots=True)
class IndicationGroup:
    """A group of indications (pain, rheumatic, vascular, face_body, hair)."""

    code: str
    label: str
    fact: str


@dataclass(frozen=True, slots=True)
class Indication:
    """What a treatment is for, the top-level areas it applies to, and whether it is cosmetic."""

    code: str
    group: str
    label: str
    areas: tuple[str, ...]
    cosmetic: bool
    fact: str
    disclosure: str | None = None


@dataclass(frozen=True, slots=True)
class Area:
    """A treatment area; `parent` is None for the top-level areas face, body and scalp."""

    code: str
    label: str
    parent: str | None
    session_minutes: Range
    depth_mm: Range
    depth_fact: str
    fact: str

    @property
    def top_level(self) -> str:
        """The top-level area (face, body or scalp) this area belongs to."""
        return self.parent or self.code


@dataclass(frozen=True, slots=True)
class Technique:
    """How injections are placed (point by point, comprehensive, epidermal)."""

    code: str
    label: str
    description: str
    fact: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """How the solution reaches the skin (needle, needle-free), with any required disclosure."""

    code: str
    label: str
    description: str
    disclosure: str | None
    fact: str


@dataclass(frozen=True, slots=True)
class IngredientClass:
    """A kind of ingredient (vitamin, plant extract, drug...)."""

    code: str
    label: str
    fact: str


@dataclass(frozen=True, slots=True)
class Ingredient:
    """An ingredient of a solution with its other names and classes."""

    code: str
    name: str
    synonyms: tuple[str, ...]
    classes: tuple[str, ...]
    fact: str


@dataclass(frozen=True, slots=True)
class MedicationClass:
    """A class of medicines that rules look for, matched by ATC prefix or by name."""

    code: str
    label: str
    atc_prefixes: tuple[str, ...]
    names: tuple[str, ...]
    fact: str


@dataclass(frozen=True, slots=True)
class FindingDefinition:
    """A finding code the screening engine reports, its severity and source."""

    code: str
    severity: str
    fact: str
    summary: str


@dataclass(frozen=True, slots=True)
class SideEffect:
    """A side effect to watch for, with the patient-facing text."""

    code: str
    label: str
    kind: str
    rare: bool
    urgent: bool
    typical_hours: Range | None
    patient_text: str
    fact: str


@dataclass(frozen=True, slots=True)
class AftercareItem:
    """An instruction for the patient before, after or around a session."""

    code: str
    when: str
    text: str
    hours: Range | None
    fact: str


@dataclass(frozen=True, slots=True)
class KnowledgePack:
    """The whole pack, immutable, with lookups precomputed for the engine."""

    version: str
    indication_groups: Mapping[str, IndicationGroup]
    indications: Mapping[str, Indication]
    areas: Mapping[str, Area]
    techniques: Mapping[str, Technique]
    deliveries: Mapping[str, Delivery]
    ingredient_classes: Mapping[str, IngredientClass]
    ingredients: Mapping[str, Ingredient]
    medication_classes: Mapping[str, MedicationClass]
    findings: Mapping[str, FindingDefinition]
    side_effects: Mapping[str, SideEffect]
    aftercare: Mapping[str, AftercareItem]
    # Precomputed lookups (built by load_pack): normalised name -> ingredient code, and the
    # medication-class matchers.
    _synonyms: Mapping[str, str] = field(repr=False, compare=False)
    _med_words: Mapping[str, frozenset[str]] = field(repr=False, compare=False)
    _med_phrases: tuple[tuple[str, str], ...] = field(repr=False, compare=False)
    _med_atc: tuple[tuple[str, str], ...] = field(repr=False, compare=False)
    _canon_cache: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _class_cache: dict[tuple[str, str | None], frozenset[str]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def top_level_areas(self) -> frozenset[str]:
        """Codes of the areas a plan or a screening names: face, body, scalp."""
        return frozenset(code for code, area in self.areas.items() if area.parent is None)

    def canonical_ingredient(self, name: str) -> str:
        """The ingredient code for a name or synonym; an unknown name comes back normalised."""
        cached = self._canon_cache.get(name)
        if cached is not None:
            return cached
        normal = normalize_name(name)
        canon = self._synonyms.get(normal, normal)
        if len(self._canon_cache) >= _CACHE_LIMIT:
            self._canon_cache.clear()
        self._canon_cache[name] = canon
        return canon

    def ingredient_label(self, canonical: str) -> str:
        """A display name for a canonical ingredient (its pack name, or the name itself)."""
        ingredient = self.ingredients.get(canonical)
        return ingredient.name if ingredient else canonical

    def medication_class_codes(self, name: str, atc: str | None = None) -> frozenset[str]:
        """The medication classes of a medicine, by ATC prefix or by name (cached, immutable)."""
        key = (name, atc)
        cached = self._class_cache.get(key)
        if cached is not None:
            return cached
        found: set[str] = set()
        if atc:
            code = normalize_atc(atc)
            found.update(cls for prefix, cls in self._med_atc if code.startswith(prefix))
        normal = normalize_name(name)
        for word in normal.split():
            found.update(self._med_words.get(word, ()))
        padded = f" {normal} "
        found.update(cls for phrase, cls in self._med_phrases if phrase in padded)
        result = frozenset(found)
        if len(self._class_cache) >= _CACHE_LIMIT:
            self._class_cache.clear()
        self._class_cache[key] = result
        return result

    def medication_classes_of(self, name: str, atc: str | None = None) -> set[str]:
        """The medication classes (e.g. {"nsaid"}) a medicine belongs to, by ATC or by name."""
        return set(self.medication_class_codes(name, atc))


# --- loading and validation --------------------------------------------------------------------

_T = TypeVar("_T")


class _Entry:
    """Typed, strict access to one YAML mapping; errors name the file and the entry."""

    def __init__(self, file: str, where: str, data: object, allowed: Iterable[str]) -> None:
        self.file = file
        self.where = where
        if not isinstance(data, dict):
            raise PackError(file, where, "expected a mapping")
        self.data: dict[str, Any] = data
        unknown = sorted(str(k) for k in data if k not in set(allowed))
        if unknown:
            raise PackError(file, where, f"unknown key {unknown[0]!r}")

    def fail(self, message: str) -> PackError:
        """A PackError for this entry."""
        return PackError(self.file, self.where, message)

    def raw(self, key: str, *, optional: bool = False) -> Any:
        """The value under key; absent is an error unless optional."""
        if key not in self.data:
            if optional:
                return None
            raise self.fail(f"missing {key!r}")
        return self.data[key]

    def text(self, key: str) -> str:
        """A non-empty string."""
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key!r} must be a non-empty string")
        return value.strip()

    def opt_text(self, key: str) -> str | None:
        """A non-empty string or null/absent."""
        value = self.raw(key, optional=True)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key!r} must be a non-empty string or null")
        return value.strip()

    def code(self, key: str = "code") -> str:
        """A snake_case code."""
        value = self.text(key)
        if not _CODE_RE.match(value):
            raise self.fail(f"{key!r} must be a lower-case snake_case code, not {value!r}")
        return value

    def flag(self, key: str) -> bool:
        """A boolean."""
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self.fail(f"{key!r} must be true or false")
        return value

    def texts(self, key: str, *, allow_empty: bool = True) -> tuple[str, ...]:
        """A list of non-empty strings."""
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"{key!r} must be a list of non-empty strings")
        if not value and not allow_empty:
            raise self.fail(f"{key!r} must not be empty")
        return tuple(v.strip() for v in value)

    def fact(self, key: str = "fact") -> str:
        """A fact id from KNOWN_FACTS."""
        value = self.raw(key)
        if value is None or value == "":
            raise self.fail(f"missing fact id ({key!r})")
        if not isinstance(value, str) or value not in KNOWN_FACTS:
            raise self.fail(f"unknown fact id {value!r}")
        return value

    def opt_range(self, key: str) -> Range | None:
        """A {min, max} mapping, or null/absent."""
        if self.raw(key, optional=True) is None:
            return None
        return self.range(key)

    def range(self, key: str) -> Range:
        """A {min, max} mapping of non-negative integers with min <= max."""
        value = self.raw(key)
        if value is None:
            raise self.fail(f"{key!r} must be a {{min, max}} mapping")
        sub = _Entry(self.file, f"{self.where}.{key}", value, ("min", "max", "fact"))
        low, high = sub.raw("min"), sub.raw("max")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (low, high)):
            raise sub.fail("min and max must be non-negative integers")
        if low > high:
            raise sub.fail(f"min {low} is greater than max {high}")
        return Range(low, high)


def _read_yaml(directory: Path, name: str) -> dict[str, Any]:
    """Parse one YAML file into a mapping."""
    path = directory / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError(name, None, f"cannot read file ({exc.strerror or exc})") from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise PackError(name, None, f"not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise PackError(name, None, "expected a mapping at the top level")
    return data


def _section(
    file: str,
    data: dict[str, Any],
    key: str,
    build: Callable[[_Entry], _T],
    allowed: Iterable[str],
) -> dict[str, _T]:
    """Build every entry of a list section, rejecting duplicate codes."""
    items = data.get(key)
    if not isinstance(items, list) or not items:
        raise PackError(file, None, f"{key!r} must be a non-empty list")
    allowed = tuple(allowed)
    result: dict[str, _T] = {}
    for index, raw in enumerate(items):
        label = raw.get("code") if isinstance(raw, dict) else None
        where = f"{key}[{index}]" + (f" ({label})" if isinstance(label, str) else "")
        entry = _Entry(file, where, raw, allowed)
        built = build(entry)
        code = entry.raw("code")  # validated by build()
        if code in result:
            raise entry.fail(f"duplicate code {code!r}")
        result[code] = built
    return result


def _check_top(file: str, data: dict[str, Any], keys: Iterable[str]) -> None:
    """Reject unknown top-level keys."""
    allowed = set(keys)
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise PackError(file, None, f"unknown top-level key {unknown[0]!r}")


_REQUIRED_FILES = (
    "indications.yaml",
    "areas.yaml",
    "techniques.yaml",
    "ingredients.yaml",
    "medication_classes.yaml",
    "contraindications.yaml",
    "side_effects.yaml",
    "aftercare.yaml",
)


def _load_areas(directory: Path) -> dict[str, Area]:
    """areas.yaml: areas with session minutes and depths (F-FACE-BODY, F-HAIR, F-DEPTH)."""
    file = "areas.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("areas",))

    def build(e: _Entry) -> Area:
        minutes = e.range("session_minutes")
        depth = e.range("depth_mm")
        depth_entry = _Entry(file, f"{e.where}.depth_mm", e.raw("depth_mm"), ("min", "max", "fact"))
        # F-DEPTH: 1-4 mm by area.
        if depth.min < 1 or depth.max > 4:
            raise e.fail("depth_mm must lie within 1-4 mm (F-DEPTH)")
        return Area(
            code=e.code(),
            label=e.text("label"),
            parent=e.opt_text("parent"),
            session_minutes=minutes,
            depth_mm=depth,
            depth_fact=depth_entry.fact(),
            fact=e.fact(),
        )

    allowed = ("code", "label", "parent", "session_minutes", "depth_mm", "fact")
    areas = _section(file, data, "areas", build, allowed)
    for code, area in areas.items():
        if area.parent is None:
            continue
        parent = areas.get(area.parent)
        if parent is None:
            raise PackError(file, code, f"unknown parent area {area.parent!r}")
        if parent.parent is not None:
            raise PackError(file, code, f"parent area {area.parent!r} is not a top-level area")
    return areas


def _load_indications(
    directory: Path, areas: Mapping[str, Area]
) -> tuple[dict[str, IndicationGroup], dict[str, Indication]]:
    """indications.yaml: indication groups and indications (F-INDICATIONS)."""
    file = "indications.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("groups", "indications"))
    groups = _section(
        file,
        data,
        "groups",
        lambda e: IndicationGroup(code=e.code(), label=e.text("label"), fact=e.fact()),
        ("code", "label", "fact"),
    )
    top = {code for code, area in areas.items() if area.parent is None}

    def build(e: _Entry) -> Indication:
        group = e.code("group")
        if group not in groups:
            raise e.fail(f"unknown group {group!r}")
        applies_to = e.texts("areas", allow_empty=False)
        for area in applies_to:
            if area not in top:
                raise e.fail(f"unknown area {area!r} (expected one of {', '.join(sorted(top))})")
        return Indication(
            code=e.code(),
            group=group,
            label=e.text("label"),
            areas=applies_to,
            cosmetic=e.flag("cosmetic"),
            fact=e.fact(),
            disclosure=e.opt_text("disclosure"),
        )

    allowed = ("code", "group", "label", "areas", "cosmetic", "disclosure", "fact")
    return groups, _section(file, data, "indications", build, allowed)


def _load_techniques(directory: Path) -> tuple[dict[str, Technique], dict[str, Delivery]]:
    """techniques.yaml: techniques and deliveries (F-TECHNIQUE, F-TOOLS)."""
    file = "techniques.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("techniques", "deliveries"))
    techniques = _section(
        file,
        data,
        "techniques",
        lambda e: Technique(
            code=e.code(), label=e.text("label"), description=e.text("description"), fact=e.fact()
        ),
        ("code", "label", "description", "fact"),
    )
    deliveries = _section(
        file,
        data,
        "deliveries",
        lambda e: Delivery(
            code=e.code(),
            label=e.text("label"),
            description=e.text("description"),
            disclosure=e.opt_text("disclosure"),
            fact=e.fact(),
        ),
        ("code", "label", "description", "disclosure", "fact"),
    )
    return techniques, deliveries


def _load_ingredients(
    directory: Path,
) -> tuple[dict[str, IngredientClass], dict[str, Ingredient], dict[str, str]]:
    """ingredients.yaml: ingredient classes, ingredients and the synonym index (F-SOLUTION)."""
    file = "ingredients.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("classes", "ingredients"))
    classes = _section(
        file,
        data,
        "classes",
        lambda e: IngredientClass(code=e.code(), label=e.text("label"), fact=e.fact()),
        ("code", "label", "fact"),
    )
    synonyms: dict[str, str] = {}

    def build(e: _Entry) -> Ingredient:
        code = e.code()
        ingredient = Ingredient(
            code=code,
            name=e.text("name"),
            synonyms=e.texts("synonyms"),
            classes=e.texts("classes", allow_empty=False),
            fact=e.fact(),
        )
        for cls in ingredient.classes:
            if cls not in classes:
                raise e.fail(f"unknown ingredient class {cls!r}")
        for alias in (code, ingredient.name, *ingredient.synonyms):
            key = normalize_name(alias)
            if not key:
                raise e.fail(f"name {alias!r} has no letters or digits")
            owner = synonyms.setdefault(key, code)
            if owner != code:
                raise e.fail(f"name {alias!r} already belongs to ingredient {owner!r}")
        return ingredient

    allowed = ("code", "name", "synonyms", "classes", "fact")
    ingredients = _section(file, data, "ingredients", build, allowed)
    return classes, ingredients, synonyms


def _load_medication_classes(directory: Path) -> dict[str, MedicationClass]:
    """medication_classes.yaml: classes matched by ATC prefix and name (F-NSAID)."""
    file = "medication_classes.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("classes",))

    def build(e: _Entry) -> MedicationClass:
        prefixes = tuple(normalize_atc(p) for p in e.texts("atc_prefixes"))
        for prefix in prefixes:
            if not _ATC_PREFIX_RE.match(prefix):
                raise e.fail(f"{prefix!r} is not an ATC code or prefix")
        names = e.texts("names")
        for name in names:
            if not normalize_name(name):
                raise e.fail(f"name {name!r} has no letters or digits")
        if not prefixes and not names:
            raise e.fail("needs at least one ATC prefix or name")
        return MedicationClass(
            code=e.code(), label=e.text("label"), atc_prefixes=prefixes, names=names, fact=e.fact()
        )

    allowed = ("code", "label", "atc_prefixes", "names", "fact")
    return _section(file, data, "classes", build, allowed)


def _load_findings(directory: Path) -> dict[str, FindingDefinition]:
    """contraindications.yaml: the catalogue of screening finding codes."""
    file = "contraindications.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("findings",))

    def build(e: _Entry) -> FindingDefinition:
        code = e.text("code")
        if not _FINDING_CODE_RE.match(code):
            raise e.fail(f"finding code {code!r} must be UPPER_SNAKE_CASE")
        severity = e.text("severity")
        if severity not in SEVERITIES:
            raise e.fail(f"unknown severity {severity!r} (expected one of {', '.join(SEVERITIES)})")
        return FindingDefinition(
            code=code, severity=severity, fact=e.fact(), summary=e.text("summary")
        )

    return _section(file, data, "findings", build, ("code", "severity", "fact", "summary"))


def _load_side_effects(directory: Path) -> dict[str, SideEffect]:
    """side_effects.yaml: side effects to watch for (F-SIDE-EFFECTS)."""
    file = "side_effects.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("side_effects",))

    def build(e: _Entry) -> SideEffect:
        kind = e.text("kind")
        if kind not in SIDE_EFFECT_KINDS:
            raise e.fail(f"unknown kind {kind!r}")
        return SideEffect(
            code=e.code(),
            label=e.text("label"),
            kind=kind,
            rare=e.flag("rare"),
            urgent=e.flag("urgent"),
            typical_hours=e.opt_range("typical_hours"),
            patient_text=e.text("patient_text"),
            fact=e.fact(),
        )

    allowed = ("code", "label", "kind", "rare", "urgent", "typical_hours", "patient_text", "fact")
    return _section(file, data, "side_effects", build, allowed)


def _load_aftercare(directory: Path) -> dict[str, AftercareItem]:
    """aftercare.yaml: instructions around a session (F-AFTERCARE, F-LIFESTYLE)."""
    file = "aftercare.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("aftercare",))

    def build(e: _Entry) -> AftercareItem:
        when = e.text("when")
        if when not in AFTERCARE_TIMES:
            raise e.fail(f"unknown time {when!r} (expected one of {', '.join(AFTERCARE_TIMES)})")
        return AftercareItem(
            code=e.code(),
            when=when,
            text=e.text("text"),
            hours=e.opt_range("hours"),
            fact=e.fact(),
        )

    return _section(file, data, "aftercare", build, ("code", "when", "text", "hours", "fact"))


def _medication_matchers(
    classes: Mapping[str, MedicationClass],
) -> tuple[dict[str, frozenset[str]], tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """Index class names by single word and by padded multi-word phrase, and ATC prefixes."""
    words: dict[str, set[str]] = {}
    phrases: list[tuple[str, str]] = []
    atc: list[tuple[str, str]] = []
    for code, cls in classes.items():
        for name in cls.names:
            normal = normalize_name(name)
            if " " in normal:
                phrases.append((f" {normal} ", code))
            else:
                words.setdefault(normal, set()).add(code)
        atc.extend((prefix, code) for prefix in cls.atc_prefixes)
    return (
        {word: frozenset(codes) for word, codes in words.items()},
        tuple(sorted(set(phrases))),
        tuple(sorted(set(atc))),
    )


def load_pack(path: str | Path | None = None) -> KnowledgePack:
    """Load and validate the pack in `path` (default: the bundled data, loaded once and cached)."""
    if path is None:
        return _default_pack()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default_pack() -> KnowledgePack:
    """The bundled pack, loaded once per process."""
    return _load(DEFAULT_DATA_DIR)


def _load(directory: Path) -> KnowledgePack:
    """Read every file of a pack directory and cross-check them."""
    manifest = _read_yaml(directory, "pack.yaml")
    _check_top("pack.yaml", manifest, ("version", "files"))
    version = manifest.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", version):
        raise PackError("pack.yaml", "version", 'must be a string like "2026.11.1"')
    files = manifest.get("files")
    if not isinstance(files, list) or sorted(map(str, files)) != sorted(_REQUIRED_FILES):
        raise PackError("pack.yaml", "files", f"must list exactly: {', '.join(_REQUIRED_FILES)}")

    areas = _load_areas(directory)
    groups, indications = _load_indications(directory, areas)
    techniques, deliveries = _load_techniques(directory)
    ingredient_classes, ingredients, synonyms = _load_ingredients(directory)
    medication_classes = _load_medication_classes(directory)
    findings = _load_findings(directory)
    side_effects = _load_side_effects(directory)
    aftercare = _load_aftercare(directory)
    words, phrases, atc = _medication_matchers(medication_classes)

    frozen = MappingProxyType
    return KnowledgePack(
        version=version,
        indication_groups=frozen(groups),
        indications=frozen(indications),
        areas=frozen(areas),
        techniques=frozen(techniques),
        deliveries=frozen(deliveries),
        ingredient_classes=frozen(ingredient_classes),
        ingredients=frozen(ingredients),
        medication_classes=frozen(medication_classes),
        findings=frozen(findings),
        side_effects=frozen(side_effects),
        aftercare=frozen(aftercare),
        _synonyms=frozen(synonyms),
        _med_words=frozen(words),
        _med_phrases=phrases,
        _med_atc=atc,
    )
