"""Patient search: pure folding and query parsing, then the index-backed database search."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.patients import search
from mesoclinic.patients.models import Patient
from mesoclinic.patients.search import Query, fold, parse_query, phone_key, prefix_upper_bound

FOLDED = re.compile(r"^([a-z0-9]+( [a-z0-9]+)*)?$")
# Letters of the names our clinics see most, with their plain ASCII reading.
ACCENTED = {
    "ş": "s", "Ş": "s", "ı": "i", "İ": "i", "ğ": "g", "Ğ": "g", "ç": "c", "Ç": "c",
    "ö": "o", "Ö": "o", "ü": "u", "Ü": "u", "é": "e", "è": "e", "ê": "e", "à": "a",
    "ñ": "n", "ø": "o", "å": "a", "ä": "a",
}


# --- fold -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Şahin", "sahin"),
        ("ŞAHİN", "sahin"),
        ("Işık", "isik"),  # dotless ı is not decomposed by Unicode
        ("IŞIK", "isik"),
        ("İstanbul", "istanbul"),  # dotted capital İ
        ("Öztürk", "ozturk"),
        ("Gül", "gul"),
        ("Çağlar", "caglar"),
        ("Øyvind", "oyvind"),
        ("Straße", "strasse"),
        ("Łukasz", "lukasz"),
        ("José María", "jose maria"),
        ("Müller-Lüdenscheidt", "muller ludenscheidt"),
        ("  O'Brien  ", "o brien"),
        ("", ""),
    ],
)
def test_fold_reads_names_as_lower_case_ascii(name: str, folded: str) -> None:
    assert fold(name) == folded


@given(st.text(max_size=60))
def test_fold_output_is_plain_lower_case_words(text: str) -> None:
    assert FOLDED.match(fold(text))


@given(st.text(max_size=60))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(alphabet=st.sampled_from([*ACCENTED, *"abcdefghijklmnopqrstuvwxyz"]), min_size=1,
               max_size=30))
def test_fold_drops_accents_and_case(word: str) -> None:
    expected = "".join(ACCENTED.get(ch, ch) for ch in word)
    assert fold(word) == expected
    assert fold(word.upper()) == expected


# --- parse_query ------------------------------------------------------------------------------

@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_birth_dates_parse_in_iso_and_day_first_forms(day: date) -> None:
    expected = Query(birth_date=day)
    assert parse_query(day.isoformat()) == expected
    assert parse_query(day.strftime("%d.%m.%Y")) == expected
    assert parse_query(f"{day.day}/{day.month}/{day.year}") == expected
    assert parse_query(f"  {day.day}-{day.month}-{day.year} ") == expected


@pytest.mark.parametrize("text", ["31.02.1990", "1990-02-30", "00.01.1990", "1.13.1990",
                                  "1990-13-01"])
def test_impossible_dates_are_not_birth_dates(text: str) -> None:
    query = parse_query(text)
    assert query.birth_date is None
    assert query.phone == ""


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("0532 111 22 33", "5321112233"),  # the trunk 0 is dropped: matched as a suffix
        ("+90 (532) 111-22-33", "905321112233"),
        ("5321112233", "5321112233"),
        ("2233", "2233"),
        ("111-22-33", "1112233"),
    ],
)
def test_phone_numbers_parse_to_their_digits(text: str, digits: str) -> None:
    assert parse_query(text) == Query(phone=digits)


@pytest.mark.parametrize("text", ["123", "12a45", "R2D2 C3PO"])
def test_short_digit_runs_and_mixed_text_are_not_phone_numbers(text: str) -> None:
    assert parse_query(text).phone == ""


@given(st.text(alphabet="0123456789", min_size=4, max_size=15).filter(lambda s: s.strip("0")))
def test_any_digit_run_of_four_or_more_is_a_phone_suffix(digits: str) -> None:
    assert parse_query(digits) == Query(phone=digits.lstrip("0"))


def test_name_words_are_folded_and_capped_at_four() -> None:
    assert parse_query("Ayşe  ŞAHİN") == Query(words=("ayse", "sahin"))
    assert parse_query("a b c d e f").words == ("a", "b", "c", "d")


@pytest.mark.parametrize("text", ["", "   ", "--", "!!!"])
def test_blank_or_punctuation_only_queries_are_empty(text: str) -> None:
    assert parse_query(text).empty


def test_queries_are_cut_at_one_hundred_characters() -> None:
    assert parse_query("x" * 500).words == ("x" * 100,)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 ", max_size=20),
       st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 ", max_size=20))
def test_prefix_upper_bound_covers_every_completion(prefix: str, rest: str) -> None:
    assert prefix <= prefix + rest < prefix_upper_bound(prefix)


def test_phone_key_is_the_reversed_digits() -> None:
    assert phone_key("+90 (532) 111-22-33") == "332211123509"
    assert search.phone_digits("tel: 0049 151") == "0049151"


# --- the database search ----------------------------------------------------------------------

def _names(queryset: object) -> list[str]:
    return sorted(p.full_name for p in queryset)  # type: ignore[attr-defined]


@pytest.fixture
def people(cast: object) -> dict[str, Patient]:
    clinic = cast.clinic  # type: ignore[attr-defined]
    rows = {
        "isik": Patient.objects.create(clinic=clinic, given_name="Işık", family_name="Öztürk",
                                       birth_date=date(1985, 12, 31), sex="male",
                                       phone="0212 555 66 77"),
        "sahinoglu": Patient.objects.create(clinic=clinic, given_name="Mehmet",
                                            family_name="Şahinoğlu", birth_date=date(1979, 1, 5),
                                            sex="male", phone="+90 533 444 55 66"),
        "ahmet": Patient.objects.create(clinic=clinic, given_name="Ahmet", family_name="Sahin",
                                        birth_date=date(1990, 4, 2), sex="male", phone=""),
    }
    return rows


def test_name_search_ignores_accents_and_case(cast, people) -> None:
    found = Patient.objects.for_clinic(cast.clinic).matching("sahin")
    assert _names(found) == ["Ahmet Sahin", "Ayşe Şahin", "Mehmet Şahinoğlu"]
    assert _names(Patient.objects.for_clinic(cast.clinic).matching("ŞAHİN")) == _names(found)


def test_dotless_i_is_found_by_plain_i(cast, people) -> None:
    assert _names(Patient.objects.for_clinic(cast.clinic).matching("isik")) == ["Işık Öztürk"]
    assert _names(Patient.objects.for_clinic(cast.clinic).matching("IŞIK ozt")) == ["Işık Öztürk"]


def test_name_search_matches_word_prefixes_in_any_order(cast, people) -> None:
    clinic_patients = Patient.objects.for_clinic(cast.clinic)
    assert _names(clinic_patients.matching("şahin ayşe")) == ["Ayşe Şahin"]
    assert _names(clinic_patients.matching("ay sah")) == ["Ayşe Şahin"]
    assert _names(clinic_patients.matching("sahin ahmet")) == ["Ahmet Sahin"]
    assert _names(clinic_patients.matching("sahin nobody")) == []


def test_birth_date_search_in_both_formats(cast, people) -> None:
    clinic_patients = Patient.objects.for_clinic(cast.clinic)
    assert _names(clinic_patients.matching("1990-04-02")) == ["Ahmet Sahin", "Ayşe Şahin"]
    assert _names(clinic_patients.matching("02.04.1990")) == ["Ahmet Sahin", "Ayşe Şahin"]
    assert _names(clinic_patients.matching("31/12/1985")) == ["Işık Öztürk"]


def test_an_impossible_date_finds_nobody(cast, people) -> None:
    assert _names(Patient.objects.for_clinic(cast.clinic).matching("31.02.1990")) == []


@pytest.mark.parametrize(
    "typed",
    ["+90 532 111 22 33", "0532 111 22 33", "532 111 22 33", "5321112233", "(532) 111-22-33",
     "2233"],
)
def test_phone_search_with_or_without_country_code_and_trunk_zero(cast, people, typed) -> None:
    assert _names(Patient.objects.for_clinic(cast.clinic).matching(typed)) == ["Ayşe Şahin"]


def test_phone_search_of_a_landline_written_with_trunk_zero(cast, people) -> None:
    clinic_patients = Patient.objects.for_clinic(cast.clinic)
    assert _names(clinic_patients.matching("0212 555 66 77")) == ["Işık Öztürk"]
    assert _names(clinic_patients.matching("212 555 66 77")) == ["Işık Öztürk"]


def test_a_changed_name_is_found_under_its_new_spelling(cast) -> None:
    patient = Patient.objects.get(pk=cast.patient.pk)
    patient.family_name = "Çelik"
    patient.save()
    clinic_patients = Patient.objects.for_clinic(cast.clinic)
    assert _names(clinic_patients.matching("celik")) == ["Ayşe Çelik"]
    assert _names(clinic_patients.matching("sahin")) == []


def test_search_never_crosses_clinics(cast, people) -> None:
    # Lena Müller belongs to the sister clinic.
    assert _names(Patient.objects.for_clinic(cast.clinic).matching("muller")) == []
    assert _names(Patient.objects.for_clinic(cast.sister).matching("muller")) == ["Lena Müller"]
    assert _names(Patient.objects.for_clinic(cast.sister).matching("sahin")) == []
    assert _names(Patient.objects.for_clinic(cast.foreign).matching("1990-04-02")) == []


def test_an_empty_query_matches_nobody(cast) -> None:
    assert _names(Patient.objects.for_clinic(cast.clinic).matching("  ")) == []
