"""Patient search: pure folding and query parsing, then the index-backed database search."""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Iterator
from datetime import date
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesoclinic.accounts.models import Clinic
from mesoclinic.audit.log import Actor
from mesoclinic.demo.loader import seed
from mesoclinic.patients import search
from mesoclinic.patients.actions import register_patient, update_demographics
from mesoclinic.patients.models import Patient, PatientNameWord
from mesoclinic.patients.search import (
    Query,
    fold,
    later_words,
    parse_query,
    phone_key,
    phone_suffix,
    prefix_upper_bound,
)

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


# --- later_words and phone_suffix -------------------------------------------------------------

@pytest.mark.parametrize(
    ("given_key", "family_key", "words"),
    [
        ("ayse nur", "yilmaz", ["nur"]),
        ("hans", "muller ludenscheidt", ["ludenscheidt"]),
        ("pieter", "van der berg", ["der", "berg"]),
        ("maria jose maria", "garcia jose", ["jose", "maria"]),  # each word once
        ("ayse", "sahin", []),
        ("", "", []),
    ],
)
def test_later_words_are_those_after_the_first_of_each_name(given_key: str, family_key: str,
                                                            words: list[str]) -> None:
    assert later_words(given_key, family_key) == words


@given(st.text(max_size=40), st.text(max_size=40))
def test_first_and_later_words_cover_every_folded_word(given_name: str, family_name: str) -> None:
    given_key, family_key = fold(given_name), fold(family_name)
    words = later_words(given_key, family_key)
    firsts = {name.split()[0] for name in (given_key, family_key) if name}
    assert firsts | set(words) == {*given_key.split(), *family_key.split()}
    assert len(words) == len(set(words))
    assert all(re.fullmatch(r"[a-z0-9]+", word) for word in words)


@pytest.mark.parametrize(
    ("digits", "suffix"),
    [
        ("902125556677", "125556677"),  # +90 212 555 66 77
        ("02125556677", "125556677"),  # 0212 555 66 77
        ("00902125556677", "125556677"),  # 0090 212 555 66 77
        ("2233", "2233"),
        ("0000", ""),
        ("", ""),
    ],
)
def test_phone_suffix_is_the_last_nine_digits_without_leading_zeros(digits: str,
                                                                    suffix: str) -> None:
    assert phone_suffix(digits) == suffix


NSN = st.text(alphabet="0123456789", min_size=9, max_size=11).filter(lambda s: s[0] != "0")


@given(NSN, st.sampled_from(["90", "49", "33", "7", "353"]))
def test_national_and_international_forms_share_their_suffix(nsn: str, country: str) -> None:
    typed_forms = [f"0{nsn}", f"+{country} {nsn}", f"00{country}{nsn}", nsn]
    suffixes = {phone_suffix(search.phone_digits(form)) for form in typed_forms}
    assert suffixes == {nsn[-9:]}
    for form in typed_forms:  # and the stored number, reversed, starts with it reversed
        assert phone_key(form).startswith(nsn[-9:][::-1])


@pytest.mark.parametrize("text", ["0000", "00 00 00", "+0 000 000", "(000) 000-00-00"])
def test_a_number_of_only_zeros_is_an_empty_query(text: str) -> None:
    assert parse_query(text).empty


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


# --- every word of a name ---------------------------------------------------------------------

@pytest.fixture
def compound(cast: object) -> dict[str, Patient]:
    clinic = cast.clinic  # type: ignore[attr-defined]

    def make(given_name: str, family_name: str, phone: str = "") -> Patient:
        return Patient.objects.create(clinic=clinic, given_name=given_name,
                                      family_name=family_name, birth_date=date(1980, 6, 1),
                                      sex="female", phone=phone)

    return {
        "nur": make("Ayşe Nur", "Yılmaz"),
        "hans": make("Hans", "Müller-Lüdenscheidt"),
        "pieter": make("Pieter", "van der Berg"),
        "ana": make("Ana", "García López"),
    }


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("nur", ["Ayşe Nur Yılmaz"]),
        ("NUR", ["Ayşe Nur Yılmaz"]),
        ("nur yil", ["Ayşe Nur Yılmaz"]),
        ("yılmaz nur", ["Ayşe Nur Yılmaz"]),
        ("ayşe nur", ["Ayşe Nur Yılmaz"]),
        ("ludenscheidt", ["Hans Müller-Lüdenscheidt"]),
        ("Lüdensch", ["Hans Müller-Lüdenscheidt"]),
        ("hans lud", ["Hans Müller-Lüdenscheidt"]),
        ("Müller-Lüdenscheidt", ["Hans Müller-Lüdenscheidt"]),
        ("berg", ["Pieter van der Berg"]),
        ("van berg", ["Pieter van der Berg"]),
        ("pie berg", ["Pieter van der Berg"]),
        ("lopez", ["Ana García López"]),
        ("lopez ana", ["Ana García López"]),
        ("ay", ["Ayşe Nur Yılmaz", "Ayşe Şahin"]),
        ("nur sahin", []),  # every query word must match
        ("berg hans", []),
        ("ludwig", []),
    ],
)
def test_every_word_of_a_name_is_found_by_its_prefix(cast, compound, typed, found) -> None:
    assert _names(Patient.objects.for_clinic(cast.clinic).matching(typed)) == found


