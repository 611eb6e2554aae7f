"""The knowledge pack: it loads, every entry cites a known fact, lookups work, bad packs fail."""

from __future__ import annotations

import ast
import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mesoclinic.knowledge.pack import (
    DEFAULT_DATA_DIR,
    KNOWN_FACTS,
    KnowledgePack,
    PackError,
    load_pack,
    normalize_name,
)

PACK = load_pack()
SRC = Path(__file__).resolve().parents[2]


def all_entries(pack: KnowledgePack) -> list[object]:
    """Every entry of every section."""
    sections = (
        pack.indication_groups,
        pack.indications,
        pack.areas,
        pack.techniques,
        pack.deliveries,
        pack.ingredient_classes,
        pack.ingredients,
        pack.medication_classes,
        pack.findings,
        pack.side_effects,
        pack.aftercare,
    )
    return [entry for section in sections for entry in section.values()]


def test_the_bundled_pack_loads_with_its_version() -> None:
    assert PACK.version == "2026.12.2"


def test_the_default_pack_is_loaded_once() -> None:
    assert load_pack() is load_pack()


def test_every_entry_cites_a_known_fact() -> None:
    entries = all_entries(PACK)
    assert len(entries) > 150
    for entry in entries:
        assert getattr(entry, "fact") in KNOWN_FACTS, entry  # noqa: B009
    for area in PACK.areas.values():
        assert area.depth_fact == "F-DEPTH"


def test_known_facts_are_the_design_table_ids() -> None:
    assert len(KNOWN_FACTS) == 26
    assert {"F-ELIG-AGE", "F-NSAID", "F-ALLERGY-TEST", "F-PHOTOS"} <= KNOWN_FACTS


REQUIRED_INDICATIONS = {
    "wrinkles": "face_body",
    "pigmentation": "face_body",
    "acne_scars": "face_body",
    "stretch_marks": "face_body",
    "cellulite": "face_body",
    "regional_fat": "face_body",
    "dark_circles": "face_body",
    "rejuvenation": "face_body",
    "hair_loss": "hair",
    "hereditary_baldness": "hair",
    "dandruff": "hair",
    "migraine": "pain",
    "fibromyalgia": "pain",
    "sports_injury": "pain",
    "menstrual_pain": "pain",
    "varicose_veins": "vascular",
    "rheumatic_joint": "rheumatic",
}


@pytest.mark.parametrize(("code", "group"), sorted(REQUIRED_INDICATIONS.items()))
def test_required_indications_are_present_in_their_group(code: str, group: str) -> None:
    indication = PACK.indications[code]
    assert indication.group == group
    assert indication.areas
    assert set(indication.areas) <= {"face", "body", "scalp"}
    assert indication.fact == "F-INDICATIONS"


def test_indication_groups_and_cosmetic_flags() -> None:
    assert set(PACK.indication_groups) == {"pain", "rheumatic", "vascular", "face_body", "hair"}
    assert PACK.indications["wrinkles"].cosmetic is True
    assert PACK.indications["migraine"].cosmetic is False
    assert PACK.indications["varicose_veins"].cosmetic is False
    assert all(PACK.indications[c].areas == ("scalp",) for c in ("hair_loss", "dandruff"))


def test_fat_reduction_carries_its_disclosure() -> None:
    disclosure = PACK.indications["regional_fat"].disclosure
    assert disclosure is not None
    assert "FDA" in disclosure
    assert all(i.disclosure is None for c, i in PACK.indications.items() if c != "regional_fat")


def test_areas_session_lengths_and_depths_follow_the_brief() -> None:
    assert PACK.top_level_areas == {"face", "body", "scalp"}
    for code in ("abdomen", "thighs", "arms", "neck", "hands"):
        assert PACK.areas[code].parent == "body"
        assert PACK.areas[code].top_level == "body"
    for area in PACK.areas.values():
        # F-FACE-BODY: 20-45 min; F-HAIR: 10-30 min
        low, high = (10, 30) if area.code == "scalp" else (20, 45)
        assert low <= area.session_minutes.min <= area.session_minutes.max <= high, area
        # F-DEPTH: 1-4 mm; scalp about 1 mm
        assert 1 <= area.depth_mm.min <= area.depth_mm.max <= 4, area
    assert (PACK.areas["scalp"].depth_mm.min, PACK.areas["scalp"].depth_mm.max) == (1, 1)


