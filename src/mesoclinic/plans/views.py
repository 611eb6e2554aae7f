"""Plan pages: choose the protocol, write the plan (deviations flagged live), approve, move it on."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.models import AuditEvent
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.knowledge.pack import KnowledgePack
from mesoclinic.knowledge.store import active_pack
from mesoclinic.patients.access import PatientAccess, patient_view
from mesoclinic.plans import actions, rules
from mesoclinic.plans.actions import ApprovalRefused, PlanRefused
from mesoclinic.plans.forms import JUSTIFY, PlanForm, ProtocolForm
from mesoclinic.plans.lifecycle import allowed_steps
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.screening.models import Screening


def _plan(access: PatientAccess, plan_id: UUID) -> TreatmentPlan:
    """A plan of this patient; another patient's plan id is a 404 (revealing nothing)."""
    found = list(TreatmentPlan.objects.select_related("patient", "clinic")
                 .filter(public_id=plan_id, patient=access.patient)[:1])
    if not found:
        raise Http404("No such plan")
    return found[0]


def _labels(pack: KnowledgePack, version: Any) -> dict[str, str]:
    def label(mapping: Any, code: str) -> str:
        entry = mapping.get(code)
        return getattr(entry, "label", None) or getattr(entry, "name", None) or code

    return {
        "indication": label(pack.indications, version.indication),
        "area": label(pack.areas, version.area),
        "technique": label(pack.techniques, version.technique),
        "delivery": label(pack.deliveries, version.delivery),
        "cream": label(pack.ingredients, version.anaesthetic_cream) if version.anaesthetic_cream else "",
    }


def _review(form: PlanForm) -> dict[str, Any]:
    """The live check: deviations needing a reason, conflicts in the protocol, structural errors."""
    deviations: list[rules.Deviation] = []
    problems: list[str] = []
    form.is_valid()
    if form.values_are_clean():
        values = form.values()
        problems = [f"{p.message}" for p in rules.check_structure(values, form.pack)]
        deviations = rules.deviations(values, form.protocol)
    else:
        labels = [str(form.fields[n].label) for n in form.errors
                  if n in form.fields and not form.is_solution_field(n)]
        problems = [_("Complete these values to compare them with the protocol: %(fields)s")
                    % {"fields": ", ".join(labels)} if labels
                    else _("Some values are not valid yet; the comparison with the protocol "
                           "waits for them.")]
    # An unfinished solution row is named too, so the panel never says "within the protocol"
    # about a plan that cannot be saved yet.
    for name, errors in form.errors.items():
        if form.is_solution_field(name):
            row = int(name.rsplit("_", 1)[1]) + 1
            problems += [_("Solution row %(row)d: %(error)s") % {"row": row, "error": e}
                         for e in errors]
    reasons = form.justifications()
    return {
        "deviations": [{"d": d, "name": JUSTIFY + d.field, "reason": reasons.get(d.field, "")}
                       for d in deviations],
        "conflicts": rules.conflicts(form.protocol),
        "problems": problems,
        "needle_free": form.data.get("delivery") == "needle_free" if form.is_bound else False,
    }


def _editor(request: ClinicRequest, access: PatientAccess, form: PlanForm, *,
            plan: TreatmentPlan | None, status: int = 200) -> HttpResponse:
    context = {"patient": access.patient, "form": form, "plan": plan, "protocol": form.protocol,
               "review": _review(form) if form.is_bound else {
                   "deviations": [], "conflicts": rules.conflicts(form.protocol), "problems": []},
               "fact_area": form.pack.areas.get(form.protocol.area)}
    return render(request, "plans/edit.html", context, status=status)


def _save(request: ClinicRequest, access: PatientAccess, form: PlanForm,
          plan: TreatmentPlan | None) -> HttpResponse:
    if form.is_valid():
        try:
            if plan is None:
                plan = actions.create_plan(patient=access.patient, draft=form.draft(),
                                           by=access.user, actor=access.actor)
                messages.success(request, _("Plan saved as a draft."))
            else:
                based_on = int(request.POST.get("based_on") or 0)
                before = plan.version
                plan = actions.revise_plan(plan=plan, draft=form.draft(), based_on=based_on,
                                           by=access.user, actor=access.actor)
                messages.success(request, _("Saved as version %(n)d: approval and consent are needed "
                                            "again.") % {"n": plan.version}
                                 if plan.version != before else _("Plan saved."))
            return redirect("plans:detail", public_id=access.patient.public_id,
                            plan_id=plan.public_id)
        except PlanRefused as exc:
            name = form.field_for(exc.field)
            if name and name in form.fields:
                form.add_error(name, exc.message)
            else:
                form.add_error(None, f"{exc.field}: {exc.message}")
    return _editor(request, access, form, plan=plan, status=422)


