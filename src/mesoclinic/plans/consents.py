"""Consent to a plan version: compose the text, sign it (drawn or typed), keep the PDF, withdraw.

The page shows a text and its SHA-256; signing recomposes the text and refuses when anything
differs — another patient, another plan version, an outdated template, a changed text — so the
stored consent is always to exactly what was read. Signing moves the plan to accepted;
withdrawal stops its next sessions.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.knowledge.store import active_pack
from mesoclinic.plans import actions
from mesoclinic.plans.consent_text import (
    ConsentDocument,
    ConsentFacts,
    compose,
    schedule_text,
    template_for,
)
from mesoclinic.plans.lifecycle import Status
from mesoclinic.plans.models import Consent, TreatmentPlan

MAX_SIGNATURE_BYTES = 400_000
PNG_PREFIX = "data:image/png;base64,"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ConsentRefused(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _language(plan: TreatmentPlan) -> str:
    preferred = (getattr(plan.patient, "preferred_language", "") or "").split("-")[0]
    return preferred or (plan.clinic.language or "en").split("-")[0]


def document_for(plan: TreatmentPlan, *, language: str | None = None) -> ConsentDocument:
    """The consent text for the plan's current version, in the patient's language."""
    pack = active_pack()
    version = plan.current
    indication = pack.indications[version.indication]

    def label(mapping: Any, code: str) -> str:
        entry = mapping.get(code)
        return str(getattr(entry, "label", None) or getattr(entry, "name", None) or code)

    lang = language or _language(plan)
    phases = schedule_text(lang, [(p["sessions"], p["interval_days"]) for p in version.phases])
    names = [label(pack.ingredients, i.ingredient) for i in version.ingredients.all()]
    facts = ConsentFacts(
        patient_name=plan.patient.full_name, plan_reference=str(plan.public_id)[:8],
        plan_version=plan.version, indication=indication.label, area=label(pack.areas, version.area),
        technique=label(pack.techniques, version.technique).lower(),
        delivery=label(pack.deliveries, version.delivery).lower(), ingredients=", ".join(names),
        sessions=version.sessions, schedule=phases, minutes=version.session_minutes,
        anaesthetic_cream=label(pack.ingredients, version.anaesthetic_cream)
        if version.anaesthetic_cream else "",
        needle_free=version.delivery == "needle_free", regional_fat=version.indication == "regional_fat",
        language=lang)
    return compose(template_for(indication.group), facts)


def valid_consent(plan: TreatmentPlan) -> Consent | None:
    """A standing consent to the plan's current version, on the template version in force."""
    standing = (Consent.objects.filter(plan=plan, plan_version=plan.version,
                                       withdrawn_at__isnull=True).first())
    if standing is None:
        return None  # most plan pages: nothing signed yet, no text to compose
    current = document_for(plan)
    if (standing.template, standing.template_version) != (current.template, current.version):
        return None
    return standing


@dataclass(frozen=True)
class Signature:
    patient_id: str
    plan_version: int
    template: str
    template_version: int
    language: str
    sha256: str
    signer_name: str
    method: str  # "drawn" | "typed"
    drawing: str  # PNG data URL when drawn
    confirmed: bool  # the typed-name confirmation box
    photo_consent: bool


