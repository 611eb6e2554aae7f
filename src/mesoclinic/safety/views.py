"""Safety pages: reporting and handling a patient's adverse events; the clinic's alerts, clusters
and check-in calls; the safety settings.

Events are clinical: reading needs Perm.VIEW_CLINICAL, reporting Perm.REPORT_EVENT, closing,
reopening and clearing a hold Perm.MANAGE_EVENT (physicians). The alert inbox needs
Perm.VIEW_ALERTS: a clinician sees the clinic's alerts, a manager only those addressed to them,
without clinical detail. A cluster's call list (names and phones) needs Perm.CALL_EXPOSED.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting.models import SessionComponent, TreatmentSession
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.knowledge.store import active_pack
from mesoclinic.patients.access import PatientAccess, patient_view
from mesoclinic.safety import actions, alerts
from mesoclinic.safety.actions import CheckInAnswer, SafetyRefused
from mesoclinic.safety.alerts import AlertRefused
from mesoclinic.safety.forms import CallForm, CheckInForm, EventForm, NoteForm, SettingsForm
from mesoclinic.safety.models import (
    AdverseEvent,
    Alert,
    CheckIn,
    Cluster,
    ClusterCall,
    SafetySettings,
    Seriousness,
)
from mesoclinic.safety.surveillance import GRACE_DAYS, local_date

UPCOMING_DAYS = 7


def _refuse(form: forms.Form, exc: SafetyRefused) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _zone(access: PatientAccess | ClinicAccess) -> ZoneInfo:
    return ZoneInfo(access.clinic.timezone)


def _patient_sessions(access: PatientAccess) -> list[TreatmentSession]:
    return list(TreatmentSession.objects.filter(patient=access.patient).order_by("-started_at")[:50])


def _event(access: PatientAccess, event_id: UUID) -> AdverseEvent:
    found = list(AdverseEvent.objects.select_related("clinic__organisation", "patient", "reported_by")
                 .filter(public_id=event_id, patient=access.patient)[:1])
    if not found:
        raise Http404("No such event")
    return found[0]


# --- a patient's events ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@patient_view(Perm.REPORT_EVENT, object_type="adverse_event")
def report(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    sessions = _patient_sessions(access)
    if not sessions:
        return render(request, "safety/report.html", {"patient": access.patient, "form": None}, status=200)
    initial: dict[str, Any] = {"onset": local_date(timezone.now(), access.clinic.timezone)}
    chosen = request.GET.get("session")
    initial["sessions"] = [chosen] if chosen else [str(sessions[0].public_id)]
    form = EventForm(request.POST if request.method == "POST" else None, initial=initial,
                     sessions=sessions, zone=_zone(access))
    if request.method == "POST" and form.is_valid():
        try:
            event = actions.report_event(patient=access.patient, spec=form.spec(), by=access.user,
                                         actor=access.actor)
        except SafetyRefused as exc:
            _refuse(form, exc)
        else:
            alert = event.alerts.first()
            if alert is not None:
                messages.warning(request, _("Recorded. An alert went to %(who)s: %(reason)s.") % {
                    "who": ", ".join(u.display_name or u.username for u in alert.recipients.all()),
                    "reason": alert.get_reason_display()})
            else:
                messages.success(request, _("Side effect recorded."))
            return redirect("adverse_events:event", access.patient.public_id, event.public_id)
    return render(request, "safety/report.html", {"patient": access.patient, "form": form},
                  status=422 if request.method == "POST" else 200)


def _links(event: AdverseEvent) -> list[dict[str, Any]]:
    """Each session the event followed, with what it exposes: lots, technique, area, room, performer."""
    pack = active_pack()
    rows = []
    sessions = event.sessions.select_related("performer", "appointment__room").prefetch_related(
        Prefetch("components", queryset=SessionComponent.objects.select_related("lot__product")))
    for s in sessions.order_by("started_at"):
        technique = pack.techniques.get(s.technique)
        rows.append({"session": s,
                     "areas": ", ".join(str(getattr(pack.areas.get(a), "label", a)) for a in s.areas),
                     "technique": getattr(technique, "label", s.technique),
                     "room": s.appointment.room.name if s.appointment and s.appointment.room else "",
                     "lots": [f"{c.lot.product.name} {c.lot.number}" for c in s.components.all()]})
    return rows


def _event_context(access: PatientAccess, event: AdverseEvent, **extra: Any) -> dict[str, Any]:
    form = extra.pop("form", None)
    if form is None and event.is_open and access.can(Perm.REPORT_EVENT):
        form = EventForm(initial=EventForm.initial_for(event), sessions=_patient_sessions(access),
                         zone=_zone(access))
    return {"patient": access.patient, "event": event, "label": actions.effect_label(event),
            "links": _links(event), "entries": event.entries.select_related("by"),
            "alerts": event.alerts.select_related("acknowledged_by"), "form": form,
            "note_form": extra.pop("note_form", None) or NoteForm(),
            "can_manage": access.can(Perm.MANAGE_EVENT), "can_report": access.can(Perm.REPORT_EVENT),
            "seriousness_labels": Seriousness.choices, **extra}


@require_GET
@patient_view(Perm.VIEW_CLINICAL, object_type="adverse_event")
def event_page(request: ClinicRequest, access: PatientAccess, event_id: UUID) -> HttpResponse:
    event = _event(access, event_id)
    return render(request, "safety/event.html", _event_context(access, event))


@require_POST
@patient_view(Perm.REPORT_EVENT, object_type="adverse_event")
def edit(request: ClinicRequest, access: PatientAccess, event_id: UUID) -> HttpResponse:
    event = _event(access, event_id)
    form = EventForm(request.POST, sessions=_patient_sessions(access), zone=_zone(access))
    if form.is_valid():
        try:
            actions.update_event(event=event, spec=form.spec(), by=access.user, actor=access.actor,
                                 expected_version=_version(request))
        except SafetyRefused as exc:
            _refuse(form, exc)
        else:
            messages.success(request, _("Event updated."))
            return redirect("adverse_events:event", access.patient.public_id, event.public_id)
    return render(request, "safety/event.html", _event_context(access, event, form=form), status=422)


def _version(request: ClinicRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def _manage(request: ClinicRequest, access: PatientAccess, event_id: UUID, step: str) -> HttpResponse:
    event = _event(access, event_id)
    note = request.POST.get("note", "")
    done = {"close": _("Event closed."), "reopen": _("Event reopened: it holds the next session again "
                                                      "while it is moderate or worse."),
            "clear": _("Hold cleared: the next session may go ahead.")}
    try:
        if step == "close":
            actions.close_event(event=event, by=access.user, actor=access.actor, note=note,
                                expected_version=_version(request))
        elif step == "reopen":
            actions.reopen_event(event=event, reason=note, by=access.user, actor=access.actor,
                                 expected_version=_version(request))
        else:
            actions.clear_hold(event=event, note=note, by=access.user, actor=access.actor,
                               expected_version=_version(request))
    except SafetyRefused as exc:
        note_form = NoteForm(request.POST)
        note_form.is_valid()
        note_form.add_error(None, exc.message)
        return render(request, "safety/event.html",
                      _event_context(access, event, note_form=note_form, failed_step=step), status=422)
    messages.success(request, done[step])
    return redirect("adverse_events:event", access.patient.public_id, event.public_id)


@require_POST
@patient_view(Perm.MANAGE_EVENT, object_type="adverse_event")
def close(request: ClinicRequest, access: PatientAccess, event_id: UUID) -> HttpResponse:
    return _manage(request, access, event_id, "close")


@require_POST
@patient_view(Perm.MANAGE_EVENT, object_type="adverse_event")
def reopen(request: ClinicRequest, access: PatientAccess, event_id: UUID) -> HttpResponse:
    return _manage(request, access, event_id, "reopen")


@require_POST
@patient_view(Perm.MANAGE_EVENT, object_type="adverse_event")
def clear_hold(request: ClinicRequest, access: PatientAccess, event_id: UUID) -> HttpResponse:
    return _manage(request, access, event_id, "clear")


# --- the clinic's alerts -----------------------------------------------------------------------


def _visible_alerts(access: ClinicAccess) -> Any:
    shown = Alert.objects.filter(clinic=access.clinic)
    if not access.can(Perm.VIEW_CLINICAL):
        shown = shown.filter(recipients=access.user)
    return shown.select_related("patient", "cluster", "acknowledged_by").distinct()


@require_GET
@clinic_view(Perm.VIEW_ALERTS, object_type="safety_alert")
def alert_list(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    shown = _visible_alerts(access)
    open_alerts = list(shown.filter(acknowledged_at__isnull=True).order_by("ack_due_at")[:200])
    done = list(shown.filter(acknowledged_at__isnull=False).order_by("-acknowledged_at")[:30])
    mine = set(Alert.objects.filter(recipients=access.user, pk__in=[a.pk for a in open_alerts])
               .values_list("pk", flat=True))
    access.audit(AuditEvent.Action.VIEW, object_type="safety_alert",
                 detail=f"alerts: {len(open_alerts)} open, {len(done)} acknowledged shown")
    return render(request, "safety/alerts.html", {
        "open_alerts": open_alerts, "done": done, "mine": mine, "now": timezone.now(),
        "clinical": access.can(Perm.VIEW_CLINICAL)})


def _alert(access: ClinicAccess, alert_id: UUID) -> Alert:
    found = list(_visible_alerts(access).filter(public_id=alert_id)[:1])
    if not found:
        raise Http404("No such alert")
    return found[0]


def _alert_context(access: ClinicAccess, alert: Alert, **extra: Any) -> dict[str, Any]:
    clinical = access.can(Perm.VIEW_CLINICAL)
    return {"alert": alert, "clinical": clinical, "recipients": list(alert.recipients.all()),
            "may_acknowledge": alert.is_open and alerts.may_acknowledge(alert, access.user),
            "event_label": actions.effect_label(alert.event) if alert.event and clinical else "",
            "can_book": access.can(Perm.BOOK) and alert.patient is not None,
            "now": timezone.now(), **extra}


@require_GET
@clinic_view(Perm.VIEW_ALERTS, object_type="safety_alert")
def alert_page(request: ClinicRequest, access: ClinicAccess, alert_id: UUID) -> HttpResponse:
    alert = _alert(access, alert_id)
    patient_id = str(alert.patient.public_id) if alert.patient else ""
    access.audit(AuditEvent.Action.VIEW, object_type="safety_alert", object_id=str(alert.public_id),
                 patient_id=patient_id)
    return render(request, "safety/alert.html", _alert_context(access, alert))


@require_POST
@clinic_view(Perm.VIEW_ALERTS, object_type="safety_alert", action=AuditEvent.Action.UPDATE)
def acknowledge(request: ClinicRequest, access: ClinicAccess, alert_id: UUID) -> HttpResponse:
    alert = _alert(access, alert_id)
    try:
        alerts.acknowledge(alert, by=access.user, actor=access.actor, note=request.POST.get("note", ""))
    except AlertRefused as exc:
        access.audit(AuditEvent.Action.UPDATE, object_type="safety_alert", object_id=str(alert.public_id),
                     outcome=AuditEvent.Outcome.DENIED, detail="acknowledgement refused")
        return render(request, "safety/alert.html", _alert_context(access, alert, error=exc.message),
                      status=403 if exc.forbidden else 409)
    messages.success(request, _("Alert acknowledged."))
    return redirect("safety:alert", alert.public_id)


# --- clusters and their call lists -------------------------------------------------------------


def _cluster(access: ClinicAccess, cluster_id: UUID) -> Cluster:
    found = list(Cluster.objects.select_related("clinic__organisation", "closed_by")
                 .filter(public_id=cluster_id, clinic=access.clinic)[:1])
    if not found:
        raise Http404("No such cluster")
    return found[0]


def _cluster_context(access: ClinicAccess, cluster: Cluster, **extra: Any) -> dict[str, Any]:
    calls = list(cluster.calls.select_related("patient", "called_by")
                 .order_by("outcome", "patient__family_name"))
    # Who has the infection is clinical: the manager's call list names and phones only.
    ill: set[int] = set()
    if access.can(Perm.VIEW_CLINICAL):
        infected = AdverseEvent.objects.filter(public_id__in=cluster.events)
        ill = set(infected.values_list("patient_id", flat=True))
    return {"cluster": cluster, "calls": calls, "ill": ill, "call_form": CallForm(),
            "open_calls": sum(1 for c in calls if not c.done), "events_count": len(cluster.events),
            "can_close": access.can(Perm.MANAGE_EVENT) and cluster.status == Cluster.Status.OPEN,
            "note_form": extra.pop("note_form", None) or NoteForm(),
            "alert": cluster.alerts.first(), **extra}


@require_GET
@clinic_view(Perm.CALL_EXPOSED, object_type="safety_cluster")
def cluster_page(request: ClinicRequest, access: ClinicAccess, cluster_id: UUID) -> HttpResponse:
    cluster = _cluster(access, cluster_id)
    access.audit(AuditEvent.Action.VIEW, object_type="safety_cluster", object_id=str(cluster.public_id),
                 detail=f"call list: {len(cluster.exposed_patients)} exposed patients")
    return render(request, "safety/cluster.html", _cluster_context(access, cluster))


@require_POST
@clinic_view(Perm.CALL_EXPOSED, object_type="safety_cluster", action=AuditEvent.Action.UPDATE)
def cluster_call(request: ClinicRequest, access: ClinicAccess, cluster_id: UUID,
                 call_id: int) -> HttpResponse:
    cluster = _cluster(access, cluster_id)
    call = ClusterCall.objects.filter(cluster=cluster, pk=call_id).first()
    if call is None:
        raise Http404("No such call")
    form = CallForm(request.POST)
    if not form.is_valid():
        return render(request, "safety/cluster.html",
                      _cluster_context(access, cluster, call_error=form, failed_call=call.pk), status=422)
    actions.record_call(call=call, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"],
                        by=access.user, actor=access.actor)
    messages.success(request, _("Call recorded."))
    return redirect(reverse("safety:cluster", args=[cluster.public_id]) + f"#call-{call.pk}")


@require_POST
@clinic_view(Perm.MANAGE_EVENT, object_type="safety_cluster", action=AuditEvent.Action.UPDATE)
def cluster_close(request: ClinicRequest, access: ClinicAccess, cluster_id: UUID) -> HttpResponse:
    cluster = _cluster(access, cluster_id)
    try:
        actions.close_cluster(cluster=cluster, note=request.POST.get("note", ""), by=access.user,
                              actor=access.actor)
    except SafetyRefused as exc:
        note_form = NoteForm(request.POST)
        note_form.is_valid()
        note_form.add_error(None, exc.message)
        return render(request, "safety/cluster.html", _cluster_context(access, cluster, note_form=note_form),
                      status=422)
    messages.success(request, _("Cluster closed."))
    return redirect("safety:cluster", cluster.public_id)


# --- check-in calls ----------------------------------------------------------------------------


@require_GET
@clinic_view(Perm.REPORT_EVENT, object_type="check_in")
def checkin_list(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    today = local_date(timezone.now(), access.clinic.timezone)
    due = (CheckIn.objects.filter(clinic=access.clinic, status=CheckIn.Status.DUE,
                                  due_on__lte=today + timedelta(days=UPCOMING_DAYS))
           .select_related("patient", "session").order_by("due_on", "id"))
    rows = list(due[:500])
    missed_before = today - timedelta(days=GRACE_DAYS)
    groups = {"missed": [c for c in rows if c.due_on < missed_before],
              "today": [c for c in rows if missed_before <= c.due_on <= today],
              "upcoming": [c for c in rows if c.due_on > today]}
    done = list(CheckIn.objects.filter(clinic=access.clinic, status=CheckIn.Status.DONE,
                                       answered_at__date__gte=today - timedelta(days=7))
                .select_related("patient", "answered_by").order_by("-answered_at")[:50])
    access.audit(AuditEvent.Action.VIEW, object_type="check_in",
                 detail=f"call list: {len(groups['missed'])} missed, {len(groups['today'])} due, "
                        f"{len(groups['upcoming'])} upcoming")
    return render(request, "safety/checkins.html", {"groups": groups, "done": done, "today": today})


def _checkin(access: ClinicAccess, checkin_id: UUID) -> CheckIn:
    found = list(CheckIn.objects.select_related("patient", "session", "clinic__organisation", "event")
                 .filter(public_id=checkin_id, clinic=access.clinic)[:1])
    if not found:
        raise Http404("No such check-in")
    return found[0]


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.REPORT_EVENT, object_type="check_in")
def checkin_page(request: ClinicRequest, access: ClinicAccess, checkin_id: UUID) -> HttpResponse:
    checkin = _checkin(access, checkin_id)
    form = CheckInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        answer = CheckInAnswer(reached=data["reached"] == "yes", answers=form.answers(),
                               note=data.get("note") or "", onset=data.get("onset"))
        try:
            done = actions.record_checkin(checkin=checkin, answer=answer, by=access.user, actor=access.actor)
        except SafetyRefused as exc:
            _refuse(form, exc)
        else:
            if done.event is not None:
                messages.warning(request, _("Signs reported: a suspected infection is open and the "
                                            "patient's physician is alerted. Book a check-up."))
                return redirect("adverse_events:event", checkin.patient.public_id, done.event.public_id)
            messages.success(request, _("Check-in recorded.") if done.status == CheckIn.Status.DONE
                             else _("Not reached: the call stays on the list."))
            return redirect("safety:checkins")
    if request.method == "GET":
        access.audit(AuditEvent.Action.VIEW, object_type="check_in", object_id=str(checkin.public_id),
                     patient_id=str(checkin.patient.public_id))
    return render(request, "safety/checkin.html", {"checkin": checkin, "form": form},
                  status=422 if request.method == "POST" else 200)


# --- settings ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.SAFETY_SETTINGS, object_type="safety_settings")
def settings_page(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    current = SafetySettings.of(access.clinic)
    initial = {"ack_hours": current.ack_hours,
               "checkin_weeks": ", ".join(str(w) for w in current.checkin_weeks)}
    form = SettingsForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_settings(clinic=access.clinic, ack_hours=form.cleaned_data["ack_hours"],
                                  checkin_weeks=form.cleaned_data["checkin_weeks"], actor=access.actor)
        except SafetyRefused as exc:
            _refuse(form, exc)
        else:
            messages.success(request, _("Safety settings saved. New check-ins follow the new weeks."))
            return redirect("safety:settings")
    return render(request, "safety/settings.html", {"form": form},
                  status=422 if request.method == "POST" else 200)