def test_results_stay_ordered_by_family_then_given_name(cast, compound) -> None:
    for name in ("Zeynep", "Ayla"):
        Patient.objects.create(clinic=cast.clinic, given_name=f"{name} Nur", family_name="Kaya",
                               birth_date=date(1990, 1, 1), sex="female")
    found = Patient.objects.for_clinic(cast.clinic).matching("nur")
    assert [p.full_name for p in found] == ["Ayla Nur Kaya", "Zeynep Nur Kaya", "Ayşe Nur Yılmaz"]


def test_second_words_never_cross_clinics(cast, compound) -> None:
    assert _names(Patient.objects.for_clinic(cast.sister).matching("nur")) == []
    assert _names(Patient.objects.for_clinic(cast.foreign).matching("berg")) == []


def test_searching_without_a_single_clinic_still_finds_every_word(cast, compound) -> None:
    make_sister = Patient.objects.create(clinic=cast.sister, given_name="Nur", family_name="Weber",
                                         birth_date=date(1970, 1, 1), sex="female")
    org_patients = Patient.objects.filter(clinic__organisation=cast.org)
    assert _names(org_patients.matching("nur")) == ["Ayşe Nur Yılmaz", make_sister.full_name]
    both = (Patient.objects.for_clinic(cast.clinic) | Patient.objects.for_clinic(cast.sister))
    assert _names(both.matching("nur")) == ["Ayşe Nur Yılmaz", "Nur Weber"]
    assert _names(both.matching("muller")) == ["Hans Müller-Lüdenscheidt", "Lena Müller"]


def _words(patient: Patient) -> list[str]:
    return sorted(PatientNameWord.objects.filter(patient=patient).values_list("word", flat=True))


def test_a_renamed_patient_is_found_by_the_new_words_only(cast, compound) -> None:
    patient = compound["nur"]
    patient.given_name = "Ayşe Su"
    patient.save(update_fields=["given_name"])
    clinic_patients = Patient.objects.for_clinic(cast.clinic)
    assert _names(clinic_patients.matching("nur")) == []
    assert _names(clinic_patients.matching("su")) == ["Ayşe Su Yılmaz"]
    assert _words(patient) == ["su"]


def test_saving_other_fields_leaves_the_words_alone(cast, compound) -> None:
    patient = compound["hans"]
    before = list(PatientNameWord.objects.filter(patient=patient).values_list("pk", flat=True))
    patient.phone = "030 1234567"
    patient.save(update_fields=["phone"])
    patient.email = "hans@example.org"
    patient.save()
    after = list(PatientNameWord.objects.filter(patient=patient).values_list("pk", flat=True))
    assert sorted(after) == sorted(before)


def test_registration_and_demographic_updates_keep_the_words(cast) -> None:
    actor = Actor(username="reception.demir", role="receptionist")
    patient = register_patient(
        clinic=cast.clinic, actor=actor,
        data={"given_name": "Elif Naz", "family_name": "Kaya", "birth_date": date(1995, 3, 3),
              "sex": "female", "phone": "0532 765 43 21"},
    )
    clinic_patients = Patient.objects.for_clinic(cast.clinic)
    assert _names(clinic_patients.matching("naz")) == ["Elif Naz Kaya"]
    update_demographics(patient=patient, data={"family_name": "de la Cruz"}, actor=actor)
    assert _names(clinic_patients.matching("cruz naz")) == ["Elif Naz de la Cruz"]
    assert _names(clinic_patients.matching("kaya")) == []
    assert _words(patient) == ["cruz", "la", "naz"]


def test_deleting_a_patient_deletes_the_words(cast, compound) -> None:
    patient = compound["pieter"]
    patient.delete()
    assert not PatientNameWord.objects.filter(word="berg").exists()


WORD = st.text(alphabet="abcçdegğhıijklmnoöprsştuüvyzäßéñø", min_size=1, max_size=12)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(WORD, min_size=1, max_size=3), st.lists(WORD, min_size=1, max_size=3),
       st.data())
