"""Session pages: the pre-session check and start, the chart (injection map), signing, amending,
the aftercare sheet, and the recall list of a lot.

Sessions are clinical: reading needs Perm.VIEW_CLINICAL, charting Perm.CHART; every page is one
audited read through `patient_view`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.models import User
from mesoclinic.accounts.permissions import Perm, Role
from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting import actions, aftercare, aftercare_issue, maps, precheck, recall
from mesoclinic.charting.actions import (
    ChartUpdate,
    ComponentSpec,
    PointSpec,
    SessionNotReady,
    SessionRefused,
)
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.inventory import queries
from mesoclinic.inventory.models import Lot
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.knowledge.store import active_pack
from mesoclinic.lib.spreadsheet import safe_cell
from mesoclinic.patients.access import PatientAccess, patient_view
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.scheduling import series
from mesoclinic.scheduling.models import Appointment, Device
from mesoclinic.screening.contract import InvalidIntake


def _plan(access: PatientAccess, plan_id: str | UUID | None) -> TreatmentPlan:
    found = list(TreatmentPlan.objects.filter(public_id=plan_id, patient=access.patient)[:1]) \
        if plan_id else []
    if not found:
        raise Http404("No such plan")
    return found[0]


def _session(access: PatientAccess, session_id: UUID) -> TreatmentSession:
    found = list(TreatmentSession.objects.select_related(
        "plan", "performer", "assistant", "signed_by", "device", "clinic__organisation", "patient")
        .filter(public_id=session_id, patient=access.patient)[:1])
    if not found:
        raise Http404("No such session")
    return found[0]


def _appointment(access: PatientAccess, appointment_id: str | None) -> Appointment | None:
    if not appointment_id:
        return None
    try:
        UUID(appointment_id)
    except ValueError:
        raise Http404("No such appointment") from None
    found = list(Appointment.objects.filter(public_id=appointment_id, patient=access.patient)[:1])
    if not found:
        raise Http404("No such appointment")
    return found[0]


def _label(code: str) -> str:
    entry = active_pack().ingredients.get(code)
    return entry.name if entry is not None else code


def labels(version: Any) -> dict[str, str]:
    """The plan's codes in the pack's words (the knowledge pack names them for staff)."""
    pack = active_pack()

    def label(mapping: Any, code: str) -> str:
        entry = mapping.get(code)
        return str(getattr(entry, "label", None) or code)

    return {"area": label(pack.areas, version.area), "technique": label(pack.techniques, version.technique),
            "delivery": label(pack.deliveries, version.delivery)}


def usable_lots(access: PatientAccess, code: str) -> list[Lot]:
    return list(queries.usable_lots(access.clinic, ingredient=code).distinct())


def _solution(access: PatientAccess, plan: TreatmentPlan) -> list[dict[str, Any]]:
    """Each component of the plan's solution (and its cream) with the lots that could supply it."""
    version = plan.current
    rows = []
    for item in version.ingredients.all():
        rows.append({"code": item.ingredient, "label": _label(item.ingredient),
                     "concentration": f"{item.concentration.normalize()} {item.unit}",
                     "needed": item.volume_ml, "lots": usable_lots(access, item.ingredient)})
    if version.anaesthetic_cream:
        # The cream's tube is tracked when the clinic stocks it by this ingredient; not required.
        rows.append({"code": version.anaesthetic_cream, "label": _label(version.anaesthetic_cream),
                     "concentration": "", "needed": Decimal("1"), "optional": True,
                     "lots": usable_lots(access, version.anaesthetic_cream)})
    return rows


