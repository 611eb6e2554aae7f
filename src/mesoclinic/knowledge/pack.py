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
_MEDICINE = "medicine:"  # prefix of medicine substance codes in allergy concepts
MARKETS: tuple[str, ...] = ("tr", "de", "en")  # Turkey, Germany, the UK and the US
ALLERGEN_KINDS: tuple[str, ...] = ("medicine", "environment", "food")
SEXES: tuple[str, ...] = ("female", "male", "other")


class PackError(ValueError):
    """A knowledge-pack file is missing, malformed or inconsistent."""

    def __init__(self, file: str, entry: str | None, message: str) -> None:
        self.file = file
        self.entry = entry
        self.message = message
        where = f"{file}: {entry}" if entry else file
        super().__init__(f"{where}: {message}")


# The finding codes the engine reports; the catalogue must define each of them.
REQUIRED_FINDINGS: frozenset[str] = frozenset(
    {
        "AGE_UNDER_18",
        "PREGNANT",
        "BREASTFEEDING",
        "INSULIN_DEPENDENT_DIABETES",
        "ACTIVE_CANCER",
        "CANCER_HISTORY",
        "CANCER_MULTI_DRUG",
        "STROKE_HISTORY",
        "HEART_DISEASE_MULTI_DRUG",
        "HEART_DISEASE",
        "LIVER_DISORDER",
        "KIDNEY_DISORDER",
        "INGREDIENT_ALLERGY",
        "ALLERGY_CROSS_REACTIVITY",
        "UNCLASSIFIED_ALLERGY",
        "INGREDIENT_RISK",
        "NSAID_WASHOUT",
        "ANTITHROMBOTIC_THERAPY",
        "UNCLASSIFIED_MEDICATION",
        "ALLERGY_TEST_REQUIRED",
        "ALLERGY_TEST_TOO_LATE",
        "WORKUP_REQUIRED",
        "MISSING_INFORMATION",
        "FAT_REDUCTION_NOT_APPROVED",
        "NEEDLE_FREE_LOWER_EFFICACY",
    }
)

# Codes the brief makes a block: a pack may not weaken them (issue 7). Code -> the fact.
BRIEF_BLOCKS: Mapping[str, str] = MappingProxyType(
    {
        "AGE_UNDER_18": "F-ELIG-AGE",
        "PREGNANT": "F-ELIG-PREG",
        "BREASTFEEDING": "F-ELIG-PREG",
        "INSULIN_DEPENDENT_DIABETES": "F-ELIG-INSULIN",
        "ACTIVE_CANCER": "F-ELIG-CANCER",
        "CANCER_MULTI_DRUG": "F-ELIG-MULTIDRUG",
        "STROKE_HISTORY": "F-ELIG-STROKE",
        "HEART_DISEASE_MULTI_DRUG": "F-ELIG-MULTIDRUG",
        "LIVER_DISORDER": "F-ELIG-LIVER-KIDNEY",
        "KIDNEY_DISORDER": "F-ELIG-LIVER-KIDNEY",
        "INGREDIENT_ALLERGY": "F-ALLERGY-TEST",
        "ALLERGY_TEST_TOO_LATE": "F-ALLERGY-TEST",
    }
)

# The first letters of ATC codes: the 14 anatomical main groups (WHO ATC/DDD Index).
ATC_MAIN_GROUPS = frozenset("ABCDGHJLMNPRSV")