def test_techniques_and_deliveries() -> None:
    assert set(PACK.techniques) == {"point_by_point", "comprehensive", "epidermal"}
    assert set(PACK.deliveries) == {"needle", "needle_free"}
    assert PACK.deliveries["needle"].disclosure is None
    disclosure = PACK.deliveries["needle_free"].disclosure
    assert disclosure is not None
    assert "less" in disclosure


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("hyaluronic acid", "hyaluronic_acid"),
        ("sodium hyaluronate", "hyaluronic_acid"),
        ("Hyaluronan", "hyaluronic_acid"),
        ("  SODIUM   hyaluronate ", "hyaluronic_acid"),
        ("hyaluronic_acid", "hyaluronic_acid"),
        ("vitamin C", "vitamin_c"),
        ("Ascorbic Acid", "vitamin_c"),
        ("L-ascorbic acid", "vitamin_c"),
        ("ginkgo biloba extract", "ginkgo_biloba_extract"),
        ("Ginkgo-Biloba", "ginkgo_biloba_extract"),
        ("artichoke extract", "artichoke_extract"),
        ("melilotus", "melilotus_extract"),
        ("salmon calcitonin", "salmon_calcitonin"),
        ("calcitonin salmon", "salmon_calcitonin"),
        ("finasteride", "finasteride"),
        ("Bee Venom", "bee_venom"),
        ("Moon Dust", "moon dust"),  # unknown: normalised, not invented
    ],
)
def test_canonical_ingredient_resolves_synonyms(name: str, code: str) -> None:
    assert PACK.canonical_ingredient(name) == code


def test_ingredient_classes() -> None:
    assert PACK.ingredients["salmon_calcitonin"].classes == ("hormone", "drug")
    assert "plant_extract" in PACK.ingredients["melilotus_extract"].classes
    assert PACK.ingredient_label("vitamin_c") == "vitamin C"
    assert PACK.ingredient_label("bee venom") == "bee venom"


@pytest.mark.parametrize(
    ("name", "atc", "expected"),
    [
        ("aspirin", None, {"nsaid"}),
        ("ASPIRIN", None, {"nsaid"}),
        ("Aspirin Protect 100 mg", None, {"antiplatelet"}),
        ("acetylsalicylic acid", None, {"nsaid"}),
        ("Advil", None, {"nsaid"}),
        ("nurofen", None, {"nsaid"}),
        ("Aleve", None, {"nsaid"}),
        ("Voltaren", None, {"nsaid"}),
        ("Bayer Aspirin", None, {"nsaid"}),
        ("Ecotrin", None, {"nsaid"}),
        ("Motrin", None, {"nsaid"}),
        ("celecoxib", None, {"nsaid"}),
        ("unknown brand", "M01AB05", {"nsaid"}),
        ("unknown brand", " n02ba01 ", {"nsaid"}),
        ("unknown brand", "B01AC06", {"antiplatelet"}),
        ("unknown brand", "M02AA10", {"nsaid"}),
        ("paracetamol", "N02BE01", set()),
        ("aspirinate", None, set()),
        ("", None, set()),
    ],
)
def test_medication_classes_match_by_name_and_atc(
    name: str, atc: str | None, expected: set[str]
) -> None:
    assert PACK.medication_classes_of(name, atc) == expected


def test_nsaid_class_lists_the_brief_prefixes() -> None:
    nsaid = PACK.medication_classes["nsaid"]
    assert {"M01AB", "M01AE", "M01AH", "N02BA", "M02AA"} <= set(nsaid.atc_prefixes)
    # glucosamine (M01AX05) sits under M01A but is not an NSAID; low-dose aspirin is antiplatelet
    assert not {"M01A", "M01AX", "B01AC06"} & set(nsaid.atc_prefixes)
    assert nsaid.fact == "F-NSAID"


def test_normalize_name() -> None:
    assert normalize_name("  Acetyl-Salicylic   ACID\t") == "acetyl salicylic acid"
    assert normalize_name("\uff21SPIRIN") == "aspirin"  # a full-width A folds too


def test_pack_dataclasses_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PACK.version = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        PACK.indications["x"] = PACK.indications["wrinkles"]  # type: ignore[index]


def test_pure_modules_import_nothing_from_django() -> None:
    for module in (
        SRC / "knowledge" / "pack.py",
        SRC / "screening" / "rules.py",
        SRC / "screening" / "contract.py",
        SRC / "screening" / "cli.py",
    ):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "django" or n.startswith("django.") for n in names), module


# --- validation ----------------------------------------------------------------------------------


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    """A writable copy of the bundled pack."""
    target = tmp_path / "pack"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def edit(directory: Path, file: str, old: str, new: str) -> None:
    """Replace text in a pack file (exactly once)."""
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_copy_of_the_pack_loads(pack_dir: Path) -> None:
    assert load_pack(pack_dir) == PACK


