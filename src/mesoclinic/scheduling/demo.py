"""The demo clinics' calendars: hours, rooms, an ultrasound device, and booked work for the week.

Plans go the real way (approved on a screening, consent signed, then the series proposed by the
planner and booked), so the calendar, today's list and the reminders show what a clinic sees.
Running it again adds nothing twice.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor
from mesoclinic.knowledge.store import active_pack
from mesoclinic.patients.models import Patient
from mesoclinic.plans import actions as plan_actions
from mesoclinic.plans import consents, rules
from mesoclinic.plans.actions import PlanDraft, PlanRefused, SolutionItem
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.scheduling import actions, planner, series
from mesoclinic.scheduling.actions import BookingRefused, Slot
from mesoclinic.scheduling.models import Appointment, Device, Room, WorkingHours

ACTOR = Actor(username="demo", via="cli")
ROOMS = ("Treatment room 1", "Treatment room 2", "Consultation room")
SERIES_PER_CLINIC = 4
MAX_TRIED = 16  # patients tried for a plan (screening refuses some)
HOURS = ((time(9), time(18)), (time(13), time(14)))  # the day, and lunch


def load_schedule(clinic: Clinic, staff: list[User], patients: list[Patient], author: User,
                  reception: User) -> dict[str, int]:
    """Furnish the clinic and fill its calendar, unless it has bookings already."""
    rooms = [Room.objects.get_or_create(clinic=clinic, name=name)[0] for name in ROOMS]
    Device.objects.get_or_create(clinic=clinic, name="Ultrasound 1", defaults={"kind": "ultrasound"})
    Device.objects.get_or_create(clinic=clinic, name="Injector gun 1", defaults={"kind": "injector_gun"})
    (day, lunch) = HOURS
    for who in staff:
        if WorkingHours.objects.filter(clinic=clinic, practitioner=who).exists():
            continue
        for weekday in range(5):
            actions.set_hours(clinic=clinic, practitioner=who, weekday=weekday, blocks=[day],
                              breaks=[lunch], actor=ACTOR)
        actions.set_hours(clinic=clinic, practitioner=who, weekday=5, blocks=[(time(10), time(14))],
                          actor=ACTOR)
    if Appointment.objects.filter(clinic=clinic).exists():
        return {"series": 0, "appointments": 0}
    booked = 0
    series_booked = 0
    tz = zoneinfo.ZoneInfo(clinic.timezone)
    today = timezone.now().astimezone(tz).date()
    used: set[int] = set()
    number = -1
    for patient in patients[:MAX_TRIED]:
        if series_booked >= SERIES_PER_CLINIC:
            break
        # Screening blocks some demo patients (under 18, a stroke, an allergy): they get no plan.
        plan = _accepted_plan(patient, author, cream=series_booked % 2 == 0)
        if plan is None:
            continue
        used.add(patient.pk)
        number += 1
        # The allergy test two days before the series; some series began in the past weeks, so
        # that the calendar and today's list are full.
        started = today + timedelta(days=2 - 7 * (number % 3))
        booked += _single(clinic, patient, "allergy_test", staff[-1], rooms[2],
                          started - timedelta(days=2), 9 + number, reception)
        request, calendar = series.build_request(
            plan, not_before=datetime.combine(started, time(0), tz),
            availability=series.clinic_hours(clinic), preferred=staff[number % len(staff)])
        proposal = planner.plan_series(request)
        if proposal.sessions and not proposal.unplaced:
            try:
                appointments = actions.book_series(plan=plan, sessions=proposal.sessions, calendar=calendar,
                                                   by=reception, actor=ACTOR)
            except BookingRefused:
                continue
            booked += len(appointments)
            series_booked += 1
    others = [p for p in patients if p.pk not in used][:6]
    for number, patient in enumerate(others):
        kind = ("consultation", "checkup", "photo_review")[number % 3]
        booked += _single(clinic, patient, kind, staff[number % len(staff)], rooms[2 - number % 2],
                          today + timedelta(days=number % 3), 10 + number, reception)
    return {"series": series_booked, "appointments": booked}


def _single(clinic: Clinic, patient: Patient, kind: str, who: User, room: Room, day: date,
            hour: int, by: User) -> int:
    tz = zoneinfo.ZoneInfo(clinic.timezone)
    start = datetime.combine(day, time(min(hour, 16), 30), tz)
    if start.weekday() >= 5:
        start = start + timedelta(days=7 - start.weekday())
    try:
        actions.book(clinic=clinic, patient=patient, kind=kind, by=by, actor=ACTOR,
                     slot=Slot(starts_at=start, ends_at=start + timedelta(minutes=30), practitioner=who,
                               room=room))
    except BookingRefused:
        return 0
    return 1


def _accepted_plan(patient: Patient, author: User, *, cream: bool) -> TreatmentPlan | None:
    """A face rejuvenation plan, approved and consented to (typed signature)."""
    pack = active_pack()
    protocol = pack.protocol_for("face", "rejuvenation")
    if protocol is None:
        return None
    draft = PlanDraft(values=rules.defaults(protocol, "standard", "rejuvenation"),
                      solution=(SolutionItem("hyaluronic_acid", Decimal("1.5"), "%", Decimal("2.00")),),
                      anaesthetic_cream="lidocaine_tetracaine_cream" if cream else "")
    try:
        plan = plan_actions.create_plan(patient=patient, draft=draft, by=author, actor=ACTOR)
        plan = plan_actions.approve_plan(plan=plan, by=author, actor=ACTOR)
        document = consents.document_for(plan)
        signature = consents.Signature(
            patient_id=str(patient.public_id), plan_version=plan.version, template=document.template,
            template_version=document.version, language=document.language, sha256=document.sha256,
            signer_name=f"{patient.given_name} {patient.family_name}", method="typed", drawing="",
            confirmed=True, photo_consent=True)
        consents.sign_consent(plan=plan, signature=signature, witness=author, actor=ACTOR,
                              render_pdf=consents.consent_pdf)
    except (PlanRefused, consents.ConsentRefused):
        return None
    plan.refresh_from_db()
    return plan