def test_any_word_prefix_finds_the_patient(cast, given_words: list[str], family_words: list[str],
                                           data: st.DataObject) -> None:
    with transaction.atomic():
        patient = Patient.objects.create(
            clinic=cast.clinic, given_name=" ".join(given_words),
            family_name="-".join(family_words), birth_date=date(1960, 1, 1), sex="other")
        words = [*fold(patient.given_name).split(), *fold(patient.family_name).split()]
        assert _words(patient) == sorted(later_words(patient.given_key, patient.family_key))
        picked = data.draw(st.lists(st.sampled_from(words), min_size=1, max_size=3))
        typed = " ".join(w[: data.draw(st.integers(1, len(w)))].upper() for w in picked)
        found = Patient.objects.for_clinic(cast.clinic).matching(typed)
        assert patient.pk in {p.pk for p in found}
        assert all(p.pk == patient.pk or p.clinic_id == cast.clinic.pk for p in found)
        transaction.set_rollback(True)


def test_seed_writes_the_later_words_of_every_patient(db, monkeypatch) -> None:
    from mesoclinic.demo import loader
    from mesoclinic.patients.seed import synthetic_patients

    def compound(count: int, **kwargs: object) -> Iterator[object]:
        for n, person in enumerate(synthetic_patients(count, **kwargs)):  # type: ignore[arg-type]
            yield dataclasses.replace(person, given_name=f"{person.given_name} Nur",
                                      family_name=f"van der {person.family_name}") if n % 2 else person

    monkeypatch.setattr(loader, "synthetic_patients", compound)
    seed(patients=30, clinics=2, batch=7)
    seeded = Patient.objects.filter(clinic__organisation__name="Synthetic Clinics")
    assert seeded.count() == 30
    for n, patient in enumerate(seeded.order_by("pk")):
        expected = ["der", "nur", fold(patient.family_name).split()[-1]] if n % 2 else []
        assert _words(patient) == sorted(expected)
        assert set(PatientNameWord.objects.filter(patient=patient)
                   .values_list("clinic_id", flat=True)) <= {patient.clinic_id}
    # Patient n went to clinic n % 2: the fifteen odd ones, all named "… Nur", to the second.
    assert seeded.for_clinic(seeded.order_by("pk")[1].clinic).matching("nur").count() == 15


def test_the_backfill_migration_writes_words_in_batches_and_reverses(cast, compound,
                                                                     monkeypatch) -> None:
    migration = importlib.import_module(
        "mesoclinic.patients.migrations.0005_backfill_name_words")
    monkeypatch.setattr(migration, "BATCH", 2)
    expected = sorted(PatientNameWord.objects.values_list("patient_id", "clinic_id", "word"))
    editor = SimpleNamespace(connection=connection)
    migration.empty(apps, editor)
    assert not PatientNameWord.objects.exists()
    migration.backfill(apps, editor)
    assert sorted(PatientNameWord.objects.values_list("patient_id", "clinic_id", "word")) == expected
    assert len(expected) == 5  # nur, ludenscheidt, der, berg, lopez
    assert Clinic.objects.filter(pk=cast.clinic.pk).exists()


# --- phone numbers in either form -------------------------------------------------------------

@pytest.mark.parametrize(
    "typed",
    ["+90 212 555 66 77", "0090 212 555 66 77", "90 212 5556677", "+90 (212) 555-66-77",
     "0212 555 66 77", "555 66 77"],
)
def test_a_landline_stored_with_trunk_zero_is_found_in_international_form(cast, people,
                                                                          typed) -> None:
    assert _names(Patient.objects.for_clinic(cast.clinic).matching(typed)) == ["Işık Öztürk"]


@pytest.mark.parametrize("typed", ["0533 444 55 66", "533 444 55 66", "+90 533 444 55 66"])
def test_an_international_number_is_found_in_national_form(cast, people, typed) -> None:
    assert _names(Patient.objects.for_clinic(cast.clinic).matching(typed)) == ["Mehmet Şahinoğlu"]


def test_a_german_mobile_is_found_in_either_form(cast) -> None:
    # Lena Müller's number is stored as "+49 151 1234567".
    sister_patients = Patient.objects.for_clinic(cast.sister)
    assert _names(sister_patients.matching("0151 1234567")) == ["Lena Müller"]
    assert _names(sister_patients.matching("+49 151 123 45 67")) == ["Lena Müller"]


@pytest.mark.parametrize("typed", ["0000", "00 00 00", "+0 000 000"])
def test_a_number_of_only_zeros_finds_nobody(cast, people, typed) -> None:
    assert _names(Patient.objects.for_clinic(cast.clinic).matching(typed)) == []
