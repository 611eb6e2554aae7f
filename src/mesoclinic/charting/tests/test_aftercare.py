"""The aftercare sheet: its content by area and session, its language, the PDF, and the email."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from pypdf import PdfReader

import mesoclinic
from mesoclinic.accounts.models import Clinic, Organisation
from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting.aftercare import (
    AftercareRefused,
    AftercareSheet,
    build_sheet,
    partial_context,
    render_pdf,
    send_sheet,
    sheet_language,
)
from mesoclinic.kernel.tests.test_catalogues import read_po
from mesoclinic.knowledge.pack import KNOWN_FACTS, load_pack
from mesoclinic.knowledge.store import bundled_documents, pack_from_documents
from mesoclinic.messaging.models import OutboundMessage

PACK = load_pack()
CHARTING = Path(mesoclinic.__file__).resolve().parent / "charting"
SESSION_AT = datetime(2027, 1, 11, 7, 0, tzinfo=UTC)  # 10:00 in Istanbul
NEXT_AT = datetime(2027, 1, 18, 7, 30, tzinfo=UTC)
BODY_REGIONS = ["body", "neck", "hands", "arms", "abdomen", "flanks", "thighs", "buttocks", "back",
                "legs", "joints"]
SCALP_NO_WASH = "Do not wash your hair or wet your scalp for 10 to 15 hours after the session."
TURKISH = {  # words a translator might give; the catalogues themselves are the lead's to fill
    "Looking after your skin after mesotherapy": "Mezoterapiden sonra cildinizin bakımı",
    "Do not wash your hair or wet your scalp for %(min)s to %(max)s hours after the session.":
        "Seanstan sonra %(min)s ila %(max)s saat saçınızı yıkamayın, saçlı derinizi ıslatmayın.",
    "%(clinic)s: your aftercare instructions": "%(clinic)s: bakım talimatlarınız",
}


def sheet(**changes: Any) -> AftercareSheet:
    values: dict[str, Any] = {
        "areas": ["face"], "ingredients": ["hyaluronic_acid"], "uses_anaesthetic_cream": False,
        "delivery": "needle", "session_number": 2, "sessions_total": 6, "next_session_at": None,
        "language": "en-gb", "pack": PACK}
    values.update(changes)
    return build_sheet(**values)


def codes(s: AftercareSheet) -> list[str]:
    return [i.code for i in s.items()]


def section(s: AftercareSheet, code: str) -> list[str]:
    [found] = [x for x in s.all_sections() if x.code == code]
    return [i.text for i in found.items]


def sections(s: AftercareSheet) -> list[str]:
    return [x.code for x in s.sections]


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages).split())


# Every sheet: the care of any treated skin, the usual course, the signs that cannot wait.

@pytest.mark.parametrize("areas", [["face"], ["periorbital"], ["scalp"], ["thighs"],
                                   ["face", "neck"]])
def test_every_sheet_has_the_general_care_the_course_and_the_call_now_signs(areas) -> None:
    s = sheet(areas=areas)
    assert s.sections[0].code == "care"
    assert {"cold_compress", "no_scratching", "vitamin_k_massage", "follow_instructions"} <= {
        i.code for i in s.sections[0].items}
    care = " ".join(section(s, "care"))
    assert "ice pack wrapped in a clean cloth" in care
    assert "cold chamomile tea" in care
    assert "do not scratch" in care
    assert "vitamin K cream" in care
    assert "your doctor's instructions apply" in care

    expected = " ".join(section(s, "expected"))
    assert "small red dots where the needle went in are normal" in expected
    assert "usually fade within 24 to 48 hours" in expected
    assert "ache a little" in expected
    assert "Small bruises" in expected
    assert "itchy" in expected

    assert s.call_now.heading == "Call the clinic now if you notice"
    signs = " ".join(section(s, "call_now"))
    for words in ("redness that spreads", "feels hot", "pus", "a fever", "severe", "gets worse",
                  "A rash", "Trouble breathing", "emergency services (112)",
                  "Bleeding from the injection points that does not stop"):
        assert words in signs


def test_a_face_sheet_says_no_make_up_no_sun_and_keep_it_dry() -> None:
    s = sheet(areas=["face"])
    assert sections(s) == ["care", "face", "series", "next"]
    assert section(s, "face") == [
        "Wait a few days before putting make-up or other cosmetics on the treated skin."]
    care = " ".join(section(s, "care"))
    assert "Keep water off the treated skin for 10 to 15 hours after the session" in care
    assert "out of strong sun and stay away from sunbeds and solariums" in care
    assert "periorbital_longer" not in codes(s)
    assert "Around the eyes" not in " ".join(s.texts())


def test_around_the_eyes_the_recovery_is_longer() -> None:
    s = sheet(areas=["face", "periorbital"])
    assert sections(s) == ["care", "face", "periorbital", "series", "next"]
    eyes = " ".join(section(s, "periorbital"))
    assert "take longer to fade than elsewhere" in eyes
    assert "beyond the usual one to two days" in eyes
    assert "Do not rub your eyes" in eyes
    assert "Leave eye make-up off" in eyes
    assert "Around the eyes, swelling and marks can last longer than that." in section(s, "expected")
    # "periorbital" alone is still the face: no make-up either.
    assert sections(sheet(areas=["periorbital"])) == ["care", "face", "periorbital", "series", "next"]


def test_a_scalp_sheet_says_no_washing_for_10_to_15_hours() -> None:
    s = sheet(areas=["scalp"])
    assert sections(s) == ["care", "scalp", "series", "next"]
    hair = section(s, "scalp")
    assert hair[0] == SCALP_NO_WASH
    assert "hair dye" in hair[1]
    assert "styling products" in hair[1]
    assert "loose-fitting hat" in hair[2]
    assert "full effect after about six months" in hair[3]
    assert [i.fact for i in s.sections[1].items] == ["F-AFTERCARE", "F-AFTERCARE", "F-AFTERCARE",
                                                     "F-HAIR"]
    # The skin-wide line gives way to the hair's own; no make-up advice on a scalp.
    assert "Keep water off the treated skin" not in " ".join(s.texts())
    assert "make-up" not in " ".join(s.texts())


@pytest.mark.parametrize("region", BODY_REGIONS)
def test_a_body_region_sheet_says_loose_clothes_and_no_straining_for_48_hours(region) -> None:
    s = sheet(areas=[region])
    assert sections(s) == ["care", "body", "series", "next"]
    assert section(s, "body") == [
        "Wear loose, soft clothing over the treated area; avoid anything tight that presses or "
        "rubs on it.",
        "For 48 hours, avoid hard effort that strains the treated area, such as weight training "
        "or a long run."]
    assert "Keep water off the treated skin for 10 to 15 hours" in " ".join(section(s, "care"))
    assert "make-up" not in " ".join(s.texts())


def test_several_areas_get_each_their_own_section_once() -> None:
    s = sheet(areas=["scalp", "face", "abdomen", "thighs", "face"])
    assert s.areas == ("scalp", "face", "abdomen", "thighs")
    assert sections(s) == ["care", "face", "scalp", "body", "series", "next"]


@pytest.mark.parametrize(("cream", "ingredients", "numb"), [
    (True, ["hyaluronic_acid"], True),
    (False, ["hyaluronic_acid", "lidocaine"], True),  # a local anaesthetic in the solution
    (False, ["hyaluronic_acid", "vitamin_c"], False),
])
def test_an_anaesthetic_adds_the_numbness_line(cream, ingredients, numb) -> None:
    s = sheet(uses_anaesthetic_cream=cream, ingredients=ingredients)
    lines = [i for i in s.items() if i.code == "numbness"]
    assert len(lines) == (1 if numb else 0)
    if numb:
        assert lines[0].fact == "F-ANAESTHESIA"
        assert "numb for a few hours" in lines[0].text
        assert "keep heat away" in lines[0].text


def test_needle_free_delivery_expects_no_needle_marks_but_a_clean_area() -> None:
    s = sheet(delivery="needle_free")
    assert "needle went in" not in " ".join(s.texts())
    assert "The needle-free device leaves no needle marks." in section(s, "expected")[0]
    assert "24 to 48 hours" in section(s, "expected")[0]
    [clean] = [i for i in s.items() if i.code == "needle_free_clean"]
    assert "keep it clean" in clean.text
    assert clean.fact == "F-TECHNIQUE"
    assert "needle_free_clean" not in codes(sheet(delivery="needle"))


def test_more_sessions_to_come_bring_the_lifestyle_advice() -> None:
    s = sheet(session_number=2, sessions_total=6, uses_anaesthetic_cream=True)
    assert sections(s) == ["care", "face", "series", "next"]
    assert section(s, "series")[0] == "This was session 2 of 6."
    [until] = [x for x in s.sections if x.code == "next"]
    assert until.heading == "Until your next session"
    assert [(i.code, i.fact) for i in until.items] == [
        ("avoid_high_protein", "F-LIFESTYLE"), ("avoid_caffeine", "F-LIFESTYLE"),
        ("avoid_alcohol", "F-LIFESTYLE"), ("avoid_smoking", "F-LIFESTYLE"),
        ("exercise", "F-LIFESTYLE"), ("massage", "F-LIFESTYLE"), ("stop_nsaids", "F-NSAID"),
        ("numbing_cream", "F-ANAESTHESIA")]
    assert "30 to 50 minutes, two or three times a week" in until.items[4].text
    assert "From 7 days before your next session" in until.items[6].text
    # Without the cream, nothing about it.
    assert "numbing_cream" not in codes(sheet(session_number=2, sessions_total=6))


def test_the_last_session_ends_the_series_without_lifestyle_advice() -> None:
    s = sheet(session_number=6, sessions_total=6)
    assert sections(s) == ["care", "face", "series"]
    assert section(s, "series") == [
        "This was session 6 of 6, the last of your series.",
        "Your doctor will tell you whether and when to come back for a check-up."]


def test_a_booked_next_session_is_shown_even_without_a_count() -> None:
    s = sheet(session_number=None, sessions_total=None, next_session_at=NEXT_AT)
    assert sections(s) == ["care", "face", "series", "next"]
    assert s.next_session_at == NEXT_AT
    assert s.next_session_label == "Your next session"
    assert section(s, "series") == ["Your doctor may ask you to come for a check-up between "
                                    "sessions; please keep those appointments."]
    assert sections(sheet(session_number=None, sessions_total=None)) == ["care", "face"]
    assert section(sheet(session_number=3, sessions_total=None), "series")[0] == (
        "This was session 3 of your treatment.")


def test_reading_order_puts_the_course_before_the_series() -> None:
    s = sheet(areas=["scalp"], session_number=1, sessions_total=10)
    assert [x.code for x in s.reading_order] == ["care", "scalp", "expected", "series", "next"]


SHEETS: list[dict[str, Any]] = [
    {"areas": ["face", "periorbital", "scalp", "abdomen"], "uses_anaesthetic_cream": True},
    {"areas": ["legs"], "delivery": "needle_free", "session_number": 6, "sessions_total": 6},
    {"areas": ["scalp"], "session_number": 3, "sessions_total": None},
    {"areas": ["neck"], "session_number": None, "sessions_total": None, "next_session_at": NEXT_AT},
]


@pytest.mark.parametrize("changes", SHEETS)
def test_every_item_carries_the_fact_it_comes_from(changes) -> None:
    s = sheet(**changes)
    items = list(s.items())
    assert items
    assert all(x.items for x in s.all_sections())
    assert [i.code for i in items if i.fact not in KNOWN_FACTS] == []
    assert len({(x.code, i.code) for x in s.all_sections() for i in x.items}) == len(items)


def test_the_pack_is_the_source_list_with_its_durations() -> None:
    """The medical director's edits carry over: a duration changed, an instruction removed, a
    new one added (printed in the pack's own words)."""
    documents = bundled_documents()
    aftercare = documents["aftercare.yaml"]
    aftercare = aftercare.replace("hours: {min: 10, max: 15}", "hours: {min: 12, max: 18}")
    aftercare = re.sub(r"  - \{code: vitamin_k_massage.*\n.*\n", "", aftercare)
    aftercare += ('  - {code: no_sauna, when: after, hours: null, fact: F-AFTERCARE,\n'
                  '     text: "No sauna or steam bath for two days."}\n')
    pack = pack_from_documents({**documents, "aftercare.yaml": aftercare})

    s = sheet(areas=["scalp", "face"], pack=pack)
    assert "Do not wash your hair or wet your scalp for 12 to 18 hours after the session." in s.texts()
    assert "Keep water off the treated skin for 12 to 18 hours" in " ".join(s.texts())
    assert "vitamin_k_massage" not in codes(s)
    [sauna] = [i for i in s.items() if i.code == "no_sauna"]
    assert (sauna.text, sauna.fact) == ("No sauna or steam bath for two days.", "F-AFTERCARE")
    assert s.pack_version == pack.version


# Language: the patient's where the product has it, English otherwise.

@pytest.mark.parametrize(("asked", "given"), [
    ("tr", "tr"), ("de", "de"), ("en-gb", "en-gb"), ("en", "en-gb"), ("tr-TR", "tr"),
    ("de_AT", "de"), ("fr", "en-gb"), ("", "en-gb"), ("klingon-x", "en-gb"),
])
def test_the_sheet_is_in_the_patients_language_or_english(asked, given) -> None:
    assert sheet_language(asked) == given
    assert sheet(language=asked).language == given


def test_a_language_the_product_lacks_gets_the_english_sheet() -> None:
    assert sheet(language="fr").texts() == sheet(language="en-gb").texts()


def test_the_page_language_does_not_leak_into_the_sheet() -> None:
    with translation.override("de"):
        s = sheet(language="en-gb")
        assert translation.get_language() == "de"
    assert s.title == "Looking after your skin after mesotherapy"


@pytest.fixture
def turkish_words(tmp_path: Path, settings: Any, monkeypatch: Any) -> None:
    """A Turkish catalogue holding a few of the sheet's and the email's words, compiled by
    compilemessages and put in front of the project's own."""
    if shutil.which("msgfmt") is None:
        pytest.skip("needs GNU gettext (msgfmt)")
    directory = tmp_path / "extra" / "tr" / "LC_MESSAGES"
    directory.mkdir(parents=True)
    entries = "".join(f"\n#, python-format\nmsgid {json.dumps(k, ensure_ascii=False)}\n"
                      f"msgstr {json.dumps(v, ensure_ascii=False)}\n" for k, v in TURKISH.items())
    (directory / "django.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n' + entries, encoding="utf-8")
    original = list(settings.LOCALE_PATHS)
    monkeypatch.chdir(tmp_path)
    settings.LOCALE_PATHS = [tmp_path / "extra"]
    call_command("compilemessages", locale=["tr"], verbosity=0)
    settings.LOCALE_PATHS = [tmp_path / "extra", *original]  # resets Django's loaded catalogues


def test_a_turkish_catalogue_turns_the_sheet_turkish(turkish_words) -> None:
    tr = sheet(areas=["scalp"], language="tr")
    assert tr.title == "Mezoterapiden sonra cildinizin bakımı"
    assert section(tr, "scalp")[0] == (
        "Seanstan sonra 10 ila 15 saat saçınızı yıkamayın, saçlı derinizi ıslatmayın.")
    en = sheet(areas=["scalp"], language="en-gb")
    assert en.title == "Looking after your skin after mesotherapy"
    assert section(en, "scalp")[0] == SCALP_NO_WASH


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext)")
def test_every_text_of_the_sheet_is_a_message_makemessages_extracts(tmp_path, settings,
                                                                     monkeypatch) -> None:
    copy = tmp_path / "src"
    (copy / "templates" / "charting").mkdir(parents=True)
    shutil.copy(CHARTING / "aftercare.py", copy / "aftercare.py")
    for name in ("aftercare_sheet.html", "aftercare_pdf.html"):
        shutil.copy(CHARTING / "templates" / "charting" / name, copy / "templates" / "charting" / name)
    (copy / "locale").mkdir()
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["tr"], verbosity=0)
    fresh = read_po(copy / "locale" / "tr" / "LC_MESSAGES" / "django.po")
    msgids = {m for e in fresh for m in (e.msgid, e.msgid_plural) if m}

    def pattern(msgid: str) -> re.Pattern[str]:
        return re.compile("".join(r".+?" if re.fullmatch(r"%\(\w+\)[sd]", part) else re.escape(part)
                                  for part in re.split(r"(%\(\w+\)[sd])", msgid)))

    patterns = [pattern(m) for m in msgids]
    texts = {t for changes in [{}, *SHEETS, {"session_number": 6, "sessions_total": 6},
                               {"areas": ["scalp"], "next_session_at": NEXT_AT}]
             for t in sheet(**changes).texts()}
    assert len(texts) > 50
    assert sorted(t for t in texts if not any(p.fullmatch(t) for p in patterns)) == []
    # And the printed labels and the file name are messages too.
    assert {"Patient", "Session", "Treated by", "aftercare"} <= msgids


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"areas": []}, "areas", "Name at least one treated area."),
    ({"areas": "face"}, "areas", "Name at least one treated area."),
    ({"areas": ["face", "elbow"]}, "areas", "Unknown area 'elbow'; known are abdomen, arms,"),
    ({"ingredients": ["unobtainium"]}, "ingredients", "Unknown ingredient 'unobtainium'."),
    ({"ingredients": "lidocaine"}, "ingredients", "Give a list of ingredient codes."),
    ({"delivery": "laser"}, "delivery", "Unknown delivery 'laser'; known are needle, needle_free."),
    ({"session_number": 0}, "session_number", "at least 1"),
    ({"sessions_total": -2}, "sessions_total", "at least 1"),
    ({"session_number": 7, "sessions_total": 6}, "session_number", "Session 7 of 6 does not exist."),
    ({"next_session_at": datetime(2027, 1, 18, 10, 0)}, "next_session_at",  # noqa: DTZ001
     "with its time zone"),
])
def test_bad_input_is_refused_naming_the_field(changes, field, words) -> None:
    with pytest.raises(AftercareRefused) as refused:
        sheet(**changes)
    assert refused.value.field == field
    assert words in refused.value.message