BROKEN: list[tuple[Callable[[Path], object], str]] = [
    (
        lambda d: edit(
            d,
            "indications.yaml",
            "{code: gout, group: pain, label: Gout pain, areas: [body], cosmetic: false, "
            "fact: F-INDICATIONS}",
            "{code: gout, group: pain, label: Gout pain, areas: [body], cosmetic: false}",
        ),
        "indications.yaml: indications[1] (gout): missing 'fact'",
    ),
    (
        lambda d: edit(d, "techniques.yaml", "fact: F-TOOLS", "fact: F-NOPE"),
        "techniques.yaml: deliveries[0] (needle): unknown fact id 'F-NOPE'",
    ),
    (
        lambda d: edit(d, "techniques.yaml", "fact: F-TOOLS", "fact: null"),
        "techniques.yaml: deliveries[0] (needle): missing fact id",
    ),
    (
        lambda d: edit(d, "indications.yaml", "{code: gout,", "{code: migraine,"),
        "duplicate code 'migraine'",
    ),
    (
        lambda d: edit(
            d,
            "indications.yaml",
            "label: Dandruff, areas: [scalp]",
            "label: Dandruff, areas: [elbow]",
        ),
        "indications.yaml: indications[34] (dandruff): unknown area 'elbow'",
    ),
    (
        lambda d: edit(
            d,
            "indications.yaml",
            "label: Dandruff, areas: [scalp]",
            "label: Dandruff, areas: [neck]",
        ),
        "unknown area 'neck'",
    ),
    (
        lambda d: edit(d, "indications.yaml", "group: vascular,", "group: venous,"),
        "unknown group 'venous'",
    ),
    (
        lambda d: edit(
            d,
            "areas.yaml",
            "parent: body\n    session_minutes: {min: 20, max: 25}\n"
            "    depth_mm: {min: 1, max: 2, fact: F-DEPTH}\n    fact: F-FACE-BODY\n"
            "  - code: hands",
            "parent: torso\n    session_minutes: {min: 20, max: 25}\n"
            "    depth_mm: {min: 1, max: 2, fact: F-DEPTH}\n    fact: F-FACE-BODY\n"
            "  - code: hands",
        ),
        "areas.yaml: neck: unknown parent area 'torso'",
    ),
    (
        lambda d: edit(
            d,
            "areas.yaml",
            "depth_mm: {min: 1, max: 1, fact: F-DEPTH}",
            "depth_mm: {min: 1, max: 6, fact: F-DEPTH}",
        ),
        "depth_mm must lie within 1-4 mm",
    ),
    (
        lambda d: edit(
            d,
            "areas.yaml",
            "session_minutes: {min: 10, max: 30}",
            "session_minutes: {min: 30, max: 10}",
        ),
        "min 30 is greater than max 10",
    ),
    (
        lambda d: edit(
            d, "ingredients.yaml", "synonyms: [lignocaine,", "synonyms: [ascorbic acid,"
        ),
        "name 'ascorbic acid' already belongs to ingredient 'vitamin_c'",
    ),
    (
        lambda d: edit(
            d,
            "ingredients.yaml",
            "classes: [enzyme]\n    fact: F-SOLUTION\n  - code: collagenase",
            "classes: [enzymes]\n    fact: F-SOLUTION\n  - code: collagenase",
        ),
        "unknown ingredient class 'enzymes'",
    ),
    (
        lambda d: edit(d, "medication_classes.yaml", "- M01AX17 ", "- 12AB "),
        "'12AB' is not an ATC code or prefix",
    ),
    (
        lambda d: edit(
            d,
            "contraindications.yaml",
            "severity: review, fact: F-ELIG-CANCER",
            "severity: maybe, fact: F-ELIG-CANCER",
        ),
        "unknown severity 'maybe'",
    ),
    (
        lambda d: edit(
            d, "aftercare.yaml", "{code: keep_dry, when: after,", "{code: keep_dry, when: later,"
        ),
        "unknown time 'later'",
    ),
    (
        lambda d: edit(
            d,
            "side_effects.yaml",
            "{code: nausea, label: Nausea,",
            "{code: nausea, label: Nausea, colour: green,",
        ),
        "side_effects.yaml: side_effects[0] (nausea): unknown key 'colour'",
    ),
    (
        lambda d: edit(d, "pack.yaml", 'version: "2026.12.2"', "version: 7"),
        "pack.yaml: version: must be a string",
    ),
    (
        lambda d: edit(d, "pack.yaml", "  - aftercare.yaml\n", ""),
        "pack.yaml: files: must list exactly",
    ),
    (lambda d: (d / "aftercare.yaml").unlink(), "aftercare.yaml: cannot read file"),
    (
        lambda d: (d / "side_effects.yaml").write_text("side_effects: [unclosed", encoding="utf-8"),
        "side_effects.yaml: not valid YAML",
    ),
    (
        lambda d: (d / "techniques.yaml").write_text("- a list\n", encoding="utf-8"),
        "techniques.yaml: expected a mapping at the top level",
    ),
    (
        lambda d: edit(d, "techniques.yaml", "techniques:", "techniqes:"),
        "techniques.yaml: unknown top-level key 'techniqes'",
    ),
]


@pytest.mark.parametrize(("breakage", "message"), BROKEN, ids=[b[1][:50] for b in BROKEN])
def test_a_broken_pack_fails_with_a_clear_error(
    pack_dir: Path, breakage: Callable[[Path], object], message: str
) -> None:
    breakage(pack_dir)
    with pytest.raises(PackError) as caught:
        load_pack(pack_dir)
    assert message in str(caught.value)
    assert str(caught.value).startswith(caught.value.file)