def _png(drawing: str) -> bytes:
    if not drawing.startswith(PNG_PREFIX):
        raise ConsentRefused("signature", "draw the signature on the pad")
    if len(drawing) > MAX_SIGNATURE_BYTES * 4 // 3 + 100:
        raise ConsentRefused("signature", "the drawing is too large")
    try:
        raw = base64.b64decode(drawing[len(PNG_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ConsentRefused("signature", "the drawing is not a PNG image") from None
    if not raw.startswith(PNG_MAGIC) or len(raw) < 40:
        raise ConsentRefused("signature", "the drawing is not a PNG image")
    return raw


def consent_pdf(consent: Consent, document: ConsentDocument) -> bytes:
    """The signed consent as the PDF that is stored with it."""
    from mesoclinic.kernel.pdf import render_pdf

    plan = consent.plan
    return render_pdf("plans/pdf/consent.html", {
        "patient": plan.patient, "clinic": plan.clinic, "consent": consent, "document": document,
        "printed_at": timezone.now()})


def sign_consent(*, plan: TreatmentPlan, signature: Signature, witness: User, actor: Actor,
                 render_pdf: Any) -> Consent:
    """Record the patient's signature to exactly the text shown; the plan becomes accepted."""
    if signature.patient_id != str(plan.patient.public_id):
        raise ConsentRefused("patient", "this consent was shown for another patient")
    if signature.plan_version != plan.version:
        raise ConsentRefused("plan_version", f"the consent shown is to version "
                                             f"{signature.plan_version}; the plan is at version "
                                             f"{plan.version}: read the new version with the patient")
    document = document_for(plan, language=signature.language)
    if (signature.template, signature.template_version) != (document.template, document.version):
        raise ConsentRefused("template_version", f"the text shown was {signature.template} "
                                                 f"v{signature.template_version}; the template in "
                                                 f"force is v{document.version}")
    if signature.sha256 != document.sha256:
        raise ConsentRefused("text", "the consent text changed after it was shown: read it again")
    if plan.status != Status.PROPOSED:
        raise ConsentRefused("plan", f"only an approved, proposed plan is signed (this one is "
                                     f"{plan.status})")
    name = " ".join(signature.signer_name.split())
    if len(name) < 2:
        raise ConsentRefused("signer_name", "write the name of the person signing")
    drawing = ""
    if signature.method == Consent.Method.DRAWN:
        _png(signature.drawing)
        drawing = signature.drawing
    elif signature.method == Consent.Method.TYPED:
        if not signature.confirmed:
            raise ConsentRefused("confirmed", "tick the box to confirm the typed name is a signature")
    else:
        raise ConsentRefused("method", "sign on the pad or type the name")
    with transaction.atomic():
        consent = Consent(plan=plan, plan_version=plan.version, template=document.template,
                          template_version=document.version, language=document.language,
                          text=document.text, sha256=document.sha256, signer_name=name[:200],
                          method=signature.method, signature=drawing,
                          photo_consent=signature.photo_consent, witness=witness)
        try:
            with transaction.atomic():
                consent.save()
        except IntegrityError:
            raise ConsentRefused("plan_version", "this plan version is already consented to") from None
        pdf = render_pdf(consent, document)
        consent.pdf.save(f"consent-{consent.public_id}.pdf", ContentFile(pdf), save=True)
        record(actor, action=AuditEvent.Action.CREATE, object_type="consent",
               object_id=str(consent.public_id), clinic_id=str(plan.clinic.public_id),
               patient_id=str(plan.patient.public_id),
               detail=f"version {plan.version}, {document.template} v{document.version}, "
                      f"sha256 {document.sha256[:16]}, {signature.method}, "
                      f"photos {'yes' if signature.photo_consent else 'no'}")
        try:
            actions.mark_accepted(plan=plan, version=plan.version, actor=actor)
        except actions.PlanRefused as exc:
            raise ConsentRefused(exc.field, exc.message) from None
    return consent


def withdraw_consent(*, consent: Consent, reason: str, by: User, actor: Actor) -> Consent:
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise ConsentRefused("reason", "note what the patient said (at least 3 characters)")
    with transaction.atomic():
        locked = Consent.objects.select_for_update().get(pk=consent.pk)
        if locked.withdrawn_at is not None:
            raise ConsentRefused("consent", "this consent is already withdrawn")
        locked.withdrawn_at, locked.withdrawn_by = timezone.now(), by
        locked.withdrawal_reason = reason[:500]
        locked.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
        plan = locked.plan
        record(actor, action=AuditEvent.Action.UPDATE, object_type="consent",
               object_id=str(locked.public_id), clinic_id=str(plan.clinic.public_id),
               patient_id=str(plan.patient.public_id), changes={"withdrawn": [False, True]},
               detail=f"withdrawn: {reason[:200]}")
        if locked.plan_version == plan.version:
            actions.consent_withdrawn(plan=plan, actor=actor, reason=reason)
    return locked