def test_the_sheet_is_kept_as_json_and_read_back_as_it_was() -> None:
    s = sheet(areas=["scalp", "periorbital"], next_session_at=NEXT_AT, uses_anaesthetic_cream=True)
    kept = json.loads(json.dumps(s.as_json()))
    assert AftercareSheet.from_json(kept) == s
    assert kept["call_now"]["items"][0] == {
        "code": "infection", "fact": "F-SIDE-EFFECTS", "text": section(s, "call_now")[0]}


def test_the_contact_line_is_filled_with_the_clinic_when_printed() -> None:
    s = sheet()
    assert s.contact_line("Nişantaşı", " +90 212  555 01 01 ") == (
        "Call Nişantaşı now on +90 212 555 01 01. Do not wait for your next appointment.")
    assert s.contact_line("Nişantaşı", "") == (
        "Call Nişantaşı now. Do not wait for your next appointment.")


# The printed sheet and the page's partial.

def _pdf(s: AftercareSheet, **changes: Any) -> bytes:
    values: dict[str, Any] = {
        "clinic_name": "Nişantaşı Klinik", "clinic_phone": "+90 212 555 01 01",
        "patient_name": "Ayşe Işıklı-Yılmaz", "performer_name": "Dr. Deniz Kaya",
        "session_at": SESSION_AT, "timezone": "Europe/Istanbul"}
    values.update(changes)
    return render_pdf(s, **values)


