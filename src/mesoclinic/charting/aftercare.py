"""The aftercare sheet of one treatment session: what to do, what to expect, when to call.

`build_sheet` composes it for the session's areas, solution, anaesthesia and delivery from the
knowledge pack's aftercare entries (their fact ids and durations, so the medical director's edits
carry over) and the clinical facts F-AFTERCARE, F-SIDE-EFFECTS, F-LIFESTYLE, F-OUTPATIENT and
F-HAIR. Every text is ours, goes through gettext and is built under the patient's language, so
the sheet reads in that language wherever the catalogue has it (English otherwise). The sheet is
plain data: kept as JSON with the session (`as_json` / `from_json`), shown on the session page
(templates/charting/aftercare_sheet.html), printed as a PDF (`render_pdf`) and emailed through
the outbox (`send_sheet`).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone as django_timezone
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from mesoclinic.accounts.models import Clinic
from mesoclinic.knowledge.pack import AftercareItem, KnowledgePack, Range
from mesoclinic.messaging import outbox
from mesoclinic.messaging.models import OutboundMessage

# The charting sub-area around the eyes: part of the face, with a longer recovery (F-SIDE-EFFECTS).
PERIORBITAL = "periorbital"
NEEDLE_FREE = "needle_free"
# Defaults where the pack gives no duration: the brief's own figures.
KEEP_DRY_HOURS = Range(10, 15)  # F-AFTERCARE
REST_HOURS = Range(48, 48)  # F-AFTERCARE
SWELLING_HOURS = Range(24, 48)  # F-SIDE-EFFECTS
# The pack's aftercare entries this module words itself; any other "after" entry the medical
# director adds is printed in the pack's own words, so no instruction of the pack is dropped.
WORDED: frozenset[str] = frozenset({
    "keep_dry", "cold_compress", "no_scratching", "loose_clothing", "rest_area", "no_makeup",
    "no_sun", "vitamin_k_massage", "follow_instructions", "report_infection",
    "avoid_high_protein", "avoid_caffeine", "avoid_alcohol", "avoid_smoking", "exercise", "massage",
    "stop_nsaids", "numbing_cream",
})
SCHEMA = 1
SERIES_SECTIONS = frozenset({"series", "next"})


class AftercareRefused(Exception):
    """The sheet cannot be made or sent; `field` names what is wrong (nothing was saved)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Item:
    """One instruction or sign, with the fact it comes from."""

    code: str
    text: str
    fact: str


