"""A plan's consent and quotes over REST: the same actions, roles and audit as their pages.

Consent is signed in the clinic with a staff witness, and a quote is issued by a member of
staff: both need the signed-in session (CSRF-checked). An API token is refused (403, audited)
even where its scope could price a plan, since nobody would stand behind the record.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.urls import reverse
from django.utils import timezone
from ninja import Schema, Status
from pydantic import ConfigDict, Field

from mesoclinic.accounts.permissions import Perm
from mesoclinic.api.auth import StaffSession, TokenAuth
from mesoclinic.api.plans import _plan
from mesoclinic.api.schemas import ErrorOut
from mesoclinic.api.views import BODY_ERRORS, ERRORS, ApiError, _principal, api
from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients.access import AccessDenied, PatientAccess, PatientNotFound, patient_for
from mesoclinic.plans import consents, quotes
from mesoclinic.plans.consent_text import ConsentDocument
from mesoclinic.plans.models import Consent, Quote, TreatmentPlan

AUTH = [TokenAuth(), StaffSession()]
CONFLICT_FIELDS = ("plan", "plan_version", "template_version", "text", "consent", "quote",
                   "valid_until", "patient")
DOCUMENT_ERRORS = {409: ErrorOut, **BODY_ERRORS}


class SignatureIn(Schema):
    model_config = ConfigDict(extra="forbid")
    patient_id: str = Field(max_length=40, description="the patient the text was shown for")
    plan_version: int = Field(description="the plan version the text was shown for")
    template: str = Field(max_length=30)
    template_version: int
    language: str = Field(max_length=5, examples=["tr"])
    sha256: str = Field(max_length=64, description="the SHA-256 of the exact text shown")
    signer_name: str = Field(max_length=200)
    method: str = Field(description="drawn | typed", examples=["typed"])
    signature: str = Field(default="", max_length=600_000,
                           description="drawn: the pad's PNG as a data URL")
    confirmed: bool = Field(default=False,
                            description="typed: the patient confirms the typed name is a signature")
    photo_consent: bool = Field(description="photographs allowed: a separate choice")


class WithdrawalIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=500)


class QuoteIn(Schema):
    model_config = ConfigDict(extra="forbid")
    grade: str = Field(description="senior_physician | physician | specialist_nurse")
    extra_checkups: int = Field(default=0, ge=0, le=40)


def _access(request: Any, patient_id: UUID, perm: Perm, object_type: str,
            audit_as: AuditEvent.Action | None) -> PatientAccess:
    principal = _principal(request)
    try:
        access = patient_for(principal, patient_id, perm, audit_as=None,
                             object_type=object_type)  # type: ignore[arg-type]
    except PatientNotFound:
        raise ApiError(404, "no such patient") from None
    except AccessDenied:
        raise ApiError(403, f"you may not do that with {object_type.replace('_', ' ')}s") from None
    if principal.user is None:
        access.audit(audit_as or AuditEvent.Action.VIEW, object_type=object_type,  # type: ignore[arg-type]
                     outcome=AuditEvent.Outcome.DENIED, detail="API tokens hold no consent or "
                                                               "plan-quote rights")
        raise ApiError(403, "sign in as staff: an API token cannot act on consents or plan quotes")
    if audit_as is not None:
        access.audit(audit_as, object_type=object_type)  # type: ignore[arg-type]
    return access


def _refused(access: PatientAccess, object_type: str, action: AuditEvent.Action, field: str,
             message: str) -> ApiError:
    access.audit(action, object_type=object_type,  # type: ignore[arg-type]
                 outcome=AuditEvent.Outcome.DENIED, detail=f"{field}: {message}"[:200])
    status = 409 if field in CONFLICT_FIELDS else 422
    return ApiError(status, f"{field}: {message}", field)


# --- consent -------------------------------------------------------------------------------------

def _document_out(plan: TreatmentPlan, document: ConsentDocument) -> dict[str, Any]:
    return {"patient_id": str(plan.patient.public_id), "plan_id": str(plan.public_id),
            "plan_version": plan.version, "template": document.template,
            "template_version": document.version, "language": document.language,
            "header": document.header, "text": document.text, "sha256": document.sha256}


def _consent_out(consent: Consent) -> dict[str, Any]:
    plan = consent.plan
    return {
        "id": str(consent.public_id), "plan_id": str(plan.public_id),
        "plan_version": consent.plan_version, "template": consent.template,
        "template_version": consent.template_version, "language": consent.language,
        "sha256": consent.sha256, "signer_name": consent.signer_name, "method": consent.method,
        "photo_consent": consent.photo_consent, "witness": consent.witness.display_name,
        "signed_at": timezone.localtime(consent.signed_at).isoformat(),
        "withdrawn_at": (timezone.localtime(consent.withdrawn_at).isoformat()
                         if consent.withdrawn_at else None),
        "withdrawal_reason": consent.withdrawal_reason,
        "pdf": reverse("plans:consent-pdf", args=[plan.patient.public_id, consent.public_id]),
    }


@api.get("/patients/{patient_id}/plans/{plan_id}/consent-text",
         response={200: dict[str, Any], **ERRORS}, tags=["consent"], auth=AUTH,
         summary="The consent text to show for the plan's current version (physicians, nurses)")
def consent_text(request: Any, patient_id: UUID, plan_id: UUID, language: str = "") -> Any:
    """Show `text` to the patient and send back its `sha256`, `template_version` and
    `plan_version` when signing: a text that changed in between is refused."""
    access = _access(request, patient_id, Perm.RECORD_CONSENT, "consent", AuditEvent.Action.VIEW)
    plan = _plan(access, plan_id)
    if language and language not in ("en", "tr", "de"):
        raise ApiError(422, "language: one of en, tr, de", "language")
    return _document_out(plan, consents.document_for(plan, language=language or None))


@api.get("/patients/{patient_id}/plans/{plan_id}/consents",
         response={200: list[dict[str, Any]], **ERRORS}, tags=["consent"], auth=AUTH,
         summary="The plan's consents, newest first (physicians, nurses)")
def list_consents(request: Any, patient_id: UUID, plan_id: UUID) -> Any:
    access = _access(request, patient_id, Perm.VIEW_PLAN, "consent", AuditEvent.Action.VIEW)
    plan = _plan(access, plan_id)
    rows = Consent.objects.filter(plan=plan).select_related("plan__patient", "witness")
    return [_consent_out(c) for c in rows.order_by("-signed_at")[:50]]


@api.post("/patients/{patient_id}/plans/{plan_id}/consents",
          response={201: dict[str, Any], **DOCUMENT_ERRORS}, tags=["consent"], auth=AUTH,
          summary="Record the patient's signature to the text shown; the caller witnesses it")
def sign_consent(request: Any, patient_id: UUID, plan_id: UUID, payload: SignatureIn) -> Any:
    access = _access(request, patient_id, Perm.RECORD_CONSENT, "consent", None)
    plan = _plan(access, plan_id)
    signature = consents.Signature(
        patient_id=payload.patient_id, plan_version=payload.plan_version,
        template=payload.template, template_version=payload.template_version,
        language=payload.language, sha256=payload.sha256, signer_name=payload.signer_name,
        method=payload.method, drawing=payload.signature, confirmed=payload.confirmed,
        photo_consent=payload.photo_consent)
    try:
        consent = consents.sign_consent(plan=plan, signature=signature, witness=access.user,
                                        actor=access.actor, render_pdf=consents.consent_pdf)
    except consents.ConsentRefused as exc:
        raise _refused(access, "consent", AuditEvent.Action.CREATE, exc.field,
                       exc.message) from None
    return Status(201, _consent_out(consent))


@api.post("/patients/{patient_id}/consents/{consent_id}/withdrawal",
          response={200: dict[str, Any], **DOCUMENT_ERRORS}, tags=["consent"], auth=AUTH,
          summary="Record that the patient withdrew consent; the plan's next sessions stop")
def withdraw_consent(request: Any, patient_id: UUID, consent_id: UUID, payload: WithdrawalIn) -> Any:
    access = _access(request, patient_id, Perm.RECORD_CONSENT, "consent", None)
    found = list(Consent.objects.select_related("plan__patient", "plan__clinic", "witness")
                 .filter(public_id=consent_id, plan__patient=access.patient)[:1])
    if not found:
        raise ApiError(404, "no such consent")
    try:
        consent = consents.withdraw_consent(consent=found[0], reason=payload.reason,
                                            by=access.user, actor=access.actor)
    except consents.ConsentRefused as exc:
        raise _refused(access, "consent", AuditEvent.Action.UPDATE, exc.field,
                       exc.message) from None
    return _consent_out(consent)


# --- quotes --------------------------------------------------------------------------------------

def _quote_out(quote: Quote) -> dict[str, Any]:
    plan = quote.plan
    return {
        "id": str(quote.public_id), "plan_id": str(plan.public_id),
        "plan_version": quote.plan_version, "grade": quote.grade, "kind": quote.kind,
        "sessions": quote.sessions, "extra_checkups": quote.extra_checkups,
        "lines": quote.lines, "subtotal": str(quote.subtotal), "tax": str(quote.tax),
        "total": str(quote.total), "currency": quote.currency,
        "valid_until": quote.valid_until.isoformat(),
        "issued_at": timezone.localtime(quote.issued_at).isoformat(),
        "accepted_at": (timezone.localtime(quote.accepted_at).isoformat()
                        if quote.accepted_at else None),
        "pdf": reverse("plans:quote-pdf", args=[plan.patient.public_id, quote.public_id]),
    }


def _quote(access: PatientAccess, quote_id: UUID) -> Quote:
    found = list(Quote.objects.select_related("plan__patient", "plan__clinic")
                 .filter(public_id=quote_id, plan__patient=access.patient)[:1])
    if not found:
        raise ApiError(404, "no such quote")
    return found[0]


@api.get("/patients/{patient_id}/plans/{plan_id}/quotes",
         response={200: list[dict[str, Any]], **ERRORS}, tags=["quotes"], auth=AUTH,
         summary="The plan's quotes, newest first (physicians, reception)")
def list_plan_quotes(request: Any, patient_id: UUID, plan_id: UUID) -> Any:
    access = _access(request, patient_id, Perm.QUOTE, "quote", AuditEvent.Action.VIEW)
    plan = _plan(access, plan_id)
    return [_quote_out(q) for q in
            Quote.objects.filter(plan=plan).select_related("plan__patient").order_by("-issued_at")[:50]]


@api.post("/patients/{patient_id}/plans/{plan_id}/quotes",
          response={201: dict[str, Any], **DOCUMENT_ERRORS}, tags=["quotes"], auth=AUTH,
          summary="Price the plan's current version on the clinic's price list (physicians, "
                  "reception)")
def issue_plan_quote(request: Any, patient_id: UUID, plan_id: UUID, payload: QuoteIn) -> Any:
    access = _access(request, patient_id, Perm.QUOTE, "quote", None)
    plan = _plan(access, plan_id)
    try:
        quote = quotes.issue_quote(plan=plan, grade=payload.grade,
                                   extra_checkups=payload.extra_checkups, by=access.user,
                                   actor=access.actor)
    except quotes.QuoteRefused as exc:
        raise _refused(access, "quote", AuditEvent.Action.CREATE, exc.field, exc.message) from None
    return Status(201, _quote_out(quote))


@api.get("/patients/{patient_id}/quotes/{quote_id}", response={200: dict[str, Any], **ERRORS},
         tags=["quotes"], auth=AUTH, summary="One quote with its lines (physicians, reception)")
def get_quote(request: Any, patient_id: UUID, quote_id: UUID) -> Any:
    access = _access(request, patient_id, Perm.QUOTE, "quote", AuditEvent.Action.VIEW)
    return _quote_out(_quote(access, quote_id))


@api.post("/patients/{patient_id}/quotes/{quote_id}/acceptance",
          response={200: dict[str, Any], **DOCUMENT_ERRORS}, tags=["quotes"], auth=AUTH,
          summary="The patient accepts the quote: its prices hold for the plan's sessions")
def accept_quote(request: Any, patient_id: UUID, quote_id: UUID) -> Any:
    access = _access(request, patient_id, Perm.QUOTE, "quote", None)
    quote = _quote(access, quote_id)
    try:
        quote = quotes.accept_quote(quote=quote, by=access.user, actor=access.actor)
    except quotes.QuoteRefused as exc:
        raise _refused(access, "quote", AuditEvent.Action.UPDATE, exc.field, exc.message) from None
    return _quote_out(quote)
