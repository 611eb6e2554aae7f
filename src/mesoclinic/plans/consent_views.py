"""The consent flow on a treatment-room tablet: read, sign (pad or typed name), witness; withdraw."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mesoclinic.accounts.permissions import Perm
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.patients.access import PatientAccess, patient_view
from mesoclinic.plans import consents
from mesoclinic.plans.models import Consent, TreatmentPlan
from mesoclinic.plans.views import SECTIONS


def _plan(access: PatientAccess, plan_id: UUID) -> TreatmentPlan:
    found = list(TreatmentPlan.objects.select_related("patient", "clinic")
                 .filter(public_id=plan_id, patient=access.patient)[:1])
    if not found:
        raise Http404("No such plan")
    return found[0]


def _consent(access: PatientAccess, consent_id: UUID) -> Consent:
    found = list(Consent.objects.select_related("plan__patient", "plan__clinic", "witness")
                 .filter(public_id=consent_id, plan__patient=access.patient)[:1])
    if not found:
        raise Http404("No such consent")
    return found[0]


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return -1


@require_http_methods(["GET", "POST"])
@patient_view(Perm.RECORD_CONSENT, object_type="consent")
def sign(request: ClinicRequest, access: PatientAccess, plan_id: UUID) -> HttpResponse:
    plan = _plan(access, plan_id)
    language = request.POST.get("language") or request.GET.get("language") or None
    document = consents.document_for(plan, language=language)
    error: consents.ConsentRefused | None = None
    if request.method == "POST":
        post = request.POST
        signature = consents.Signature(
            patient_id=post.get("patient", ""), plan_version=_int(post.get("plan_version")),
            template=post.get("template", ""), template_version=_int(post.get("template_version")),
            language=post.get("language", document.language), sha256=post.get("sha256", ""),
            signer_name=post.get("signer_name", ""), method=post.get("method", ""),
            drawing=post.get("signature", ""), confirmed=post.get("confirmed") == "on",
            photo_consent=post.get("photo_consent") == "yes")
        if post.get("photo_consent") not in ("yes", "no"):
            error = consents.ConsentRefused("photo_consent", _("Choose yes or no for photographs."))
        else:
            try:
                consents.sign_consent(plan=plan, signature=signature, witness=access.user,
                                      actor=access.actor, render_pdf=consents.consent_pdf)
            except consents.ConsentRefused as exc:
                error = exc
            else:
                messages.success(request, _("Consent signed and stored as a PDF."))
                if access.can(Perm.VIEW_PLAN):
                    return redirect("plans:detail", public_id=access.patient.public_id,
                                    plan_id=plan.public_id)
                return redirect("patients:chart", public_id=access.patient.public_id)
    return render(request, "plans/consent_sign.html", {
        "patient": access.patient, "plan": plan, "document": document, "error": error,
        "post": request.POST if request.method == "POST" else {},
    }, status=422 if error else 200)


@patient_view(Perm.VIEW_PLAN, object_type="consent")
def consent_pdf(request: ClinicRequest, access: PatientAccess, consent_id: UUID) -> FileResponse:
    consent = _consent(access, consent_id)
    if not consent.pdf or not default_storage.exists(consent.pdf.name):
        raise Http404("The PDF of this consent is missing")
    return FileResponse(default_storage.open(consent.pdf.name, "rb"), content_type="application/pdf",
                        filename=f"consent-{consent.public_id}.pdf")


@require_POST
@patient_view(Perm.RECORD_CONSENT, object_type="consent")
def withdraw(request: ClinicRequest, access: PatientAccess, consent_id: UUID) -> HttpResponse:
    consent = _consent(access, consent_id)
    try:
        consents.withdraw_consent(consent=consent, reason=request.POST.get("reason", ""),
                                  by=access.user, actor=access.actor)
    except consents.ConsentRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Consent withdrawn: no further sessions of this plan."))
    return redirect("plans:detail", public_id=access.patient.public_id, plan_id=consent.plan.public_id)


def _section(access: PatientAccess, plan: TreatmentPlan) -> dict[str, Any] | None:
    rows = list(Consent.objects.filter(plan=plan).select_related("witness")[:10])
    return {"template": "plans/_consent_section.html", "consents": rows, "plan": plan,
            "valid": consents.valid_consent(plan), "can_sign": access.can(Perm.RECORD_CONSENT)}


SECTIONS.append(_section)
