"""Quote pages: price a plan for the patient, show the lines, print the PDF, record acceptance.

Reception quotes too, so these pages show the work being priced (area, size, sessions), never
the plan's clinical content.
"""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from mesoclinic.accounts.permissions import Perm
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.knowledge.store import active_pack
from mesoclinic.patients.access import PatientAccess, patient_view
from mesoclinic.plans import quotes
from mesoclinic.plans.models import Grade, Quote, TreatmentPlan
from mesoclinic.plans.views import SECTIONS


class QuoteForm(forms.Form):
    grade = forms.ChoiceField(label=gettext_lazy("Treated by"), choices=Grade.choices,
                              initial=Grade.PHYSICIAN)
    extra_checkups = forms.IntegerField(
        label=gettext_lazy("Extra check-ups"), min_value=0, max_value=40,
        help_text=gettext_lazy("Check-ups between sessions that the patient's condition needs."))


def _plan(access: PatientAccess, plan_id: UUID) -> TreatmentPlan:
    found = list(TreatmentPlan.objects.select_related("patient", "clinic")
                 .filter(public_id=plan_id, patient=access.patient)[:1])
    if not found:
        raise Http404("No such plan")
    return found[0]


def _quote(access: PatientAccess, quote_id: UUID) -> Quote:
    found = list(Quote.objects.select_related("plan__patient", "plan__clinic", "issued_by",
                                              "accepted_by")
                 .filter(public_id=quote_id, plan__patient=access.patient)[:1])
    if not found:
        raise Http404("No such quote")
    return found[0]


def work_summary(plan: TreatmentPlan) -> dict[str, object]:
    """What is priced, in words: area, size and sessions (no clinical detail)."""
    version = plan.current
    area = active_pack().areas.get(version.area)
    return {"area": area.label if area else version.area, "size": version.get_area_size_display(),
            "sessions": version.sessions, "kind": quotes.kind_of(plan), "version": plan.version}


@require_http_methods(["GET", "POST"])
@patient_view(Perm.QUOTE, object_type="quote")
def new_quote(request: ClinicRequest, access: PatientAccess, plan_id: UUID) -> HttpResponse:
    plan = _plan(access, plan_id)
    form = QuoteForm(request.POST if request.method == "POST" else None,
                     initial={"extra_checkups": len(plan.current.checkups)})
    if request.method == "POST" and form.is_valid():
        try:
            quote = quotes.issue_quote(plan=plan, grade=form.cleaned_data["grade"],
                                       extra_checkups=form.cleaned_data["extra_checkups"],
                                       by=access.user, actor=access.actor)
        except quotes.QuoteRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("plans:quote", public_id=access.patient.public_id,
                            quote_id=quote.public_id)
    return render(request, "plans/quote_new.html",
                  {"patient": access.patient, "plan": plan, "form": form, "work": work_summary(plan)},
                  status=422 if form.errors else 200)


@patient_view(Perm.QUOTE, object_type="quote")
def quote_detail(request: ClinicRequest, access: PatientAccess, quote_id: UUID) -> HttpResponse:
    quote = _quote(access, quote_id)
    plan = quote.plan
    return render(request, "plans/quote.html", {
        "patient": access.patient, "quote": quote, "plan": plan, "work": work_summary(plan),
        "current": quote.plan_version == plan.version,
        "expired": quote.valid_until < quotes.clinic_today(plan),
        "can_see_plan": access.can(Perm.VIEW_PLAN)})


@patient_view(Perm.QUOTE, object_type="quote")
def quote_pdf(request: ClinicRequest, access: PatientAccess, quote_id: UUID) -> HttpResponse:
    from mesoclinic.kernel.pdf import render_pdf

    quote = _quote(access, quote_id)
    pdf = render_pdf("plans/pdf/quote.html", quote_pdf_context(access, quote))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="quote-{quote.public_id}.pdf"'
    return response


def quote_pdf_context(access: PatientAccess, quote: Quote) -> dict[str, object]:
    return {"patient": access.patient, "clinic": access.patient.clinic, "quote": quote,
            "work": work_summary(quote.plan), "lines": quote.lines, "printed_at": timezone.now()}


@require_POST
@patient_view(Perm.QUOTE, object_type="quote")
def accept_quote(request: ClinicRequest, access: PatientAccess, quote_id: UUID) -> HttpResponse:
    quote = _quote(access, quote_id)
    try:
        quotes.accept_quote(quote=quote, by=access.user, actor=access.actor)
    except quotes.QuoteRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Quote accepted: these prices hold for the plan's sessions."))
    return redirect("plans:quote", public_id=access.patient.public_id, quote_id=quote.public_id)


def _section(access: PatientAccess, plan: TreatmentPlan) -> dict[str, object] | None:
    if not access.can(Perm.QUOTE):
        return None
    return {"template": "plans/_quote_section.html", "plan": plan,
            "quotes": list(plan.quotes.select_related("issued_by")[:10]),
            "accepted": quotes.accepted_quote(plan)}


SECTIONS.append(_section)
