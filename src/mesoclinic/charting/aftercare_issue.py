"""Make the aftercare sheet of a signed session, keep its PDF with it, and email it on request."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.db import transaction

from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting import aftercare, maps
from mesoclinic.charting.models import AftercareSheet, TreatmentSession
from mesoclinic.scheduling.models import Appointment, Kind


def _language(session: TreatmentSession) -> str:
    return aftercare.sheet_language(session.patient.preferred_language or session.clinic.language)


def _areas(session: TreatmentSession) -> list[str]:
    areas = list(session.areas)
    for map_id, region in session.points.values_list("map_id", "region").distinct():
        found = maps.MAPS.get(map_id)
        if found is None:
            continue
        for candidate in found.regions:
            if candidate.id == region and candidate.periorbital and "periorbital" not in areas:
                areas.append("periorbital")
    return areas


def build(session: TreatmentSession) -> aftercare.AftercareSheet:
    version = session.plan.versions.get(number=session.plan_version)
    upcoming = (Appointment.objects.filter(plan=session.plan, kind=Kind.TREATMENT,
                                           status=Appointment.Status.BOOKED,
                                           starts_at__gt=session.started_at)
                .order_by("starts_at").values_list("starts_at", flat=True).first())
    return aftercare.build_sheet(
        areas=_areas(session), ingredients=[c.ingredient for c in session.components.all()],
        uses_anaesthetic_cream=bool(version.anaesthetic_cream), delivery=session.delivery,
        session_number=session.session_number, sessions_total=version.sessions,
        next_session_at=upcoming, language=_language(session))


def issue(session: TreatmentSession, *, actor: Actor) -> AftercareSheet:
    """The session's sheet (made once; a second call returns the one kept)."""
    existing = AftercareSheet.objects.filter(session=session).first()
    if existing is not None:
        return existing
    sheet = build(session)
    patient = session.patient
    pdf = aftercare.render_pdf(
        sheet, clinic_name=session.clinic.name, clinic_phone=getattr(session.clinic, "phone", "") or "",
        patient_name=f"{patient.given_name} {patient.family_name}",
        performer_name=session.performer.get_full_name() or session.performer.username,
        session_at=session.started_at, timezone=session.clinic.timezone)
    with transaction.atomic():
        kept = AftercareSheet(session=session, language=sheet.language, content=sheet.as_json())
        kept.pdf.save(f"aftercare-{session.public_id}.pdf", ContentFile(pdf), save=False)
        kept.save()
        record(actor, action=AuditEvent.Action.CREATE, object_type="aftercare_sheet",
               object_id=str(session.public_id), clinic_id=str(session.clinic.public_id),
               organisation_id=str(session.clinic.organisation.public_id),
               patient_id=str(patient.public_id), detail=f"aftercare sheet ({sheet.language})")
    return kept


def send(kept: AftercareSheet, *, actor: Actor) -> None:
    session = kept.session
    patient = session.patient
    with kept.pdf.open("rb") as handle:
        pdf = handle.read()
    with transaction.atomic():
        message = aftercare.send_sheet(
            clinic=session.clinic, ref=f"aftercare:{session.public_id}", to_email=patient.email,
            sheet=aftercare.AftercareSheet.from_json(kept.content), pdf=pdf,
            patient_name=f"{patient.given_name} {patient.family_name}", clinic_name=session.clinic.name,
            language=kept.language, patient_id=str(patient.public_id))
        AftercareSheet.objects.filter(pk=kept.pk).update(emailed_to=patient.email,
                                                         message_ref=str(message.public_id))
        record(actor, action=AuditEvent.Action.CREATE, object_type="aftercare_sheet",
               object_id=str(session.public_id), clinic_id=str(session.clinic.public_id),
               organisation_id=str(session.clinic.organisation.public_id),
               patient_id=str(patient.public_id), detail="aftercare sheet queued for email")
