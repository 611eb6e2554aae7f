"""The catalogue behind coded screening (issue 7): medicines, allergens and ingredients resolve
through names, brands, salts, strengths, forms, brackets, case and accents; a pack that weakens a
brief-derived block is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mesoclinic.knowledge.pack import DEFAULT_DATA_DIR, PackError, load_pack

PACK = load_pack()

# (as written on the box or by the patient, ATC code or None, substance(s), classes)
MEDICINES: list[tuple[str, str | None, tuple[str, ...], set[str]]] = [
    # Turkey
    ("Majezik 100 mg film tablet", None, ("flurbiprofen",), {"nsaid"}),
    ("Arveles 25 mg", None, ("dexketoprofen",), {"nsaid"}),
    ("Apranax Forte 550 mg", None, ("naproxen",), {"nsaid"}),
    ("Dikloron 75 mg ampul", None, ("diclofenac",), {"nsaid"}),
    ("Coraspin 100", None, ("acetylsalicylic_acid_low_dose",), {"antiplatelet"}),
    ("Ecopirin 150 mg", None, ("acetylsalicylic_acid_low_dose",), {"antiplatelet"}),
    ("Parol 500 mg", None, ("paracetamol",), set()),
    ("Orfarin 5 mg", None, ("warfarin",), {"anticoagulant"}),
    ("İnsülin", None, ("insulin",), {"insulin"}),
    # Germany
    ("ASS 100", None, ("acetylsalicylic_acid_low_dose",), {"antiplatelet"}),
    ("Aspirin Protect 100 mg magensaftresistente Tabletten", None,
     ("acetylsalicylic_acid_low_dose",), {"antiplatelet"}),
    ("Thomapyrin", None, ("acetylsalicylic_acid",), {"nsaid"}),
    ("Ibu-ratiopharm 400 mg akut", None, ("ibuprofen",), {"nsaid"}),
    ("Voltaren Emulgel", None, ("diclofenac",), {"nsaid"}),
    ("Acetylsalicylsäure 500", None, ("acetylsalicylic_acid",), {"nsaid"}),
    ("Novalgin Tropfen", None, ("metamizole",), set()),  # a pyrazolone, not an NSAID
    ("Xarelto 20 mg Filmtabletten", None, ("rivaroxaban",), {"anticoagulant"}),
    ("Eliquis 5mg", None, ("apixaban",), {"anticoagulant"}),
    ("Marcumar", None, ("phenprocoumon",), {"anticoagulant"}),
    ("Brilique 90 mg", None, ("ticagrelor",), {"antiplatelet"}),
    ("Lantus SoloStar 100 E/ml", None, ("insulin_glargine",), {"insulin"}),
    # the UK and the US
    ("ASA 81 mg", None, ("acetylsalicylic_acid_low_dose",), {"antiplatelet"}),
    ("baby aspirin", None, ("acetylsalicylic_acid_low_dose",), {"antiplatelet"}),
    ("Aspirin 500 mg", None, ("acetylsalicylic_acid",), {"nsaid"}),
    ("Nurofen Express (for period pain)", None, ("ibuprofen",), {"nsaid"}),
    ("Coumadin", None, ("warfarin",), {"anticoagulant"}),
    ("Plavix 75", None, ("clopidogrel",), {"antiplatelet"}),
    ("NovoRapid FlexPen", None, ("insulin_aspart",), {"insulin"}),
    ("Humalog", None, ("insulin_lispro",), {"insulin"}),
    ("Propecia 1 mg", None, ("finasteride",), {"five_alpha_reductase_inhibitor"}),
    ("Avodart", None, ("dutasteride",), {"five_alpha_reductase_inhibitor"}),
    ("Aggrenox", None, ("acetylsalicylic_acid_low_dose", "dipyridamole"), {"antiplatelet"}),
    # by ATC code, whatever the name (prefixes matched exactly)
    ("a tablet", "M01AE01", (), {"nsaid"}),
    ("glucosamine", "M01AX05", ("glucosamine",), set()),
    ("nimesulide", "M01AX17", ("nimesulide",), {"nsaid"}),
    ("combination", "B01AC30", (), {"antiplatelet"}),
    ("cardio tablet", "B01AC06", (), {"antiplatelet"}),
    ("Aspirin", "B01AC06", ("acetylsalicylic_acid_low_dose",), {"antiplatelet"}),
    ("clopidogrel with ASA", "B01AC56", ("clopidogrel", "acetylsalicylic_acid_low_dose"),
     {"antiplatelet"}),
    ("anything", "A10AE04", (), {"insulin"}),
    ("gel", "D11AX10", (), {"five_alpha_reductase_inhibitor"}),
]


@pytest.mark.parametrize(("name", "atc", "substances", "classes"), MEDICINES)
def test_medicines_resolve_by_brand_generic_and_atc(
    name: str, atc: str | None, substances: tuple[str, ...], classes: set[str]
) -> None:
    match = PACK.resolve_medicine(name, atc)
    assert match.substances == substances
    assert set(match.classes) == classes
    assert match.classified


@pytest.mark.parametrize("name", ["Zyxorin", "Aspirinx", "ibuprofenol", "100 mg", "tablets"])
def test_a_medicine_neither_named_nor_coded_is_unclassified(name: str) -> None:
    match = PACK.resolve_medicine(name, None)
    assert (match.substances, match.classes, match.classified) == ((), frozenset(), False)


def test_strengths_and_forms_are_not_part_of_a_name() -> None:
    same = {
        PACK.resolve_medicine(n).substances
        for n in ("Brufen", "BRUFEN 400 mg", "Brufen retard", "brufen forte 600mg", "Brufen (PRN)")
    }
    assert same == {("ibuprofen",)}


# (allergy as written, what it hits directly, its cross-reactivity groups)
ALLERGIES: list[tuple[str, set[str], set[str]]] = [
    ("Lidocaine HCl 2%", {"lidocaine"}, {"amide_local_anaesthetic"}),
    ("lidocaine hydrochloride", {"lidocaine"}, {"amide_local_anaesthetic"}),
    ("Xylocaine", {"lidocaine"}, {"amide_local_anaesthetic"}),
    ("Lidocain", {"lidocaine"}, {"amide_local_anaesthetic"}),
    ("lidokain", {"lidocaine"}, {"amide_local_anaesthetic"}),
    ("LIDOKAİN", {"lidocaine"}, {"amide_local_anaesthetic"}),
    ("Novocain", {"procaine"}, {"ester_local_anaesthetic"}),
    ("procaine (dentist, 2015)", {"procaine"}, {"ester_local_anaesthetic"}),
    ("sodium hyaluronate", {"hyaluronic_acid"}, set()),
    ("Hyaluronic acid 1%", {"hyaluronic_acid"}, set()),
    ("Hyaluronsäure", {"hyaluronic_acid"}, set()),
    ("vitamin B12", {"cyanocobalamin"}, set()),
    ("soy", {"soy"}, set()),
    ("PABA", {"paba"}, {"ester_local_anaesthetic"}),
    ("chamomile", {"asteraceae_plants"}, {"asteraceae"}),
    ("Propecia", {"medicine:finasteride", "finasteride"}, set()),
    ("penicillin", {"penicillins"}, set()),
    ("Augmentin", {"penicillins"}, set()),
    ("latex", {"latex"}, set()),
    ("Nickel", {"nickel"}, set()),
    ("pollen", {"pollen"}, set()),
    ("house dust mite", {"house_dust"}, set()),
    ("peanuts", {"peanut"}, set()),
    ("Voltaren", {"medicine:diclofenac"}, set()),
]


@pytest.mark.parametrize(("text", "direct", "groups"), ALLERGIES)
def test_allergies_resolve_through_names_salts_strengths_brands_and_brackets(
    text: str, direct: set[str], groups: set[str]
) -> None:
    concept = PACK.resolve_allergy(text)
    assert concept is not None
    assert set(concept.direct) == direct
    assert set(concept.groups) == groups


def test_an_allergy_to_a_complex_is_one_to_each_part() -> None:
    concept = PACK.resolve_allergy("Vitamin B complex")
    assert concept is not None
    assert {"thiamine", "biotin", "cyanocobalamin", "vitamin_b_complex"} <= concept.direct


def test_an_entry_naming_several_allergens_resolves_to_all() -> None:
    concept = PACK.resolve_allergy("penicillin and latex")
    assert concept is not None
    assert {"penicillins", "latex"} <= concept.direct


@pytest.mark.parametrize("text", ["Zorblax root", "the blue pills", "x"])
def test_an_allergy_the_catalogue_cannot_resolve_is_none(text: str) -> None:
    assert PACK.resolve_allergy(text) is None


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Lidocain", "lidocaine"),
        ("lidokain", "lidocaine"),
        ("Lidocaine HCl 2%", "lidocaine"),
        ("Hyaluronic acid 1%", "hyaluronic_acid"),
        ("sodium hyaluronate 20 mg/ml", "hyaluronic_acid"),
        ("EMLA Creme", "emla"),
        ("Emla krem %5", "emla"),
        ("B-complex", "vitamin_b_complex"),
        ("Ascorbinsäure", "vitamin_c"),
        ("askorbik asit", "vitamin_c"),
        ("PROCAINE HYDROCHLORIDE 1%", "procaine"),
        ("Finasterid 0,05 %", "finasteride"),
    ],
)
def test_ingredients_resolve_through_the_same_names(name: str, code: str) -> None:
    assert PACK.resolve_ingredient(name) == code


@pytest.mark.parametrize("name", ["bee pollen", "vitamin", "unicorn extract", "lidocaine gel x"])
def test_an_unknown_ingredient_is_not_guessed(name: str) -> None:
    assert PACK.resolve_ingredient(name) is None


def test_the_numbing_cream_is_made_of_its_anaesthetics() -> None:
    profile = PACK.ingredient_profile("EMLA")
    assert {"emla", "lidocaine", "prilocaine"} <= profile.direct
    assert profile.groups == {"amide_local_anaesthetic"}


def test_phosphatidylcholine_carries_its_source_allergens() -> None:
    assert {"soy", "peanut"} <= PACK.ingredient_profile("Lipostabil").direct


def test_every_substance_cites_a_source_and_markets_are_known() -> None:
    assert len(PACK.substances) >= 80
    for substance in PACK.substances.values():
        assert substance.source
        assert set(substance.brands) <= {"tr", "de", "en"}
    markets = {m for s in PACK.substances.values() for m in s.brands}
    assert markets == {"tr", "de", "en"}


def test_the_medicine_search_finds_brands_and_generics() -> None:
    found = [(name, s.code) for name, s in PACK.search_medicines("xarel")]
    assert found == [("Xarelto", "rivaroxaban")]
    assert ("Majezik", "flurbiprofen") in [(n, s.code) for n, s in PACK.search_medicines("maj")]
    assert PACK.search_medicines("x") == []


def test_indications_are_read_as_the_design_says() -> None:
    assert "ringworm" not in PACK.indications
    assert PACK.indications["alopecia_areata"].areas == ("scalp",)
    assert "never an active rash" in PACK.indications["shingles"].label
    anaphylaxis = PACK.side_effects["anaphylaxis"]
    assert (anaphylaxis.urgent, anaphylaxis.kind) == (True, "systemic")


def test_validity_defaults_to_six_months() -> None:
    assert (PACK.validity.allergy_test_months, PACK.validity.workup_months) == (6, 6)


# --- validation ----------------------------------------------------------------------------------


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def _edit(directory: Path, file: str, old: str, new: str) -> None:
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("code", "fact"),
    [
        ("AGE_UNDER_18", "F-ELIG-AGE"),
        ("PREGNANT", "F-ELIG-PREG"),
        ("INSULIN_DEPENDENT_DIABETES", "F-ELIG-INSULIN"),
        ("ACTIVE_CANCER", "F-ELIG-CANCER"),
        ("STROKE_HISTORY", "F-ELIG-STROKE"),
        ("HEART_DISEASE_MULTI_DRUG", "F-ELIG-MULTIDRUG"),
        ("KIDNEY_DISORDER", "F-ELIG-LIVER-KIDNEY"),
        ("INGREDIENT_ALLERGY", "F-ALLERGY-TEST"),
    ],
)
def test_a_pack_edit_that_weakens_a_brief_block_is_refused(
    pack_dir: Path, code: str, fact: str
) -> None:
    _edit(pack_dir, "contraindications.yaml", f"{{code: {code}, severity: block,",
          f"{{code: {code}, severity: review,")
    with pytest.raises(PackError) as caught:
        load_pack(pack_dir)
    message = str(caught.value)
    assert message.startswith("contraindications.yaml: findings[")
    assert f"{code} cannot be weakened to 'review'" in message
    assert fact in message


def test_a_pack_edit_that_makes_a_code_stricter_is_accepted(pack_dir: Path) -> None:
    _edit(pack_dir, "contraindications.yaml", "{code: HEART_DISEASE, severity: review,",
          "{code: HEART_DISEASE, severity: block,")
    assert load_pack(pack_dir).findings["HEART_DISEASE"].severity == "block"


BROKEN = [
    (lambda d: _edit(d, "contraindications.yaml",
                     "  - {code: UNCLASSIFIED_ALLERGY, severity: review, fact: F-ALLERGY-TEST, "
                     "summary: \"An allergy the catalogue cannot resolve; a physician codes it or "
                     "decides.\"}\n", ""),
     "missing finding code 'UNCLASSIFIED_ALLERGY'"),
    (lambda d: _edit(d, "contraindications.yaml", "allergy_test_months: 6", "allergy_test_months: 0"),
     "'allergy_test_months' must be a whole number of months from 1 to 24"),
    (lambda d: _edit(d, "medicines.yaml", "atc: [B01AF01]", "atc: [X01AF01]"),
     "'X01AF01' is not an ATC code or prefix"),
    (lambda d: _edit(d, "medicines.yaml", "names: [rivaroxaban]", "names: [apixaban]"),
     "name 'apixaban' already belongs to substance 'rivaroxaban'"),
    (lambda d: _edit(d, "medicines.yaml", "de: [Marcumar,", "fr: [Marcumar,"),
     "unknown key 'fr'"),
    (lambda d: _edit(d, "ingredients.yaml", "sources: [soy, peanut]", "sources: [tofu]"),
     "unknown source allergen 'tofu'"),
    (lambda d: _edit(d, "ingredients.yaml", "contains: [lidocaine, prilocaine]",
                     "contains: [lidocaine, benzocain]"),
     "contains unknown ingredient 'benzocain'"),
    (lambda d: _edit(d, "ingredients.yaml", "finding: INGREDIENT_RISK\n    classes: [enzyme]",
                     "finding: ENZYME_RISK\n    classes: [enzyme]"),
     "unknown finding code 'ENZYME_RISK'"),
    (lambda d: _edit(d, "ingredients.yaml", "sexes: [female, other]", "sexes: [women]"),
     "unknown sex 'women'"),
    (lambda d: _edit(d, "allergens.yaml", "cross_reactivity: [ester_local_anaesthetic]}",
                     "cross_reactivity: [esters]}"),
     "unknown cross-reactivity group 'esters'"),
]


@pytest.mark.parametrize(("breakage", "message"), BROKEN, ids=[b[1][:40] for b in BROKEN])
def test_a_broken_catalogue_fails_with_a_clear_error(
    pack_dir: Path, breakage: object, message: str
) -> None:
    breakage(pack_dir)  # type: ignore[operator]
    with pytest.raises(PackError) as caught:
        load_pack(pack_dir)
    assert message in str(caught.value)