def test_the_pdf_is_a_real_a4_pdf_with_the_patient_the_area_line_and_the_call_now_box() -> None:
    pdf = _pdf(sheet(areas=["scalp"], next_session_at=NEXT_AT))
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    text = pdf_text(pdf)
    assert text.startswith("Nişantaşı Klinik")
    assert "Ayşe Işıklı-Yılmaz" in text
    assert "Dr. Deniz Kaya" in text
    assert SCALP_NO_WASH in text
    assert "Call the clinic now if you notice" in text
    assert "Call Nişantaşı Klinik now on +90 212 555 01 01." in text
    assert "Signs of infection: redness that spreads" in text
    # The session at 07:00 UTC, shown in the clinic's zone.
    assert "Session 11 Jan 2027, 10 a.m. GMT+3" in text
    assert "Your next session 18 Jan 2027, 10:30 a.m. GMT+3" in text
    # The call-now box comes before the care instructions, on the first page.
    first = " ".join(reader.pages[0].extract_text().split())
    assert first.index("Call the clinic now") < first.index("Caring for the treated area")


def test_the_pdf_dates_are_in_the_sheets_language() -> None:
    text = pdf_text(_pdf(sheet(language="tr")))
    assert "Hasta Ayşe Işıklı-Yılmaz" in text  # the label from the Turkish catalogue
    assert "11 Ocak 2027 10:00 GMT+3" in text
    text = pdf_text(_pdf(sheet(language="de"), timezone="Europe/Berlin"))
    assert "11. Januar 2027 08:00 CET" in text