@require_http_methods(["GET", "POST"])
@patient_view(Perm.WRITE_PLAN, object_type="treatment_plan")
def new_plan(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    pack = active_pack()
    chooser = ProtocolForm(request.GET or None, pack=pack)
    if not chooser.is_valid():
        return render(request, "plans/new.html", {"patient": access.patient, "form": chooser},
                      status=422 if request.GET else 200)
    choice = chooser.cleaned_data
    protocol = pack.protocol_for(choice["area"], choice["indication"])
    assert protocol is not None  # noqa: S101 (ProtocolForm.clean checked it)
    if request.method == "POST":
        return _save(request, access, PlanForm(request.POST, pack=pack, protocol=protocol), None)
    values = rules.defaults(protocol, choice["area_size"], choice["indication"])
    cream = "emla" if values.anaesthetic_cream and "emla" in pack.ingredients else ""
    draft = actions.PlanDraft(values=values, solution=(), anaesthetic_cream=cream)
    return _editor(request, access,
                   PlanForm(initial=PlanForm.initial_for(draft), pack=pack, protocol=protocol),
                   plan=None)


@require_http_methods(["GET", "POST"])
@patient_view(Perm.WRITE_PLAN, object_type="treatment_plan")
def edit_plan(request: ClinicRequest, access: PatientAccess, plan_id: UUID) -> HttpResponse:
    plan = _plan(access, plan_id)
    if not plan.is_open:
        messages.error(request, _("A completed or stopped plan cannot be changed."))
        return redirect("plans:detail", public_id=access.patient.public_id, plan_id=plan.public_id)
    pack = active_pack()
    current = plan.current
    protocol = pack.protocol_for(current.area, current.indication)
    if protocol is None:
        raise Http404("The plan's protocol is no longer in the knowledge pack")
    if request.method == "POST":
        return _save(request, access, PlanForm(request.POST, pack=pack, protocol=protocol), plan)
    form = PlanForm(initial=PlanForm.initial_for(actions.draft_of(current)), pack=pack,
                    protocol=protocol)
    return _editor(request, access, form, plan=plan)


@require_POST
@patient_view(Perm.WRITE_PLAN, object_type="treatment_plan")
def check_plan(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    """htmx: the deviation panel for what the editor holds now (nothing is saved)."""
    pack = active_pack()
    protocol = pack.protocol_for(request.POST.get("area", ""), request.POST.get("indication", ""))
    if protocol is None:
        return HttpResponse(_("Choose an indication and area that a protocol covers."), status=422)
    form = PlanForm(request.POST, pack=pack, protocol=protocol)
    return render(request, "plans/_review.html", {"review": _review(form), "form": form})


@patient_view(Perm.VIEW_PLAN, object_type="treatment_plan")
def plan_detail(request: ClinicRequest, access: PatientAccess, plan_id: UUID) -> HttpResponse:
    return _detail(request, access, _plan(access, plan_id))


def _detail(request: ClinicRequest, access: PatientAccess, plan: TreatmentPlan, *,
            refused: ApprovalRefused | None = None, status: int = 200) -> HttpResponse:
    pack = active_pack()
    versions = list(plan.versions.select_related("created_by", "approved_by", "screening"))
    current = next((v for v in versions if v.number == plan.version), None) or plan.current
    protocol = pack.protocol_for(current.area, current.indication)
    context = {
        "patient": access.patient, "plan": plan, "version": current, "versions": versions,
        "labels": _labels(pack, current), "protocol": protocol,
        "ingredients": [(pack.ingredients[i.ingredient].name if i.ingredient in pack.ingredients
                         else i.ingredient, i) for i in current.ingredients.all()],
        "steps": [s.value for s in allowed_steps(plan.status)],
        "can_write": access.can(Perm.WRITE_PLAN), "refused": refused,
        "extra_sections": plan_sections(access, plan),
    }
    return render(request, "plans/detail.html", context, status=status)


def plan_sections(access: PatientAccess, plan: TreatmentPlan) -> list[dict[str, Any]]:
    """Sections other parts of the plans app add to the plan page (consent, quote)."""
    return [section for build in SECTIONS if (section := build(access, plan)) is not None]


# Each builder returns {"template": ..., **context} or None; consent and quotes register here.
SECTIONS: list[Any] = []


@require_POST
@patient_view(Perm.WRITE_PLAN, object_type="treatment_plan")
def approve_plan(request: ClinicRequest, access: PatientAccess, plan_id: UUID) -> HttpResponse:
    plan = _plan(access, plan_id)
    # "Approve on this screening" after its review findings were accepted; anything else screens anew.
    given = request.POST.get("screening", "")
    screening = (Screening.objects.filter(public_id=given, patient=access.patient).first()
                 if _is_uuid(given) else None)
    try:
        actions.approve_plan(plan=plan, by=access.user, actor=access.actor, screening=screening)
    except ApprovalRefused as exc:
        return _detail(request, access, plan, refused=exc, status=409)
    except PlanRefused as exc:
        messages.error(request, exc.message)
        return redirect("plans:detail", public_id=access.patient.public_id, plan_id=plan.public_id)
    messages.success(request, _("Plan approved and proposed to the patient."))
    return redirect("plans:detail", public_id=access.patient.public_id, plan_id=plan.public_id)


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


@require_POST
@patient_view(Perm.WRITE_PLAN, object_type="treatment_plan")
def move_plan(request: ClinicRequest, access: PatientAccess, plan_id: UUID) -> HttpResponse:
    plan = _plan(access, plan_id)
    step = request.POST.get("step", "")
    try:
        if step == "activate":
            actions.activate_plan(plan=plan, actor=access.actor)
            messages.success(request, _("Plan active: sessions may be booked."))
        elif step == "complete":
            actions.complete_plan(plan=plan, actor=access.actor)
            messages.success(request, _("Plan completed."))
        elif step == "stop":
            actions.stop_plan(plan=plan, reason=request.POST.get("reason", ""), actor=access.actor)
            messages.success(request, _("Plan stopped."))
        else:
            access.audit(AuditEvent.Action.UPDATE, object_type="treatment_plan",
                         object_id=str(plan.public_id), outcome=AuditEvent.Outcome.DENIED,
                         detail=f"unknown step {step[:40]!r}")
            return HttpResponse(_("Unknown step."), status=400)
    except PlanRefused as exc:
        messages.error(request, exc.message)
        return redirect("plans:detail", public_id=access.patient.public_id, plan_id=plan.public_id)
    return redirect("plans:detail", public_id=access.patient.public_id, plan_id=plan.public_id)