# Words that are not part of a name (issue 7): units after a number, forms, and salts. Salts are
# dropped only when the name with them is not known ("zinc sulfate" is an ingredient's synonym).
_UNITS = frozenset(
    [
        "mg",
        "g",
        "kg",
        "mcg",
        "ug",
        "µg",
        "μg",
        "ng",
        "ml",
        "l",
        "dl",
        "iu",
        "ie",
        "i",
        "e",
        "u",
        "units",
        "unit",
        "einheiten",
        "mmol",
        "mol",
        "mikrogramm",
        "microgram",
        "micrograms",
        "milligram",
        "milligrams",
        "gram",
        "grams",
        "mg/ml",
        "ml/h",
        "pct",
        "percent",
    ]
)
_FORMS = frozenset(
    [
        "tablet",
        "tablets",
        "tablette",
        "tabletten",
        "tab",
        "tabs",
        "tbl",
        "tb",
        "film",
        "filmtablette",
        "filmtabletten",
        "filmcoated",
        "coated",
        "dragee",
        "dragees",
        "draje",
        "kapsul",
        "kapsel",
        "kapseln",
        "capsule",
        "capsules",
        "caps",
        "cap",
        "hartkapseln",
        "weichkapseln",
        "retard",
        "forte",
        "fort",
        "mite",
        "sr",
        "xr",
        "xl",
        "er",
        "cr",
        "mr",
        "ec",
        "la",
        "depot",
        "gel",
        "emulgel",
        "jel",
        "cream",
        "krem",
        "creme",
        "salbe",
        "ointment",
        "pomad",
        "merhem",
        "spray",
        "sprey",
        "drops",
        "damla",
        "tropfen",
        "syrup",
        "surup",
        "sirup",
        "saft",
        "suspension",
        "susp",
        "solution",
        "losung",
        "injection",
        "injektion",
        "injektionslosung",
        "enjeksiyon",
        "enjektabl",
        "ampul",
        "ampulle",
        "ampullen",
        "ampoule",
        "ampoules",
        "ampule",
        "flakon",
        "vial",
        "vials",
        "pen",
        "penfill",
        "flexpen",
        "flextouch",
        "kwikpen",
        "solostar",
        "efervesan",
        "effervescent",
        "brause",
        "brausetablette",
        "brausetabletten",
        "granules",
        "granulat",
        "sachet",
        "sase",
        "suppository",
        "supp",
        "fitil",
        "zapfchen",
        "patch",
        "pflaster",
        "oral",
        "topical",
        "lozenge",
        "lozenges",
        "pastille",
        "pastillen",
        "lutschtablette",
        "lutschtabletten",
        "infusion",
        "i.v",
        "iv",
        "im",
        "sc",
        "s.c",
    ]
)
_SALTS = frozenset(
    [
        "hcl",
        "hydrochloride",
        "hydrochlorid",
        "hidroklorur",
        "chlorhydrate",
        "sodium",
        "natrium",
        "sodyum",
        "potassium",
        "kalium",
        "potasyum",
        "calcium",
        "kalzium",
        "kalsiyum",
        "magnesium",
        "sulfate",
        "sulphate",
        "sulfat",
        "phosphate",
        "phosphat",
        "fosfat",
        "acetate",
        "acetat",
        "asetat",
        "maleate",
        "maleat",
        "mesylate",
        "mesilate",
        "besylate",
        "besilate",
        "besilat",
        "tartrate",
        "tartrat",
        "succinate",
        "succinat",
        "citrate",
        "citrat",
        "salt",
        "base",
        "dihydrate",
        "monohydrate",
        "trihydrate",
        "hemihydrate",
        "lysinate",
        "etexilate",
    ]
)
_NUMBER_RE = re.compile(r"^\d+$")
_STRENGTH_RE = re.compile(r"^(\d+)(mg|g|mcg|ug|µg|μg|ml|iu|ie|u)$")
_BRACKETS_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}")
_FOLD = str.maketrans({"ı": "i", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ł": "l"})


def _fold(text: str) -> str:
    """Case, accents and dotless i, and notes in brackets: folded away; the rest kept."""
    previous = None
    while previous != text:  # nested brackets, innermost first
        previous, text = text, _BRACKETS_RE.sub(" ", text)
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize_name(text: str) -> str:
    """Fold a substance or medicine name for matching: case, accents, spacing, punctuation and
    notes in brackets ignored."""
    return " ".join(_WORD_RE.findall(_fold(text)))


def _core_words(text: str) -> tuple[list[str], list[int]]:
    """The words of a name without strengths, units and forms, and the strengths in mg (or bare
    numbers when no unit says mg)."""
    words = _WORD_RE.findall(_fold(text))
    kept: list[str] = []
    mg: list[int] = []
    bare: list[int] = []
    after_number = False
    for index, word in enumerate(words):
        strength = _STRENGTH_RE.match(word)
        if strength:
            if strength.group(2) == "mg":
                mg.append(int(strength.group(1)))
            after_number = True
            continue
        if _NUMBER_RE.match(word):
            following = words[index + 1] if index + 1 < len(words) else ""
            if following == "mg":
                mg.append(int(word))
            elif following not in _UNITS:
                bare.append(int(word))
            after_number = True
            continue
        if after_number and word in _UNITS:
            continue
        after_number = False
        if word in _FORMS:
            continue
        kept.append(word)
    return (kept or [w for w in words if not _NUMBER_RE.match(w)] or words), (mg or bare)


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
class ProtocolPhase:
    """One interval phase of a protocol; `sessions` None means "the rest of the series"."""

    code: str
    label: str
    interval_days: Range
    sessions: Range | None
    months: Range | None
    brief_sessions_min: int | None
    fact: str


@dataclass(frozen=True, slots=True)
class CourseMilestone:
    weeks: int
    text: str
    fact: str


@dataclass(frozen=True, slots=True)
class OutcomeMeasure:
    code: str
    label: str
    fact: str


@dataclass(frozen=True, slots=True)
class Protocol:
    """The defaults and ranges a plan for one area and indication group starts from."""

    code: str
    label: str
    area: str
    indication_group: str
    sessions: Range
    phases: tuple[ProtocolPhase, ...]
    session_minutes: Mapping[str, Range]  # by area size: small, standard, large
    depth_mm: Range
    default_technique: str
    default_delivery: str
    anaesthetic_cream_usual: bool
    checkups: tuple[int, ...]
    expected_course: tuple[CourseMilestone, ...]
    outcome_measures: tuple[OutcomeMeasure, ...]
    fact: str


@dataclass(frozen=True, slots=True)
class IngredientClass:
    """A kind of ingredient (vitamin, plant extract, drug...)."""

    code: str
    label: str
    fact: str


@dataclass(frozen=True, slots=True)
class Ingredient:
    """An ingredient of a solution with its other names, classes and allergy relations."""

    code: str
    name: str
    synonyms: tuple[str, ...]
    classes: tuple[str, ...]
    fact: str
    contains: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    cross_reactivity: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CrossReactivityGroup:
    """Substances that may cross-react: an allergy to one is a review for the others."""

    code: str
    label: str
    fact: str
    source: str


@dataclass(frozen=True, slots=True)
class Allergen:
    """An allergen that is not a solution ingredient (penicillin, latex, soy...)."""

    code: str
    label: str
    kind: str
    names: tuple[str, ...]
    includes: tuple[str, ...]
    cross_reactivity: tuple[str, ...]
    fact: str


@dataclass(frozen=True, slots=True)
class LowDose:
    """At or below max_mg a substance means another catalogue entry (low-dose aspirin)."""

    max_mg: int
    substance: str


@dataclass(frozen=True, slots=True)
class Substance:
    """A medicine substance of the catalogue with its ATC codes, names and brands by market."""

    code: str
    label: str
    atc: tuple[str, ...]
    names: tuple[str, ...]
    brands: Mapping[str, tuple[str, ...]]
    classes: frozenset[str]
    source: str
    ingredient: str | None = None
    low_dose: LowDose | None = None


@dataclass(frozen=True, slots=True)
class Caution:
    """An ingredient-level caution: a finding raised for matching ingredients (and sexes)."""

    code: str
    finding: str
    ingredients: tuple[str, ...]
    classes: tuple[str, ...]
    sexes: tuple[str, ...]
    message: str
    fact: str
    source: str


@dataclass(frozen=True, slots=True)
class Validity:
    """How many months before the first session a test or workup item still counts."""

    allergy_test_months: int
    workup_months: int


@dataclass(frozen=True, slots=True)
class MedicineMatch:
    """What a medicine entry resolves to: substances (maybe none) and the classes rules read."""

    substances: tuple[str, ...]
    classes: frozenset[str]
    classified: bool


@dataclass(frozen=True, slots=True)
class AllergyConcept:
    """What an allergy stands for: ingredient and allergen codes hit directly, and groups."""

    direct: frozenset[str]
    groups: frozenset[str]


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
    substances: Mapping[str, Substance]
    allergens: Mapping[str, Allergen]
    cross_reactivity: Mapping[str, CrossReactivityGroup]
    cautions: Mapping[str, Caution]
    validity: Validity
    protocols: Mapping[str, Protocol]
    # Precomputed lookups (built by load_pack): normalised name -> ingredient code, the names of
    # medicines and allergens, and the ATC class matchers.
    _synonyms: Mapping[str, str] = field(repr=False, compare=False)
    _med_names: Mapping[str, tuple[str, ...]] = field(repr=False, compare=False)
    _allergen_names: Mapping[str, str] = field(repr=False, compare=False)
    _allergy_names: Mapping[str, tuple[str, ...]] = field(repr=False, compare=False)
    _med_atc: tuple[tuple[str, str], ...] = field(repr=False, compare=False)
    _profiles: Mapping[str, AllergyConcept] = field(repr=False, compare=False)
    _ingredient_cautions: Mapping[str, tuple[Caution, ...]] = field(repr=False, compare=False)
    _longest_name: int = field(default=1, repr=False, compare=False)
    _severities: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _canon_cache: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)
    _med_cache: dict[tuple[str, str | None], MedicineMatch] = field(
        default_factory=dict, repr=False, compare=False
    )
    _allergy_cache: dict[str, AllergyConcept | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def severities(self) -> Mapping[str, str]:
        """Each finding code's severity, as the engine reads it (a plain dict: read per finding)."""
        return self._severities

    def protocol_for(self, area: str, indication: str) -> Protocol | None:
        """The protocol for an indication (by its group) on a top-level area, if the pack has one."""
        found = self.indications.get(indication)
        if found is None:
            return None
        for protocol in self.protocols.values():
            if protocol.area == area and protocol.indication_group == found.group:
                return protocol
        return None

    @property
    def top_level_areas(self) -> frozenset[str]:
        """Codes of the areas a plan or a screening names: face, body, scalp."""
        return frozenset(code for code, area in self.areas.items() if area.parent is None)

    def resolve_ingredient(self, name: str) -> str | None:
        """The ingredient code a name stands for, or None: exact after folding, strengths and
        forms dropped, then salt words dropped; never a guess from part of the name."""
        if name in self._canon_cache:
            return self._canon_cache[name]
        words, _ = _core_words(name)
        found = _exact(self._synonyms, words)
        if len(self._canon_cache) >= _CACHE_LIMIT:
            self._canon_cache.clear()
        self._canon_cache[name] = found
        return found

    def canonical_ingredient(self, name: str) -> str:
        """The ingredient code for a name or synonym; an unknown name comes back normalised."""
        return self.resolve_ingredient(name) or normalize_name(name)

    def ingredient_label(self, canonical: str) -> str:
        """A display name for a canonical ingredient (its pack name, or the name itself)."""
        ingredient = self.ingredients.get(canonical)
        return ingredient.name if ingredient else canonical

    def ingredient_profile(self, name: str) -> AllergyConcept:
        """What an ingredient is made of, for allergy matching: itself, what it contains, its
        sources (direct), and the cross-reactivity groups of all of them."""
        code = self.canonical_ingredient(name)
        return self._profiles.get(code) or AllergyConcept(frozenset({code}), frozenset())

    def cautions_for(self, name: str) -> tuple[Caution, ...]:
        """The ingredient cautions that apply to a planned ingredient."""
        if not self._ingredient_cautions:
            return ()
        return self._ingredient_cautions.get(self.canonical_ingredient(name), ())

    def atc_classes(self, atc: str) -> frozenset[str]:
        """The medication classes an ATC code falls in (prefixes matched exactly)."""
        code = normalize_atc(atc)
        return frozenset(cls for prefix, cls in self._med_atc if code.startswith(prefix))

    def resolve_medicine(self, name: str, atc: str | None = None) -> MedicineMatch:
        """A medicine by its ATC code and by its name (generic or brand, in any of the
        catalogue's languages); `classified` is False when neither tells what it is."""
        key = (name, atc)
        cached = self._med_cache.get(key)
        if cached is not None:
            return cached
        words, strengths = _core_words(name)
        found = _exact(self._med_names, words)
        substances = list(found) if found else _scan(self._med_names, words, self._longest_name)
        atc_classes = self.atc_classes(atc) if atc else frozenset()
        for index, code in enumerate(substances):
            low = self.substances[code].low_dose
            # A low strength, or an ATC code that says platelet inhibitor, means the low-dose entry.
            if low and (any(mg <= low.max_mg for mg in strengths) or "antiplatelet" in atc_classes):
                substances[index] = low.substance
        unique = tuple(dict.fromkeys(substances))
        classes = set(atc_classes)
        for code in unique:
            classes.update(self.substances[code].classes)
        result = MedicineMatch(unique, frozenset(classes), bool(atc) or bool(unique))
        if len(self._med_cache) >= _CACHE_LIMIT:
            self._med_cache.clear()
        self._med_cache[key] = result
        return result

    def medication_class_codes(self, name: str, atc: str | None = None) -> frozenset[str]:
        """The medication classes of a medicine, by ATC code or by name (cached, immutable)."""
        return self.resolve_medicine(name, atc).classes

    def medication_classes_of(self, name: str, atc: str | None = None) -> set[str]:
        """The medication classes (e.g. {"nsaid"}) a medicine belongs to, by ATC or by name."""
        return set(self.medication_class_codes(name, atc))

    def resolve_allergy(self, text: str) -> AllergyConcept | None:
        """What an allergy stands for, through ingredients, allergens and medicines (names,
        synonyms, brands, salts, strengths); None when the catalogue cannot resolve it."""
        if text in self._allergy_cache:
            return self._allergy_cache[text]
        words, _ = _core_words(text)
        result = self._allergy_concept(words)
        if len(self._allergy_cache) >= _CACHE_LIMIT:
            self._allergy_cache.clear()
        self._allergy_cache[text] = result
        return result

    def _allergy_concept(self, words: list[str]) -> AllergyConcept | None:
        """Ingredient names first, then allergens, then medicines; then names held as words."""
        codes: tuple[str, ...]
        ingredient = _exact(self._synonyms, words)
        allergen = None if ingredient else _exact(self._allergen_names, words)
        medicines = None if ingredient or allergen else _exact(self._med_names, words)
        if ingredient:
            codes = (ingredient,)
        elif allergen:
            codes = (allergen,)
        elif medicines:
            codes = tuple(f"{_MEDICINE}{code}" for code in medicines)
        else:  # an entry naming several things: "penicillin and latex", "Bayer Aspirin"
            codes = tuple(_scan(self._allergy_names, words, self._longest_name))
        if not codes:
            return None
        direct: set[str] = set()
        groups: set[str] = set()
        for code in codes:
            if code.startswith(_MEDICINE):
                direct.add(code)  # resolved: a medicine that no solution holds raises nothing
                code = self.substances[code.removeprefix(_MEDICINE)].ingredient or ""
            profile = self._profiles.get(code)
            if profile is not None:
                direct.update(profile.direct)
                groups.update(profile.groups)
        return AllergyConcept(frozenset(direct), frozenset(groups))

    def search_medicines(self, text: str, limit: int = 10) -> list[tuple[str, Substance]]:
        """Catalogue medicines whose name or brand starts with the typed words, best first:
        (the name matched, the substance)."""
        query = normalize_name(text)
        if len(query) < 2:
            return []
        hits: list[tuple[int, str, str, Substance]] = []
        for substance in self.substances.values():
            named = [*substance.names, *(b for bs in substance.brands.values() for b in bs)]
            for name in named:
                normal = normalize_name(name)
                if normal.startswith(query) or f" {query}" in f" {normal}":
                    rank = 0 if normal.startswith(query) else 1
                    hits.append((rank, normal, name, substance))
        seen: set[tuple[str, str]] = set()
        result: list[tuple[str, Substance]] = []
        for _, _, name, substance in sorted(hits, key=lambda h: (h[0], h[1])):
            if (name.casefold(), substance.code) in seen:
                continue
            seen.add((name.casefold(), substance.code))
            result.append((name, substance))
            if len(result) >= limit:
                break
        return result


_V = TypeVar("_V")


def _exact(index: Mapping[str, _V], words: list[str]) -> _V | None:
    """The entry for the whole name, or for the name without its salt words."""
    found = index.get(" ".join(words))
    if found is None:
        stripped = [word for word in words if word not in _SALTS]
        if stripped and len(stripped) != len(words):
            found = index.get(" ".join(stripped))
    return found


def _scan(index: Mapping[str, tuple[str, ...]], words: list[str], longest: int) -> list[str]:
    """Known names held in a longer text as whole words, longest first, left to right; names of
    fewer than three letters ("HA") only ever match a whole entry."""
    found: list[str] = []
    position, count = 0, len(words)
    while position < count:
        for length in range(min(longest, count - position), 0, -1):
            key = " ".join(words[position : position + length])
            if len(key) >= 3 and key in index:
                found.extend(index[key])
                position += length
                break
        else:
            position += 1
    return found


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
    "medicines.yaml",
    "allergens.yaml",
    "contraindications.yaml",
    "side_effects.yaml",
    "aftercare.yaml",
    "protocols.yaml",
)

AREA_SIZES = ("small", "standard", "large")


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


def _load_protocols(
    directory: Path, areas: Mapping[str, Area], groups: Mapping[str, IndicationGroup],
    indications: Mapping[str, Indication], techniques: Mapping[str, Technique],
    deliveries: Mapping[str, Delivery],
) -> dict[str, Protocol]:
    """protocols.yaml: per area and indication group (F-SESSIONS, F-FACE-BODY, F-HAIR, F-DEPTH)."""
    file = "protocols.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("protocols",))

    def within(e: _Entry, key: str, value: Range, outer: Range, why: str) -> None:
        if value.min < outer.min or value.max > outer.max:
            raise e.fail(f"{key} {value.min}-{value.max} lies outside {outer.min}-{outer.max} ({why})")

    def count(e: _Entry, key: str, low: int, high: int) -> int:
        value = e.raw(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise e.fail(f"{key!r} must be a whole number from {low} to {high}")
        return value

    def phase(e: _Entry) -> ProtocolPhase:
        brief = None
        if e.raw("brief_sessions_min", optional=True) is not None:
            brief = count(e, "brief_sessions_min", 1, 40)
        interval = e.range("interval_days")
        if interval.min < 1:
            raise e.fail("interval_days must be at least 1")
        return ProtocolPhase(code=e.code(), label=e.text("label"), interval_days=interval,
                             sessions=e.opt_range("sessions"), months=e.opt_range("months"),
                             brief_sessions_min=brief, fact=e.fact())

    def items(e: _Entry, key: str) -> list[Any]:
        value = e.raw(key)
        if not isinstance(value, list) or not value:
            raise e.fail(f"{key!r} must be a non-empty list")
        return value

    def build(e: _Entry) -> Protocol:
        area_code = e.code("area")
        area = areas.get(area_code)
        if area is None or area.parent is not None:
            raise e.fail(f"unknown top-level area {area_code!r}")
        group = e.code("indication_group")
        if group not in groups:
            raise e.fail(f"unknown indication group {group!r}")
        if not any(i.group == group and area_code in i.areas for i in indications.values()):
            raise e.fail(f"no indication of group {group!r} is treated on the {area_code}")
        sessions = e.range("sessions")
        within(e, "sessions", sessions, Range(3, 15), "F-SESSIONS")
        allowed = ("code", "label", "interval_days", "sessions", "months", "brief_sessions_min", "fact")
        phases = tuple(phase(_Entry(file, f"{e.where}.phases[{i}]", p, allowed))
                       for i, p in enumerate(items(e, "phases")))
        if len({p.code for p in phases}) != len(phases):
            raise e.fail("phase codes repeat")
        if sum(1 for p in phases if p.sessions is None) > 1:
            raise e.fail("at most one phase may take the rest of the sessions (sessions: null)")
        fixed_min = sum(p.sessions.min for p in phases if p.sessions is not None)
        fixed_max = sum(p.sessions.max for p in phases if p.sessions is not None)
        open_ended = any(p.sessions is None for p in phases)
        if fixed_min > sessions.max or (not open_ended and fixed_max < sessions.min):
            raise e.fail("the phases' sessions cannot add up to the protocol's session range")
        minutes_entry = _Entry(file, f"{e.where}.session_minutes", e.raw("session_minutes"),
                               AREA_SIZES)
        minutes = {}
        for size in AREA_SIZES:
            value = minutes_entry.range(size)
            within(minutes_entry, size, value, area.session_minutes,
                   f"the {area_code}'s session minutes")
            minutes[size] = value
        depth = e.range("depth_mm")
        within(e, "depth_mm", depth, area.depth_mm, f"the {area_code}'s depth, F-DEPTH")
        technique, delivery = e.code("default_technique"), e.code("default_delivery")
        if technique not in techniques:
            raise e.fail(f"unknown technique {technique!r}")
        if delivery not in deliveries:
            raise e.fail(f"unknown delivery {delivery!r}")
        checkups = e.raw("checkups")
        if not isinstance(checkups, list) or not all(
                isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= sessions.max
                for n in checkups):
            raise e.fail(f"'checkups' must list session numbers from 1 to {sessions.max}")
        course_raw = e.raw("expected_course")
        if not isinstance(course_raw, list):
            raise e.fail("'expected_course' must be a list")
        course = []
        for i, item in enumerate(course_raw):
            c = _Entry(file, f"{e.where}.expected_course[{i}]", item, ("weeks", "text", "fact"))
            course.append(CourseMilestone(count(c, "weeks", 1, 104), c.text("text"), c.fact()))
        measures = tuple(
            OutcomeMeasure(m.code(), m.text("label"), m.fact())
            for m in (_Entry(file, f"{e.where}.outcome_measures[{i}]", item, ("code", "label", "fact"))
                      for i, item in enumerate(items(e, "outcome_measures"))))
        if len({m.code for m in measures}) != len(measures):
            raise e.fail("outcome measure codes repeat")
        return Protocol(
            code=e.code(), label=e.text("label"), area=area_code, indication_group=group,
            sessions=sessions, phases=phases, session_minutes=MappingProxyType(minutes),
            depth_mm=depth, default_technique=technique, default_delivery=delivery,
            anaesthetic_cream_usual=e.flag("anaesthetic_cream_usual"),
            checkups=tuple(sorted(set(checkups))), expected_course=tuple(course),
            outcome_measures=measures, fact=e.fact(),
        )

    allowed = ("code", "label", "area", "indication_group", "sessions", "phases", "session_minutes",
               "depth_mm", "default_technique", "default_delivery", "anaesthetic_cream_usual",
               "checkups", "expected_course", "outcome_measures", "fact")
    protocols = _section(file, data, "protocols", build, allowed)
    seen: dict[tuple[str, str], str] = {}
    for code, protocol in protocols.items():
        key = (protocol.area, protocol.indication_group)
        if key in seen:
            raise PackError(file, code, f"{seen[key]!r} already covers {key[1]} on the {key[0]}")
        seen[key] = code
    return protocols


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
) -> tuple[dict[str, IngredientClass], dict[str, Ingredient], dict[str, str], list[_Entry]]:
    """ingredients.yaml: ingredient classes, ingredients, the synonym index (F-SOLUTION), and
    the cautions' raw entries (checked once the findings are loaded)."""
    file = "ingredients.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("classes", "ingredients", "cautions"))
    classes = _section(
        file,
        data,
        "classes",
        lambda e: IngredientClass(code=e.code(), label=e.text("label"), fact=e.fact()),
        ("code", "label", "fact"),
    )
    synonyms: dict[str, str] = {}

    def opt_codes(e: _Entry, key: str) -> tuple[str, ...]:
        if e.raw(key, optional=True) is None:
            return ()
        return e.texts(key)

    def build(e: _Entry) -> Ingredient:
        code = e.code()
        ingredient = Ingredient(
            code=code,
            name=e.text("name"),
            synonyms=e.texts("synonyms"),
            classes=e.texts("classes", allow_empty=False),
            fact=e.fact(),
            contains=opt_codes(e, "contains"),
            sources=opt_codes(e, "sources"),
            cross_reactivity=opt_codes(e, "cross_reactivity"),
        )
        for cls in ingredient.classes:
            if cls not in classes:
                raise e.fail(f"unknown ingredient class {cls!r}")
        for alias in (code, ingredient.name, *ingredient.synonyms):
            key = _key(alias)
            if not key:
                raise e.fail(f"name {alias!r} has no letters or digits")
            owner = synonyms.setdefault(key, code)
            if owner != code:
                raise e.fail(f"name {alias!r} already belongs to ingredient {owner!r}")
        return ingredient

    allowed = (
        "code",
        "name",
        "synonyms",
        "classes",
        "fact",
        "contains",
        "sources",
        "cross_reactivity",
    )
    ingredients = _section(file, data, "ingredients", build, allowed)
    for code, ingredient in ingredients.items():
        for part in ingredient.contains:
            if part not in ingredients or part == code:
                raise PackError(file, code, f"contains unknown ingredient {part!r}")
    cautions = data.get("cautions") or []
    if not isinstance(cautions, list):
        raise PackError(file, None, "'cautions' must be a list")
    entries = []
    allowed_caution = (
        "code",
        "finding",
        "ingredients",
        "classes",
        "sexes",
        "message",
        "fact",
        "source",
    )
    for index, raw in enumerate(cautions):
        label = raw.get("code") if isinstance(raw, dict) else None
        where = f"cautions[{index}]" + (f" ({label})" if isinstance(label, str) else "")
        entries.append(_Entry(file, where, raw, allowed_caution))
    return classes, ingredients, synonyms, entries


def _build_cautions(
    entries: list[_Entry],
    ingredients: Mapping[str, Ingredient],
    classes: Mapping[str, IngredientClass],
    findings: Mapping[str, FindingDefinition],
) -> dict[str, Caution]:
    """The ingredient cautions, each naming a known finding, ingredients, classes and sexes."""
    result: dict[str, Caution] = {}
    for e in entries:

        def listed(key: str, e: _Entry = e) -> tuple[str, ...]:
            return () if e.raw(key, optional=True) is None else e.texts(key)

        caution = Caution(
            code=e.code(),
            finding=e.text("finding"),
            ingredients=listed("ingredients"),
            classes=listed("classes"),
            sexes=listed("sexes"),
            message=e.text("message"),
            fact=e.fact(),
            source=e.text("source"),
        )
        if caution.finding not in findings:
            raise e.fail(f"unknown finding code {caution.finding!r}")
        for code in caution.ingredients:
            if code not in ingredients:
                raise e.fail(f"unknown ingredient {code!r}")
        for cls in caution.classes:
            if cls not in classes:
                raise e.fail(f"unknown ingredient class {cls!r}")
        for sex in caution.sexes:
            if sex not in SEXES:
                raise e.fail(f"unknown sex {sex!r} (expected one of {', '.join(SEXES)})")
        if not caution.ingredients and not caution.classes:
            raise e.fail("needs at least one ingredient or class")
        if caution.code in result:
            raise e.fail(f"duplicate code {caution.code!r}")
        result[caution.code] = caution
    return result


def _load_allergens(
    directory: Path, ingredients: Mapping[str, Ingredient]
) -> tuple[dict[str, CrossReactivityGroup], dict[str, Allergen], dict[str, str]]:
    """allergens.yaml: cross-reactivity groups and allergens that are not ingredients."""
    file = "allergens.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("groups", "allergens"))
    groups = _section(
        file,
        data,
        "groups",
        lambda e: CrossReactivityGroup(
            code=e.code(), label=e.text("label"), fact=e.fact(), source=e.text("source")
        ),
        ("code", "label", "fact", "source"),
    )
    names: dict[str, str] = {}

    def build(e: _Entry) -> Allergen:
        code = e.code()
        if code in ingredients:
            raise e.fail(f"code {code!r} is an ingredient's code")
        kind = e.text("kind")
        if kind not in ALLERGEN_KINDS:
            raise e.fail(f"unknown kind {kind!r} (expected one of {', '.join(ALLERGEN_KINDS)})")
        includes = () if e.raw("includes", optional=True) is None else e.texts("includes")
        cross = (
            () if e.raw("cross_reactivity", optional=True) is None else e.texts("cross_reactivity")
        )
        for part in includes:
            if part not in ingredients:
                raise e.fail(f"includes unknown ingredient {part!r}")
        for group in cross:
            if group not in groups:
                raise e.fail(f"unknown cross-reactivity group {group!r}")
        allergen = Allergen(
            code=code,
            label=e.text("label"),
            kind=kind,
            names=e.texts("names", allow_empty=False),
            includes=includes,
            cross_reactivity=cross,
            fact=e.fact(),
        )
        for alias in allergen.names:
            key = _key(alias)
            if not key:
                raise e.fail(f"name {alias!r} has no letters or digits")
            owner = names.setdefault(key, code)
            if owner != code:
                raise e.fail(f"name {alias!r} already belongs to allergen {owner!r}")
        return allergen

    allowed = ("code", "label", "kind", "names", "includes", "cross_reactivity", "fact")
    allergens = _section(file, data, "allergens", build, allowed)
    for code, ingredient in ingredients.items():
        for source in ingredient.sources:
            if source not in allergens:
                raise PackError("ingredients.yaml", code, f"unknown source allergen {source!r}")
        for group in ingredient.cross_reactivity:
            if group not in groups:
                raise PackError(
                    "ingredients.yaml", code, f"unknown cross-reactivity group {group!r}"
                )
    return groups, allergens, names


def _valid_atc(code: str) -> bool:
    """An ATC code or prefix: the shape of the five levels and a real anatomical main group."""
    return bool(_ATC_PREFIX_RE.match(code)) and code[0] in ATC_MAIN_GROUPS


def _load_medicines(
    directory: Path,
    classes: Mapping[str, MedicationClass],
    ingredients: Mapping[str, Ingredient],
) -> tuple[dict[str, Substance], dict[str, tuple[str, ...]]]:
    """medicines.yaml: substances with ATC codes, names and brands by market, and the index."""
    file = "medicines.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("substances",))
    generic: dict[str, str] = {}
    index: dict[str, list[str]] = {}
    matchers = tuple((p, c) for c, cls in classes.items() for p in cls.atc_prefixes)

    def build(e: _Entry) -> Substance:
        code = e.code()
        atc = tuple(normalize_atc(a) for a in e.texts("atc", allow_empty=False))
        for one in atc:
            if not _valid_atc(one):
                raise e.fail(f"{one!r} is not an ATC code or prefix")
        raw_brands = e.raw("brands")
        if not isinstance(raw_brands, dict):
            raise e.fail("'brands' must be a mapping of market to a list of names")
        brands_entry = _Entry(file, f"{e.where}.brands", raw_brands, MARKETS)
        brands = {market: brands_entry.texts(market) for market in raw_brands}
        ingredient = e.opt_text("ingredient")
        if ingredient is not None and ingredient not in ingredients:
            raise e.fail(f"unknown ingredient {ingredient!r}")
        low = None
        if e.raw("low_dose", optional=True) is not None:
            sub = _Entry(file, f"{e.where}.low_dose", e.raw("low_dose"), ("max_mg", "substance"))
            max_mg = sub.raw("max_mg")
            if not isinstance(max_mg, int) or isinstance(max_mg, bool) or max_mg <= 0:
                raise sub.fail("max_mg must be a positive whole number")
            low = LowDose(max_mg, sub.code("substance"))
        substance = Substance(
            code=code,
            label=e.text("label"),
            atc=atc,
            names=e.texts("names", allow_empty=False),
            brands=MappingProxyType(brands),
            classes=frozenset(
                cls for one in atc for prefix, cls in matchers if one.startswith(prefix)
            ),
            source=e.text("source"),
            ingredient=ingredient,
            low_dose=low,
        )
        for alias in substance.names:
            key = _key(alias)
            if not key:
                raise e.fail(f"name {alias!r} has no letters or digits")
            owner = generic.setdefault(key, code)
            if owner != code:
                raise e.fail(f"name {alias!r} already belongs to substance {owner!r}")
        for alias in (*substance.names, *(b for bs in brands.values() for b in bs)):
            key = _key(alias)
            if not key:
                raise e.fail(f"name {alias!r} has no letters or digits")
            owners = index.setdefault(key, [])
            if code not in owners:
                owners.append(code)
        return substance

    allowed = ("code", "label", "atc", "names", "brands", "ingredient", "low_dose", "source")
    substances = _section(file, data, "substances", build, allowed)
    for code, substance in substances.items():
        if substance.low_dose and substance.low_dose.substance not in substances:
            raise PackError(
                file, code, f"unknown low-dose substance {substance.low_dose.substance!r}"
            )
    for key, owners in index.items():
        # A brand that is also another substance's generic name would make that name ambiguous.
        if key in generic and generic[key] not in owners[:1]:
            raise PackError(file, key, f"name already belongs to substance {generic[key]!r}")
    return substances, {key: tuple(owners) for key, owners in index.items()}


def _key(name: str) -> str:
    """The index key of a catalogue name: folded, strengths and forms dropped."""
    return " ".join(_core_words(name)[0])


def _load_medication_classes(directory: Path) -> dict[str, MedicationClass]:
    """medication_classes.yaml: classes matched by ATC prefix and name (F-NSAID)."""
    file = "medication_classes.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("classes",))

    def build(e: _Entry) -> MedicationClass:
        prefixes = tuple(normalize_atc(p) for p in e.texts("atc_prefixes"))
        for prefix in prefixes:
            if not _valid_atc(prefix):
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


def _load_findings(directory: Path) -> tuple[dict[str, FindingDefinition], Validity]:
    """contraindications.yaml: the finding codes with their severities, and test validity."""
    file = "contraindications.yaml"
    data = _read_yaml(directory, file)
    _check_top(file, data, ("findings", "validity"))

    def build(e: _Entry) -> FindingDefinition:
        code = e.text("code")
        if not _FINDING_CODE_RE.match(code):
            raise e.fail(f"finding code {code!r} must be UPPER_SNAKE_CASE")
        severity = e.text("severity")
        if severity not in SEVERITIES:
            raise e.fail(f"unknown severity {severity!r} (expected one of {', '.join(SEVERITIES)})")
        if code in BRIEF_BLOCKS and severity != "block":
            raise e.fail(
                f"{code} cannot be weakened to {severity!r}: the brief makes it a block "
                f"({BRIEF_BLOCKS[code]}); a pack may make codes stricter, never weaker"
            )
        return FindingDefinition(
            code=code, severity=severity, fact=e.fact(), summary=e.text("summary")
        )

    findings = _section(file, data, "findings", build, ("code", "severity", "fact", "summary"))
    missing = sorted(REQUIRED_FINDINGS - set(findings))
    if missing:
        raise PackError(file, None, f"missing finding code {missing[0]!r} (the engine reports it)")
    raw = data.get("validity")
    if raw is None:
        return findings, Validity(6, 6)
    entry = _Entry(file, "validity", raw, ("allergy_test_months", "workup_months"))

    def months(key: str) -> int:
        value = entry.raw(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 24:
            raise entry.fail(f"{key!r} must be a whole number of months from 1 to 24")
        return value

    return findings, Validity(months("allergy_test_months"), months("workup_months"))


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


def _profiles(
    ingredients: Mapping[str, Ingredient], allergens: Mapping[str, Allergen]
) -> dict[str, AllergyConcept]:
    """For each ingredient and allergen: what it stands for directly, and its groups."""
    profiles: dict[str, AllergyConcept] = {}

    def of(code: str, seen: frozenset[str] = frozenset()) -> AllergyConcept:
        if code in profiles:
            return profiles[code]
        ingredient = ingredients[code]
        direct = {code, *ingredient.sources}
        groups = set(ingredient.cross_reactivity)
        for part in ingredient.contains:
            if part in seen:
                raise PackError("ingredients.yaml", code, f"contains itself through {part!r}")
            inner = of(part, seen | {code})
            direct |= inner.direct
            groups |= inner.groups
        profiles[code] = AllergyConcept(frozenset(direct), frozenset(groups))
        return profiles[code]

    for code in ingredients:
        of(code)
    for code, allergen in allergens.items():
        direct = {code}
        groups = set(allergen.cross_reactivity)
        for part in allergen.includes:
            direct |= profiles[part].direct
            groups |= profiles[part].groups
        profiles[code] = AllergyConcept(frozenset(direct), frozenset(groups))
    return profiles


def _ingredient_cautions(
    ingredients: Mapping[str, Ingredient],
    profiles: Mapping[str, AllergyConcept],
    cautions: Mapping[str, Caution],
) -> dict[str, tuple[Caution, ...]]:
    """For each ingredient, the cautions that apply to it or to anything it contains."""
    result: dict[str, tuple[Caution, ...]] = {}
    for code in ingredients:
        parts = [p for p in profiles[code].direct if p in ingredients]
        applies = tuple(
            caution
            for caution in cautions.values()
            if any(
                p in caution.ingredients or set(ingredients[p].classes) & set(caution.classes)
                for p in parts
            )
        )
        if applies:
            result[code] = applies
    return result


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
    ingredient_classes, ingredients, synonyms, caution_entries = _load_ingredients(directory)
    medication_classes = _load_medication_classes(directory)
    substances, medicine_names = _load_medicines(directory, medication_classes, ingredients)
    cross_groups, allergens, allergen_names = _load_allergens(directory, ingredients)
    findings, validity = _load_findings(directory)
    cautions = _build_cautions(caution_entries, ingredients, ingredient_classes, findings)
    side_effects = _load_side_effects(directory)
    aftercare = _load_aftercare(directory)
    protocols = _load_protocols(directory, areas, groups, indications, techniques, deliveries)
    atc = tuple(
        sorted({(p, code) for code, cls in medication_classes.items() for p in cls.atc_prefixes})
    )
    profiles = _profiles(ingredients, allergens)
    allergy_names: dict[str, tuple[str, ...]] = {k: (v,) for k, v in synonyms.items()}
    for key, code in allergen_names.items():
        allergy_names.setdefault(key, (code,))
    for key, codes in medicine_names.items():
        allergy_names.setdefault(key, tuple(f"{_MEDICINE}{c}" for c in codes))
    longest = max(len(key.split()) for key in allergy_names)

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
        substances=frozen(substances),
        allergens=frozen(allergens),
        cross_reactivity=frozen(cross_groups),
        cautions=frozen(cautions),
        validity=validity,
        protocols=frozen(protocols),
        _synonyms=frozen(synonyms),
        _med_names=frozen(medicine_names),
        _allergen_names=frozen(allergen_names),
        _allergy_names=frozen(allergy_names),
        _med_atc=atc,
        _profiles=frozen(profiles),
        _ingredient_cautions=frozen(_ingredient_cautions(ingredients, profiles, cautions)),
        _longest_name=longest,
        _severities={code: f.severity for code, f in findings.items()},
    )