@pytest.mark.parametrize(("changes", "field"), [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"session_at": datetime(2027, 1, 11, 10, 0)}, "session_at"),  # noqa: DTZ001
])
def test_the_pdf_refuses_a_time_it_cannot_place(changes, field) -> None:
    with pytest.raises(AftercareRefused) as refused:
        _pdf(sheet(), **changes)
    assert refused.value.field == field


def test_the_partial_shows_the_sheet_in_its_own_language_on_any_page() -> None:
    s = sheet(areas=["scalp"], next_session_at=NEXT_AT)
    with translation.override("tr"):  # the staff member reads Turkish pages
        html = render_to_string("charting/aftercare_sheet.html",
                                partial_context(s, clinic_name="Nişantaşı", clinic_phone="+90 212 555"))
    assert 'lang="en-gb"' in html
    assert f"<h2 id=\"h-aftercare\">{s.title}</h2>" in html
    assert '<div class="notice notice-danger aftercare-call-now"' in html
    assert "Call Nişantaşı now on +90 212 555." in html
    assert f'<li data-fact="F-AFTERCARE">{SCALP_NO_WASH}</li>' in html
    assert "18 Jan 2027" in html  # not "Ocak"
    assert html.index("What to expect") < html.index("Your treatment series")


# The email, through the outbox and the real worker.