@dataclass(frozen=True)
class Section:
    code: str
    heading: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class AftercareSheet:
    """The sheet for one session, every text already in `language`."""

    language: str
    title: str
    intro: str
    areas: tuple[str, ...]
    sections: tuple[Section, ...]  # what to do, general first, then by area, then the series
    expected: Section  # the usual course of the next days
    call_now: Section  # the signs that mean "call the clinic now"
    # "%(clinic)s … %(phone)s": filled with the clinic's name and number when printed.
    contact: str
    contact_without_phone: str
    next_session_label: str
    next_session_at: datetime | None
    pack_version: str

    def contact_line(self, clinic_name: str, clinic_phone: str) -> str:
        """The call-us line with the clinic's name and number (without a number when it has none)."""
        phone = " ".join(clinic_phone.split())
        if phone:
            return self.contact % {"clinic": clinic_name, "phone": phone}
        return self.contact_without_phone % {"clinic": clinic_name}

    def all_sections(self) -> tuple[Section, ...]:
        return (*self.sections, self.expected, self.call_now)

    @property
    def reading_order(self) -> tuple[Section, ...]:
        """The sections as printed: care and the areas, the expected course, then the series
        (the call-now signs stand apart, in their own box)."""
        series = tuple(s for s in self.sections if s.code in SERIES_SECTIONS)
        rest = tuple(s for s in self.sections if s.code not in SERIES_SECTIONS)
        return (*rest, self.expected, *series)

    def items(self) -> Iterator[Item]:
        for section in self.all_sections():
            yield from section.items

    def texts(self) -> list[str]:
        """Every text of the sheet (the contact lines with their placeholders)."""
        return [self.title, self.intro, *(s.heading for s in self.all_sections()),
                *(i.text for i in self.items()), self.contact, self.contact_without_phone,
                self.next_session_label]

    def as_json(self) -> dict[str, Any]:
        """The sheet as JSON-ready data, to keep with the session exactly as it was given."""
        def section(s: Section) -> dict[str, Any]:
            return {"code": s.code, "heading": s.heading,
                    "items": [{"code": i.code, "text": i.text, "fact": i.fact} for i in s.items]}

        return {
            "schema": SCHEMA, "language": self.language, "title": self.title, "intro": self.intro,
            "areas": list(self.areas), "sections": [section(s) for s in self.sections],
            "expected": section(self.expected), "call_now": section(self.call_now),
            "contact": self.contact, "contact_without_phone": self.contact_without_phone,
            "next_session_label": self.next_session_label,
            "next_session_at": self.next_session_at.isoformat() if self.next_session_at else None,
            "pack_version": self.pack_version,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AftercareSheet:
        """The sheet kept by `as_json`, as it was (never rebuilt in today's words)."""
        def section(s: Mapping[str, Any]) -> Section:
            return Section(code=s["code"], heading=s["heading"], items=tuple(
                Item(code=i["code"], text=i["text"], fact=i["fact"]) for i in s["items"]))

        at = data.get("next_session_at")
        return cls(
            language=data["language"], title=data["title"], intro=data["intro"],
            areas=tuple(data["areas"]), sections=tuple(section(s) for s in data["sections"]),
            expected=section(data["expected"]), call_now=section(data["call_now"]),
            contact=data["contact"], contact_without_phone=data["contact_without_phone"],
            next_session_label=data["next_session_label"],
            next_session_at=datetime.fromisoformat(at) if at else None,
            pack_version=data.get("pack_version", ""),
        )


def sheet_language(language: str) -> str:
    """The patient's language where the product has it ("en" → "en-gb", "tr-TR" → "tr"),
    else the default (English)."""
    known = [code for code, _name in settings.LANGUAGES]
    wanted = (language or "").strip().lower().replace("_", "-")
    if wanted in known:
        return wanted
    generic = wanted.split("-")[0]
    for code in known:
        if code == generic or code.split("-")[0] == generic:
            return code
    return str(settings.LANGUAGE_CODE)


def _pack() -> KnowledgePack:
    from mesoclinic.knowledge.store import active_pack

    return active_pack()


def build_sheet(
    *,
    areas: Sequence[str],
    ingredients: Sequence[str],
    uses_anaesthetic_cream: bool,
    delivery: str,
    session_number: int | None,
    sessions_total: int | None,
    next_session_at: datetime | None,
    language: str,
    pack: KnowledgePack | None = None,
) -> AftercareSheet:
    """The aftercare sheet for one session, in the patient's language (English as fallback).

    `areas` are the pack's area codes, plus "periorbital" where points were placed near the eyes;
    `pack` defaults to the pack in force. Bad input raises AftercareRefused naming the field.
    """
    pack = pack or _pack()
    area_codes = _check_areas(areas, pack)
    anaesthetic_in_solution = _check_ingredients(ingredients, pack)
    if delivery not in pack.deliveries:
        raise AftercareRefused("delivery", _("Unknown delivery %(code)s; known are %(known)s.") % {
            "code": repr(delivery), "known": ", ".join(sorted(pack.deliveries))})
    _check_series(session_number, sessions_total, next_session_at)
    lang = sheet_language(language)
    with translation.override(lang):
        return _compose(
            pack=pack, language=lang, areas=area_codes,
            numb=uses_anaesthetic_cream or anaesthetic_in_solution,
            cream=uses_anaesthetic_cream, needle_free=delivery == NEEDLE_FREE,
            number=session_number, total=sessions_total, next_at=next_session_at)


def _check_areas(areas: Sequence[str], pack: KnowledgePack) -> tuple[str, ...]:
    if isinstance(areas, str) or not areas:
        raise AftercareRefused("areas", _("Name at least one treated area."))
    codes: list[str] = []
    for code in areas:
        if code != PERIORBITAL and code not in pack.areas:
            raise AftercareRefused("areas", _("Unknown area %(code)s; known are %(known)s.") % {
                "code": repr(code), "known": ", ".join(sorted([*pack.areas, PERIORBITAL]))})
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _check_ingredients(ingredients: Sequence[str], pack: KnowledgePack) -> bool:
    """Whether the solution holds a local anaesthetic (F-ANAESTHESIA)."""
    if isinstance(ingredients, str):
        raise AftercareRefused("ingredients", _("Give a list of ingredient codes."))
    anaesthetic = False
    for code in ingredients:
        ingredient = pack.ingredients.get(code)
        if ingredient is None:
            raise AftercareRefused("ingredients", _("Unknown ingredient %(code)s.") % {
                "code": repr(code)})
        anaesthetic = anaesthetic or "local_anaesthetic" in ingredient.classes
    return anaesthetic


def _check_series(number: int | None, total: int | None, next_at: datetime | None) -> None:
    for name, value in (("session_number", number), ("sessions_total", total)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise AftercareRefused(name, _("Must be a whole number of at least 1."))
    if number is not None and total is not None and number > total:
        raise AftercareRefused("session_number", _("Session %(number)s of %(total)s does not exist.")
                               % {"number": number, "total": total})
    if next_at is not None and (not isinstance(next_at, datetime) or django_timezone.is_naive(next_at)):
        raise AftercareRefused("next_session_at", _("Needs a date and time with its time zone."))


def _hours(entry: AftercareItem | None, default: Range) -> Range:
    return entry.hours if entry is not None and entry.hours is not None else default


def _compose(*, pack: KnowledgePack, language: str, areas: tuple[str, ...], numb: bool,
             cream: bool, needle_free: bool, number: int | None, total: int | None,
             next_at: datetime | None) -> AftercareSheet:
    entries = pack.aftercare
    top = {pack.areas[a].top_level if a in pack.areas else "face" for a in areas}
    face, scalp, body = "face" in top, "scalp" in top, "body" in top
    eyes = PERIORBITAL in areas
    follows = next_at is not None or (number is not None and total is not None and number < total)
    dry = _hours(entries.get("keep_dry"), KEEP_DRY_HOURS)

    def item(code: str, text: str, fact: str) -> Item:
        return Item(code=code, text=text, fact=entries[code].fact if code in entries else fact)

    def wanted(code: str) -> bool:
        # The pack is the source list: an instruction its medical director removed is left out.
        return code in entries

    care: list[Item] = [
        Item("outpatient", _("You can go home and carry on with your day. The treated skin does "
                             "not usually need a dressing."), "F-OUTPATIENT"),
    ]
    if wanted("keep_dry") and (face or body):
        care.append(item("keep_dry", _(
            "Keep water off the treated skin for %(min)s to %(max)s hours after the session: do "
            "not wash it, shower on it, bathe or swim.") % {"min": dry.min, "max": dry.max},
            "F-AFTERCARE"))
    if needle_free:
        care.append(Item("needle_free_clean", _(
            "The needle-free device leaves no needle marks, but the skin has still been treated: "
            "keep it clean and touch it only with washed hands for the rest of the day."),
            "F-TECHNIQUE"))
    if wanted("cold_compress"):
        care.append(item("cold_compress", _(
            "If the area feels warm or puffy, cool it for a few minutes at a time with an ice pack "
            "wrapped in a clean cloth, or a compress soaked in cold chamomile tea. Never put ice "
            "straight on the skin."), "F-AFTERCARE"))
    if wanted("no_scratching"):
        care.append(item("no_scratching", _(
            "Leave the treated skin alone: do not scratch, rub or pick at it, even when it "
            "itches."), "F-AFTERCARE"))
    if wanted("no_sun"):
        care.append(item("no_sun", _(
            "For a while, keep the treated skin out of strong sun and stay away from sunbeds and "
            "solariums."), "F-AFTERCARE"))
    if wanted("vitamin_k_massage"):
        care.append(item("vitamin_k_massage", _(
            "If there is swelling or a bruise, gently massaging in a vitamin K cream can help it "
            "settle."), "F-AFTERCARE"))
    if numb:
        care.append(Item("numbness", _(
            "The anaesthetic used today can leave the skin numb for a few hours. Until the "
            "feeling comes back, keep heat away from the area (no hot-water bottle, hot shower, "
            "sauna or hairdryer on it): you might not notice a burn."), "F-ANAESTHESIA"))
    care += [Item(e.code, e.text, e.fact) for e in entries.values()
             if e.when == "after" and e.code not in WORDED]
    if wanted("follow_instructions"):
        care.append(item("follow_instructions", _(
            "Follow any instructions your doctor gave you today; where they differ from this "
            "sheet, your doctor's instructions apply."), "F-AFTERCARE"))
    sections = [Section("care", _("Caring for the treated area"), tuple(care))]

    if face and wanted("no_makeup"):
        sections.append(Section("face", _("Your face"), (item("no_makeup", _(
            "Wait a few days before putting make-up or other cosmetics on the treated skin."),
            "F-AFTERCARE"),)))
    if eyes:
        sections.append(Section("periorbital", _("Around your eyes"), (
            Item("periorbital_longer", _(
                "The skin around the eyes is thin, so swelling and small marks there often take "
                "longer to fade than elsewhere, sometimes well beyond the usual one to two days. "
                "This is expected."), "F-SIDE-EFFECTS"),
            Item("periorbital_gentle", _(
                "Do not rub your eyes. Cool the area gently with a wrapped ice pack or a cold "
                "chamomile compress, keeping it off the eyes themselves."), "F-AFTERCARE"),
            Item("periorbital_makeup", _(
                "Leave eye make-up off until the swelling around your eyes has gone down."),
                "F-AFTERCARE"),
        )))
    if scalp:
        hair: list[Item] = []
        if wanted("keep_dry"):
            hair.append(item("keep_dry", _(
                "Do not wash your hair or wet your scalp for %(min)s to %(max)s hours after the "
                "session.") % {"min": dry.min, "max": dry.max}, "F-AFTERCARE"))
        hair += [
            Item("scalp_no_products", _(
                "For the next few days, or as long as your doctor advises, do not use hair dye, "
                "bleach, perms or styling products such as gel, spray or wax on the treated "
                "scalp."), "F-AFTERCARE"),
            Item("scalp_sun", _(
                "Protect the treated scalp from strong sun, for example with a loose-fitting "
                "hat."), "F-AFTERCARE"),
            Item("scalp_results", _(
                "Hair responds slowly: the first changes usually show after a few weeks, clearer "
                "ones after two to three months, and the full effect after about six months."),
                "F-HAIR"),
        ]
        sections.append(Section("scalp", _("Your scalp and hair"), tuple(hair)))
    if body:
        region: list[Item] = []
        if wanted("loose_clothing"):
            region.append(item("loose_clothing", _(
                "Wear loose, soft clothing over the treated area; avoid anything tight that "
                "presses or rubs on it."), "F-AFTERCARE"))
        if wanted("rest_area"):
            rest = _hours(entries.get("rest_area"), REST_HOURS).max
            region.append(item("rest_area", ngettext(
                "For %(hours)s hour, avoid hard effort that strains the treated area, such as "
                "weight training or a long run.",
                "For %(hours)s hours, avoid hard effort that strains the treated area, such as "
                "weight training or a long run.", rest) % {"hours": rest}, "F-AFTERCARE"))
        if region:
            sections.append(Section("body", _("The treated body area"), tuple(region)))

    series: list[Item] = []
    if number is not None and total is not None:
        text = (_("This was session %(number)s of %(total)s, the last of your series.")
                if number == total and next_at is None else
                _("This was session %(number)s of %(total)s."))
        series.append(Item("session_of", text % {"number": number, "total": total}, "F-SESSIONS"))
    elif number is not None:
        series.append(Item("session_of", _("This was session %(number)s of your treatment.")
                           % {"number": number}, "F-SESSIONS"))
    if series or follows:
        series.append(Item("checkups", _(
            "Your doctor may ask you to come for a check-up between sessions; please keep those "
            "appointments.") if follows else _(
            "Your doctor will tell you whether and when to come back for a check-up."),
            "F-OUTPATIENT"))
        sections.append(Section("series", _("Your treatment series"), tuple(series)))
    if follows:
        sections.append(Section("next", _("Until your next session"),
                                tuple(_until_next(entries, cream))))

    return AftercareSheet(
        language=language,
        title=_("Looking after your skin after mesotherapy"),
        intro=_("This sheet is for you to take home. It explains how to look after the treated "
                "area, what is normal over the next few days, and which signs mean you should "
                "call the clinic straight away."),
        areas=areas, sections=tuple(sections),
        expected=_expected(pack, eyes=eyes, needle_free=needle_free),
        call_now=Section("call_now", _("Call the clinic now if you notice"), _call_now(entries)),
        contact=_("Call %(clinic)s now on %(phone)s. Do not wait for your next appointment."),
        contact_without_phone=_("Call %(clinic)s now. Do not wait for your next appointment."),
        next_session_label=_("Your next session"),
        next_session_at=next_at, pack_version=pack.version,
    )


def _until_next(entries: Mapping[str, AftercareItem], cream: bool) -> list[Item]:
    """Lifestyle around the series (F-LIFESTYLE) and what comes before the next session."""
    words = {
        "avoid_high_protein": _("Go easy on very protein-rich meals."),
        "avoid_caffeine": _("Drink less coffee, strong tea and other drinks with caffeine."),
        "avoid_alcohol": _("Keep off alcohol as far as you can."),
        "avoid_smoking": _("Smoke as little as possible, ideally not at all."),
        "exercise": _("Regular exercise helps: 30 to 50 minutes, two or three times a week."),
        "massage": _("Between sessions, regular massage of the area may make the results last "
                     "longer."),
        "stop_nsaids": _("From 7 days before your next session, take no aspirin or other "
                         "anti-inflammatory painkillers (such as ibuprofen or naproxen) unless "
                         "your doctor says otherwise."),
        "numbing_cream": _("The numbing cream goes on again 30 to 40 minutes before the session, "
                           "so please arrive in good time."),
    }
    items = [Item(code, text, entries[code].fact) for code, text in words.items()
             if code in entries and (code != "numbing_cream" or cream)]
    items += [Item(e.code, e.text, e.fact) for e in entries.values()
              if e.when in ("around", "before") and e.code not in WORDED]
    return items


def _expected(pack: KnowledgePack, *, eyes: bool, needle_free: bool) -> Section:
    """The usual course (F-SIDE-EFFECTS), with the pack's durations."""
    swelling = pack.side_effects.get("swelling")
    hours = swelling.typical_hours if swelling and swelling.typical_hours else SWELLING_HOURS
    span = {"min": hours.min, "max": hours.max}
    items = [
        Item("swelling_marks", _(
            "Some swelling and small red dots where the needle went in are normal. They usually "
            "fade within %(min)s to %(max)s hours.") % span, "F-SIDE-EFFECTS")
        if not needle_free else
        Item("swelling", _(
            "Some swelling or redness is possible; it usually settles within %(min)s to %(max)s "
            "hours. The needle-free device leaves no needle marks.") % span, "F-SIDE-EFFECTS"),
    ]
    if eyes:
        items.append(Item("periorbital_expected", _(
            "Around the eyes, swelling and marks can last longer than that."), "F-SIDE-EFFECTS"))
    items += [
        Item("discomfort", _(
            "The area may ache a little, feel tender, warm or itchy, or look red for a while."),
            "F-SIDE-EFFECTS"),
        Item("bruising", _("Small bruises can appear; they fade by themselves."), "F-SIDE-EFFECTS"),
        Item("stomach", _(
            "A few people feel sick or have an upset stomach for a short time afterwards."),
            "F-SIDE-EFFECTS"),
        Item("dark_spots", _(
            "If darker spots appear on the treated skin, mention them at your next visit."),
            "F-SIDE-EFFECTS"),
    ]
    return Section("expected", _("What to expect over the next days"), tuple(items))


def _call_now(entries: Mapping[str, AftercareItem]) -> tuple[Item, ...]:
    """The signs that cannot wait (F-SIDE-EFFECTS: a suspected infection is told at once)."""
    infection_fact = entries["report_infection"].fact if "report_infection" in entries else \
        "F-SIDE-EFFECTS"
    return (
        Item("infection", _(
            "Signs of infection: redness that spreads or keeps getting worse, skin that feels "
            "hot, pus or fluid coming from the injection points, or a fever."), infection_fact),
        Item("pain_swelling", _(
            "Pain or swelling that is severe, or that gets worse instead of better after the "
            "first day."), "F-SIDE-EFFECTS"),
        Item("rash", _(
            "A rash or hives, or itching that spreads beyond the treated area."), "F-SIDE-EFFECTS"),
        Item("bleeding", _(
            "Bleeding from the injection points that does not stop when you press gently on it "
            "with clean gauze."), "F-SIDE-EFFECTS"),
        Item("breathing", _(
            "Trouble breathing, swelling of the lips, tongue or throat, or feeling faint: call "
            "emergency services (112) at once, then the clinic."), "F-SIDE-EFFECTS"),
    )


def render_pdf(sheet: AftercareSheet, *, clinic_name: str, clinic_phone: str, patient_name: str,
               performer_name: str, session_at: datetime, timezone: str) -> bytes:
    """The sheet as an A4 PDF in its language, the session's time in the clinic's zone."""
    from mesoclinic.kernel.pdf import render_pdf as kernel_render_pdf

    zone = _zone(timezone)
    if not isinstance(session_at, datetime) or django_timezone.is_naive(session_at):
        raise AftercareRefused("session_at", _("Needs a date and time with its time zone."))
    with translation.override(sheet.language), django_timezone.override(zone):
        return kernel_render_pdf("charting/aftercare_pdf.html", {
            "sheet": sheet, "clinic": {"name": clinic_name}, "patient_name": patient_name,
            "performer_name": performer_name, "session_at": session_at,
            "contact": sheet.contact_line(clinic_name, clinic_phone),
            "LANGUAGE_CODE": sheet.language, "printed_at": django_timezone.now()})


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise AftercareRefused("timezone", _("Unknown time zone %(name)s.") % {
            "name": repr(name)}) from None


def partial_context(sheet: AftercareSheet, *, clinic_name: str, clinic_phone: str) -> dict[str, Any]:
    """What templates/charting/aftercare_sheet.html needs: `{% include … with … %}` or render."""
    return {"sheet": sheet, "contact": sheet.contact_line(clinic_name, clinic_phone)}


def send_sheet(*, clinic: Clinic, ref: str, to_email: str, sheet: AftercareSheet, pdf: bytes,
               patient_name: str, clinic_name: str, language: str, clinic_phone: str = "",
               patient_id: str = "") -> OutboundMessage:
    """Queue an email to the patient with the sheet's PDF attached; the worker sends it.

    Call it inside the action's transaction: the message is stored with it and its task queued
    on commit. `patient_id` (the patient's public id) puts the delivery on the patient's trail.
    """
    address = " ".join(to_email.split())
    try:
        validate_email(address)
    except ValidationError:
        raise AftercareRefused("to_email", _("Not an email address: %(value)s.") % {
            "value": repr(to_email[:120])}) from None
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-"):
        raise AftercareRefused("pdf", _("The sheet's PDF is missing or is not a PDF."))
    if len(pdf) > outbox.MAX_ATTACHMENT_BYTES:
        raise AftercareRefused("pdf", _("The PDF is larger than %(bytes)s bytes.") % {
            "bytes": outbox.MAX_ATTACHMENT_BYTES})
    if not ref or len(ref) > outbox.REF_MAX_LENGTH:
        raise AftercareRefused("ref", _("Must be 1 to %(max)s characters.") % {
            "max": outbox.REF_MAX_LENGTH})
    lang = sheet_language(language)
    with translation.override(lang):
        stem = slugify(pgettext("file name", "aftercare"), allow_unicode=True) or "aftercare"
    return outbox.schedule(
        clinic=clinic, kind=OutboundMessage.Kind.AFTERCARE_SHEET, channel="email",
        recipient=address, language=lang,
        context={"name": patient_name, "clinic": clinic_name, "phone": " ".join(clinic_phone.split())},
        ref=ref, due_at=django_timezone.now(), patient_id=patient_id,
        attachment=outbox.Attachment(filename=f"{stem}.pdf", content=pdf,
                                     mimetype="application/pdf"))