def _chosen(access: PatientAccess, solution: list[dict[str, Any]],
            data: Any | None) -> tuple[list[ComponentSpec], dict[str, str]]:
    """The lot picked for each component (the first to expire unless the form says otherwise)."""
    specs, errors = [], {}
    for i, row in enumerate(solution):
        picked = data.get(f"lot_{i}", "") if data is not None else ""
        quantity_text = data.get(f"quantity_{i}", "") if data is not None else ""
        lot: Lot | None = None
        if picked:
            found = list(Lot.objects.select_related("product").filter(public_id=picked)[:1]) \
                if _is_uuid(picked) else []
            if not found:
                errors[f"lot_{i}"] = _("No such lot.")
                continue
            lot = found[0]
        elif row["lots"] and not (row.get("optional") and data is not None):
            lot = row["lots"][0]
        if lot is None and row.get("optional"):
            continue
        if lot is None:
            errors[f"lot_{i}"] = _("No usable lot of %(name)s in stock.") % {"name": row["label"]}
            continue
        try:
            quantity = actions.parse_decimal(quantity_text, f"quantity_{i}") if quantity_text \
                else Decimal(row["needed"])
        except SessionRefused as exc:
            errors[exc.field] = exc.message
            continue
        specs.append(ComponentSpec(ingredient=row["code"], lot=lot, quantity=quantity,
                                   concentration=row["concentration"]))
    return specs, errors


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _start_context(access: PatientAccess, plan: TreatmentPlan, appointment: Appointment | None,
                   data: Any | None = None) -> dict[str, Any]:
    solution = _solution(access, plan)
    specs, errors = _chosen(access, solution, data)
    lots = [precheck.LotUse(s.lot, s.quantity) for s in specs]
    outcome = precheck.evaluate(clinic=access.clinic, patient=access.patient, plan=plan,
                                performer=access.user, lots=lots)
    picked = {i: s.lot.public_id for i, s in enumerate(specs)}
    for i, row in enumerate(solution):
        row["picked"] = picked.get(i)
        row["index"] = i
    return {
        "patient": access.patient, "plan": plan, "version": plan.current, "appointment": appointment,
        "labels": labels(plan.current),
        "outcome": outcome, "solution": solution, "lot_errors": errors,
        "assistants": [u for u in series.practitioners(access.clinic) if u.pk != access.user.pk],
        "devices": Device.objects.filter(clinic=access.clinic, active=True),
        "ingredients": [(c, _label(c)) for c in precheck.plan_ingredients(plan)],
        "can_chart": access.can(Perm.CHART),
        "now_local": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }


@require_http_methods(["GET", "POST"])
@patient_view(Perm.CHART, object_type="treatment_session")
def start(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    plan = _plan(access, source.get("plan"))
    appointment = _appointment(access, source.get("appointment"))
    begun = TreatmentSession.objects.filter(appointment=appointment).first() if appointment else None
    if begun is not None:
        return redirect("charting:session", access.patient.public_id, begun.public_id)
    if request.method == "GET":
        return render(request, "charting/start.html", _start_context(access, plan, appointment))
    context = _start_context(access, plan, appointment, request.POST)
    if context["lot_errors"]:
        return render(request, "charting/start.html", context, status=422)
    specs, _errors = _chosen(access, context["solution"], request.POST)
    assistant = _staff(access, request.POST.get("assistant"))
    device = Device.objects.filter(clinic=access.clinic, public_id=request.POST.get("device", "")).first() \
        if _is_uuid(request.POST.get("device", "")) else None
    try:
        session = actions.start_session(clinic=access.clinic, patient=access.patient, plan=plan,
                                        appointment=appointment, performer=access.user,
                                        assistant=assistant, device=device, components=specs,
                                        actor=access.actor)
    except SessionNotReady as exc:
        context["outcome"] = exc.outcome
        return render(request, "charting/start.html", context, status=422)
    except SessionRefused as exc:
        context["lot_errors"] = {exc.field: exc.message}
        return render(request, "charting/start.html", context, status=422)
    messages.success(request, _("Session started: the pre-session check passed."))
    return redirect("charting:session", access.patient.public_id, session.public_id)


def _staff(access: PatientAccess, public_id: str | None) -> User | None:
    if not public_id or not _is_uuid(public_id):
        return None
    return series.practitioner(access.clinic, public_id)


def _back_to_start(access: PatientAccess, request: ClinicRequest) -> HttpResponse:
    query = f"?plan={request.POST.get('plan', '')}"
    if request.POST.get("appointment"):
        query += f"&appointment={request.POST['appointment']}"
    return redirect(reverse("charting:start", args=[access.patient.public_id]) + query)


@require_POST
@patient_view(Perm.CHART, object_type="allergy_test")
def allergy_test(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    plan = _plan(access, request.POST.get("plan"))
    try:
        performed = _local_moment(request.POST.get("performed_at", ""), "performed_at")
        actions.record_allergy_test(
            clinic=access.clinic, patient=access.patient, performed_at=performed,
            ingredients=request.POST.getlist("tested"), reactions=request.POST.getlist("reacted"),
            note=request.POST.get("note", "")[:500], by=access.user, actor=access.actor)
    except SessionRefused as exc:
        context = _start_context(access, plan, _appointment(access, request.POST.get("appointment")))
        context["allergy_error"] = exc.message
        return render(request, "charting/start.html", context, status=422)
    messages.success(request, _("Allergy test recorded."))
    return _back_to_start(access, request)


def _local_moment(text: str, field_name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SessionRefused(field_name, _("Enter a valid date and time.")) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@require_POST
@patient_view(Perm.CHART, object_type="treatment_session")
def cream(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    _plan(access, request.POST.get("plan"))
    appointment = _appointment(access, request.POST.get("appointment"))
    actions.record_cream(clinic=access.clinic, patient=access.patient, appointment=appointment,
                         applied_at=timezone.now(), by=access.user, actor=access.actor)
    messages.success(request, _("Cream application recorded: the session can start in 30 minutes."))
    return _back_to_start(access, request)


@require_POST
@patient_view(Perm.SCREEN, object_type="screening")
def rescreen(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    """Screen again for today's session, with the allergy test on record."""
    plan = _plan(access, request.POST.get("plan"))
    try:
        actions.rescreen_for_session(plan=plan, by=access.user, actor=access.actor)
    except InvalidIntake as exc:
        messages.error(request, str(exc))
        return _back_to_start(access, request)
    messages.success(request, _("Screened again for today's session."))
    return _back_to_start(access, request)


# --- the chart --------------------------------------------------------------------------------

def _maps(session: TreatmentSession) -> list[dict[str, Any]]:
    ids: list[str] = []
    for area in session.areas:
        ids += [m for m in maps.maps_for_area(area) if m not in ids]
    # The SVG is generated by our own code from fixed definitions, escaped there.
    return [{"id": m, "label": _(maps.MAPS[m].label),
             "svg": mark_safe(maps.svg(m, translate=_))}  # noqa: S308
            for m in ids]


def _points_json(session: TreatmentSession) -> str:
    return json.dumps([{"map": p.map_id, "x": float(p.x), "y": float(p.y), "region": p.region,
                        "depth_mm": float(p.depth_mm), "volume_ml": float(p.volume_ml),
                        "depth_reason": p.depth_reason} for p in session.points.all()])


def _chart_context(access: PatientAccess, session: TreatmentSession, **extra: Any) -> dict[str, Any]:
    count, volume = actions.totals(session)
    version = session.plan.versions.get(number=session.plan_version)
    kept = getattr(session, "aftercare", None)
    components = list(session.components.select_related("lot__product", "stock_move"))
    for component in components:
        component.label = _label(component.ingredient)  # type: ignore[attr-defined]
    return {
        "patient": access.patient, "session": session, "version": version,
        "components": components, "labels": labels(version),
        "performer_role": Role(session.performer_role).label,
        "maps": _maps(session), "points_json": extra.pop("points_json", None) or _points_json(session),
        "injections": count, "volume": volume,
        "default_depth": version.depth_mm,
        "default_volume": Decimal("0.05"),
        "can_chart": access.can(Perm.CHART) and not session.is_signed,
        "can_amend": access.can(Perm.CHART) and session.is_signed,
        "amendments": session.amendments.select_related("by"),
        "effective": actions.effective(session) if session.is_signed else None,
        "aftercare": kept,
        **(aftercare.partial_context(aftercare.AftercareSheet.from_json(kept.content),
                                     clinic_name=session.clinic.name, clinic_phone="")
           if kept is not None else {}),
        "check": session.check_output,
        **extra,
    }


def _point_specs(raw: str) -> list[PointSpec]:
    try:
        data = json.loads(raw or "[]")
    except json.JSONDecodeError:
        raise SessionRefused("points", _("The injection points could not be read.")) from None
    if not isinstance(data, list):
        raise SessionRefused("points", _("The injection points could not be read."))
    specs = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise SessionRefused(f"points[{i}]", _("The injection points could not be read."))
        try:
            x, y = float(str(item.get("x"))), float(str(item.get("y")))
        except (TypeError, ValueError):
            raise SessionRefused(f"points[{i}].x", _("Point %(n)d has no position.") % {"n": i + 1}) from None
        specs.append(PointSpec(
            map_id=str(item.get("map", "")), x=x, y=y,
            depth_mm=actions.parse_decimal(item.get("depth_mm"), f"points[{i}].depth_mm"),
            volume_ml=actions.parse_decimal(item.get("volume_ml"), f"points[{i}].volume_ml"),
            depth_reason=str(item.get("depth_reason") or "")[:300]))
    return specs


def chart_update(data: Any) -> ChartUpdate:
    quantities = {}
    for key in data:
        if key.startswith("quantity_") and key.removeprefix("quantity_").isdigit():
            position = int(key.removeprefix("quantity_"))
            quantities[position] = actions.parse_decimal(data[key], f"components[{position}].quantity")
    return ChartUpdate(
        points=_point_specs(data.get("points", "[]")),
        depth_min_mm=actions.parse_decimal(data["depth_min_mm"], "depth_min_mm")
        if data.get("depth_min_mm") else None,
        depth_max_mm=actions.parse_decimal(data["depth_max_mm"], "depth_max_mm")
        if data.get("depth_max_mm") else None,
        anaesthesia=data.get("anaesthesia"), immediate_reactions=data.get("immediate_reactions"),
        notes=data.get("notes"), quantities=quantities)


@require_http_methods(["GET", "POST"])
@patient_view(Perm.VIEW_CLINICAL, object_type="treatment_session")
def session_page(request: ClinicRequest, access: PatientAccess, session_id: UUID) -> HttpResponse:
    session = _session(access, session_id)
    if request.method == "POST":
        if not access.can(Perm.CHART):
            raise Http404("No such session")
        try:
            update = chart_update(request.POST)
            version = int(request.POST.get("version", "0") or 0)
            session = actions.save_chart(session=session, update=update, expected_version=version,
                                         actor=access.actor)
        except (SessionRefused, ValueError) as exc:
            error = exc if isinstance(exc, SessionRefused) else SessionRefused("version", str(exc))
            return render(request, "charting/session.html", _chart_context(
                access, session, error=error, points_json=request.POST.get("points", "[]")), status=422)
        if request.POST.get("then") == "sign":
            return _sign(request, access, session)
        messages.success(request, _("Chart saved."))
        return redirect("charting:session", access.patient.public_id, session.public_id)
    access.audit(AuditEvent.Action.VIEW, object_type="treatment_session", object_id=str(session.public_id))
    return render(request, "charting/session.html", _chart_context(access, session))


def _sign(request: ClinicRequest, access: PatientAccess, session: TreatmentSession) -> HttpResponse:
    try:
        signed = actions.sign_session(session=session, by=access.user, actor=access.actor,
                                      expected_version=session.version)
    except SessionRefused as exc:
        session.refresh_from_db()
        return render(request, "charting/session.html", _chart_context(access, session, error=exc),
                      status=422)
    aftercare_issue.issue(signed, actor=access.actor)
    messages.success(request, _("Chart signed. The aftercare sheet is ready."))
    return redirect("charting:session", access.patient.public_id, signed.public_id)


@require_POST
@patient_view(Perm.CHART, object_type="treatment_session")
def sign(request: ClinicRequest, access: PatientAccess, session_id: UUID) -> HttpResponse:
    session = _session(access, session_id)
    if session.is_signed:
        return render(request, "charting/session.html", _chart_context(
            access, session, error=SessionRefused("status", _("This chart is already signed."))),
            status=422)
    return _sign(request, access, session)


@require_POST
@patient_view(Perm.CHART, object_type="treatment_session")
def amend(request: ClinicRequest, access: PatientAccess, session_id: UUID) -> HttpResponse:
    session = _session(access, session_id)
    current = actions.effective(session) if session.is_signed else {}
    changes = {name: request.POST[name] for name in actions.AMENDABLE
               if name in request.POST and request.POST[name] != (current.get(name) or "")}
    try:
        actions.amend_session(session=session, changes=changes, reason=request.POST.get("reason", ""),
                              by=access.user, actor=access.actor)
    except SessionRefused as exc:
        return render(request, "charting/session.html", _chart_context(
            access, session, amend_error=exc), status=422)
    messages.success(request, _("Amendment recorded; the signed chart is kept as it was."))
    return redirect("charting:session", access.patient.public_id, session.public_id)


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="aftercare_sheet")
def aftercare_pdf(request: ClinicRequest, access: PatientAccess, session_id: UUID) -> HttpResponse:
    session = _session(access, session_id)
    sheet = getattr(session, "aftercare", None)
    if sheet is None:
        raise Http404("No aftercare sheet yet")
    with default_storage.open(sheet.pdf.name, "rb") as handle:
        content = handle.read()
    access.audit(AuditEvent.Action.VIEW, object_type="aftercare_sheet", object_id=str(session.public_id),
                 detail="aftercare PDF")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="aftercare-{session.session_number}.pdf"'
    return response


@require_POST
@patient_view(Perm.CHART, object_type="aftercare_sheet")
def aftercare_send(request: ClinicRequest, access: PatientAccess, session_id: UUID) -> HttpResponse:
    session = _session(access, session_id)
    sheet = getattr(session, "aftercare", None)
    if sheet is None or not access.patient.email:
        messages.error(request, _("There is no email address on the patient's record."))
    else:
        aftercare_issue.send(sheet, actor=access.actor)
        messages.success(request, _("The aftercare sheet will be emailed to %(email)s.")
                         % {"email": access.patient.email})
    return redirect("charting:session", access.patient.public_id, session.public_id)


# --- recall -----------------------------------------------------------------------------------

def _recall_lot(access: ClinicAccess, lot_id: UUID) -> Lot:
    found = list(Lot.objects.select_related("product", "clinic").filter(
        public_id=lot_id, clinic__organisation=access.clinic.organisation)[:1])
    if not found or found[0].clinic_id != access.clinic.pk:
        raise Http404("No such lot")
    return found[0]


@require_GET
@clinic_view(Perm.VIEW_CLINICAL, object_type="lot")
def recall_list(request: ClinicRequest, access: ClinicAccess, lot_id: UUID) -> HttpResponse:
    lot = _recall_lot(access, lot_id)
    rows = recall.affected(lot, organisation=access.clinic.organisation, clinic=access.clinic)
    areas = active_pack().areas
    rows = [dataclasses.replace(r, areas=tuple(str(areas[a].label) if a in areas else a for a in r.areas))
            for r in rows]
    show_contacts = access.can(Perm.VIEW_DEMOGRAPHICS)
    access.audit(AuditEvent.Action.VIEW, object_type="lot", object_id=str(lot.public_id),
                 detail=f"recall list: {len(rows)} sessions")
    return render(request, "charting/recall.html", {"lot": lot, "rows": rows,
                                                    "show_contacts": show_contacts,
                                                    "patients": len({r.patient_id for r in rows})})


@require_GET
@clinic_view(Perm.VIEW_CLINICAL, object_type="lot", action=AuditEvent.Action.EXPORT)
def recall_csv(request: ClinicRequest, access: ClinicAccess, lot_id: UUID) -> HttpResponse:
    lot = _recall_lot(access, lot_id)
    rows = recall.affected(lot, organisation=access.clinic.organisation, clinic=access.clinic)
    show_contacts = access.can(Perm.VIEW_DEMOGRAPHICS)
    access.audit(AuditEvent.Action.EXPORT, object_type="lot", object_id=str(lot.public_id),
                 detail=f"recall CSV: {len(rows)} sessions")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="recall-{lot.number}.csv"'
    writer = csv.writer(response)
    header = ["patient", "patient_id", "session", "date", "areas", "quantity", "lot", "clinic"]
    if show_contacts:
        header += ["phone", "email"]
    writer.writerow(header)
    for row in rows:
        line = [safe_cell(row.patient_name), row.patient_id, row.session_number,
                row.date.isoformat(), " ".join(row.areas), row.quantity, safe_cell(row.lot),
                safe_cell(row.clinic)]
        if show_contacts:
            line += [safe_cell(row.phone), safe_cell(row.email)]
        writer.writerow(line)
    return response