@pytest.fixture
def clinic(db: None) -> Clinic:
    org = Organisation.objects.create(name="Test Group")
    return Clinic.objects.create(organisation=org, name="Nişantaşı", timezone="Europe/Istanbul")


def _send(clinic: Clinic, s: AftercareSheet, **changes: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "clinic": clinic, "ref": "session:0b8e0c47-3f7e-4a55-8f59-6a4d7e1d2c10",
        "to_email": "ayse@example.org", "sheet": s, "pdf": b"%PDF-1.7 stand-in",
        "patient_name": "Ayşe Yılmaz",
        "clinic_name": "Nişantaşı", "language": s.language, "clinic_phone": "+90 212 555 01 01",
        "patient_id": "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"}
    values.update(changes)
    return send_sheet(**values)


@pytest.mark.django_db(transaction=True)
def test_the_sheet_is_emailed_with_its_pdf_by_the_worker(clinic, mailoutbox) -> None:
    pdf = _pdf(sheet(areas=["scalp"]))
    with transaction.atomic():  # the lead's action: the message is queued when it commits
        message = _send(clinic, sheet(areas=["scalp"]), pdf=pdf)
    assert mailoutbox == []

    call_command("worker", "--once", stdout=StringIO())
    [email] = mailoutbox
    assert email.to == ["ayse@example.org"]
    assert email.subject == "Nişantaşı: your aftercare instructions"
    assert email.extra_headers["Content-Language"] == "en-gb"
    assert "Attached is your aftercare sheet from Nişantaşı." in email.body
    assert "call us now on +90 212 555 01 01" in email.body
    [(name, content, mimetype)] = [tuple(a) for a in email.attachments]
    assert (name, mimetype) == ("aftercare.pdf", "application/pdf")
    assert content.startswith(b"%PDF-")
    assert content == pdf
    assert SCALP_NO_WASH in pdf_text(content)

    message.refresh_from_db()
    assert (message.status, message.kind, message.recipient) == (
        "sent", "aftercare_sheet", "ayse@example.org")
    assert default_storage.exists(message.attachment.name)
    event = AuditEvent.objects.get(object_type="message", object_id=str(message.public_id))
    assert (event.patient_id, event.changes) == ("6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b",
                                                 {"status": "sent"})


@pytest.mark.django_db(transaction=True)
def test_a_turkish_patient_gets_the_subject_in_turkish(clinic, mailoutbox, turkish_words) -> None:
    s = sheet(areas=["scalp"], language="tr")
    with transaction.atomic():
        _send(clinic, s, pdf=_pdf(s), language="tr")
    call_command("worker", "--once", stdout=StringIO())
    [email] = mailoutbox
    assert email.subject == "Nişantaşı: bakım talimatlarınız"
    assert email.extra_headers["Content-Language"] == "tr"
    assert "Seanstan sonra 10 ila 15 saat saçınızı yıkamayın" in pdf_text(email.attachments[0][1])


@pytest.mark.parametrize(("changes", "field"), [
    ({"to_email": "not an address"}, "to_email"),
    ({"to_email": ""}, "to_email"),
    ({"pdf": b"<html>not a pdf</html>"}, "pdf"),
    ({"pdf": b""}, "pdf"),
    ({"ref": ""}, "ref"),
    ({"ref": "x" * 101}, "ref"),
])
def test_an_email_that_could_not_go_is_refused_naming_the_field(clinic, changes, field) -> None:
    with pytest.raises(AftercareRefused) as refused:
        _send(clinic, sheet(), **changes)
    assert refused.value.field == field
    assert not OutboundMessage.objects.exists()
