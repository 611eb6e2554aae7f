"""The auditor's pages: filter the trail and export it as CSV (the export is itself audited)."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.accounts.permissions import Perm, Role
from mesoclinic.audit.models import AuditEvent, AuditQuerySet
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.lib.spreadsheet import safe_cell
from mesoclinic.patients.models import Patient

EXPORT_COLUMNS = [
    "seq", "at", "username", "user_id", "role", "clinic_id", "action", "object_type", "object_id",
    "patient_id", "outcome", "break_glass", "client_address", "request_id", "via", "detail",
    "changes", "hash",
]


class FilterForm(forms.Form):
    patient_name = forms.CharField(required=False, max_length=100, label=_("Patient name"),
                                   help_text=_("Any words of the name, as in the patient search."))
    patient = forms.UUIDField(required=False, label=_("Patient id"))
    user = forms.CharField(required=False, max_length=150, label=_("Username"))
    clinic = forms.ChoiceField(required=False, label=_("Clinic"))
    action = forms.ChoiceField(required=False, label=_("Action"),
                               choices=[("", _("Any")), *AuditEvent.Action.choices])
    outcome = forms.ChoiceField(required=False, label=_("Outcome"),
                                choices=[("", _("Any")), *AuditEvent.Outcome.choices])
    break_glass = forms.BooleanField(required=False, label=_("Break-glass only"))
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                label=_("From"))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                              label=_("To"))

    def __init__(self, *args: Any, clinics: list[Clinic], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["clinic"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101
        field.choices = [("", _("All my clinics"))] + [(str(c.public_id), c.name) for c in clinics]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


def _auditor_clinics(access: ClinicAccess) -> list[Clinic]:
    return access.principal.clinics_with_role(Role.AUDITOR)


def changes_cell(event: AuditEvent) -> str:
    """What an auditor is shown of an edit: the changed fields' names, never their values."""
    return ", ".join(event.changed_fields())


# A name matching more patients than this is too vague to filter the trail by.
NAME_MATCH_LIMIT = 200


def _patients_named(name: str, clinics: list[Clinic]) -> list[str]:
    """Ids of the auditor's clinics' patients whose name matches (names only, no clinical data)."""
    ids = (Patient.objects.filter(clinic__in=clinics).matching(name)
           .values_list("public_id", flat=True)[:NAME_MATCH_LIMIT])
    return [str(i) for i in ids]


def _visible(clinics: list[Clinic]) -> AuditQuerySet:
    return AuditEvent.objects.visible_events(
        clinic_ids={str(c.public_id) for c in clinics},
        organisation_ids={str(c.organisation.public_id) for c in clinics})


def _filtered(request: ClinicRequest, access: ClinicAccess,
              notes: dict[str, str] | None = None) -> tuple[FilterForm, AuditQuerySet]:
    clinics = _auditor_clinics(access)
    form = FilterForm(request.GET or None, clinics=clinics)
    events = _visible(clinics)
    notes = notes if notes is not None else {}
    if form.is_valid():
        data = form.cleaned_data
        # Days are the auditor's clinic's days, not UTC's (an evening in Istanbul is not "tomorrow").
        tz = ZoneInfo(access.clinic.timezone)
        if data["patient_name"].strip():
            ids = _patients_named(data["patient_name"], clinics)
            if not ids:
                notes["no_patient"] = data["patient_name"].strip()
            events = events.filter(patient_id__in=ids)
        if data["patient"]:
            events = events.filter(patient_id=str(data["patient"]))
        if data["user"]:
            events = events.filter(username__iexact=data["user"])
        if data["clinic"]:
            events = events.filter(clinic_id=data["clinic"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["outcome"]:
            events = events.filter(outcome=data["outcome"])
        if data["break_glass"]:
            events = events.filter(break_glass=True)
        if data["date_from"]:
            events = events.filter(at__gte=datetime.combine(data["date_from"], time.min, tz))
        if data["date_to"]:
            events = events.filter(at__lte=datetime.combine(data["date_to"], time.max, tz))
    elif form.is_bound:
        events = events.none()
    return form, events


@require_GET
@clinic_view(Perm.VIEW_AUDIT, object_type="audit_trail")
def trail(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    notes: dict[str, str] = {}
    form, events = _filtered(request, access, notes)
    page = Paginator(events.order_by("-seq"), 50).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # read before this very view is recorded
    clinics = _auditor_clinics(access)
    exports = list(_visible(clinics).filter(action=AuditEvent.Action.EXPORT, object_type="audit_trail")
                   .order_by("-seq")[:PAST_EXPORTS])
    names = _names([*page.object_list, *exports], clinics)
    access.audit(AuditEvent.Action.VIEW, object_type="audit_trail",
                 detail=request.GET.urlencode()[:500])
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/trail.html",
                  {"form": form, "page": page, "query": query.urlencode(), "notes": notes,
                   "rows": [_row(e, names) for e in page.object_list],
                   "exports": [_row(e, names) | {"filters": _filters(e.detail, clinics)} for e in exports],
                   "filtered": bool(query)},
                  status=422 if form.errors else 200)


PAST_EXPORTS = 10


def _names(events: list[AuditEvent], clinics: list[Clinic]) -> dict[str, str]:
    """Display names for the users and patients these events name (patients of the auditor's
    clinics only; an id outside them stays an id)."""
    user_ids = _uuids(e.user_id for e in events)
    patient_ids = _uuids(e.patient_id for e in events)
    names = {str(u.public_id): str(u) for u in User.objects.filter(public_id__in=user_ids)}
    for public_id, given, family in Patient.objects.filter(
            public_id__in=patient_ids, clinic__in=clinics).values_list(
            "public_id", "given_name", "family_name"):
        names[str(public_id)] = f"{given} {family}"
    return names


def _uuids(values: Iterable[str]) -> set[uuid.UUID]:
    """The values that are UUIDs (events keep plain strings: a knock may name anything)."""
    found = set()
    for value in values:
        try:
            found.add(uuid.UUID(value))
        except ValueError:
            continue
    return found


def _role_label(role: str) -> str:
    """The role an event was recorded under, in the reader's language (a code kept as is)."""
    try:
        return str(Role(role).label)
    except ValueError:
        return role


def _row(event: AuditEvent, names: dict[str, str]) -> dict[str, Any]:
    return {"event": event, "user_name": names.get(event.user_id, ""),
            "patient_name": names.get(event.patient_id, ""), "role": _role_label(event.role)}


def _filters(detail: str, clinics: list[Clinic]) -> list[tuple[str, str]]:
    """An export's filters, as it recorded them (its query string), for reading."""
    form = FilterForm(clinics=clinics)
    query = QueryDict(detail)
    shown = []
    for name in query:
        value = str(query.get(name, ""))
        if not value or name not in form.fields:
            continue
        field = form.fields[name]
        choices = dict(field.choices) if isinstance(field, forms.ChoiceField) else {}  # type: ignore[arg-type]
        shown.append((str(form[name].label), str(choices.get(value, value))))
    return shown


def _cell(value: object) -> object:
    """One CSV cell: JSON for structures, and free text that cannot run as a spreadsheet formula."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        return safe_cell(value)
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@clinic_view(Perm.EXPORT_AUDIT, action=AuditEvent.Action.EXPORT, object_type="audit_trail")
def export_csv(request: ClinicRequest, access: ClinicAccess) -> HttpResponse | StreamingHttpResponse:
    form, events = _filtered(request, access)
    if form.errors:
        return render(request, "audit/trail.html", {"form": form, "page": None}, status=422)
    access.audit(AuditEvent.Action.EXPORT, object_type="audit_trail",
                 detail=request.GET.urlencode()[:500])
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(EXPORT_COLUMNS)
        for event in events.order_by("seq").iterator(chunk_size=2000):
            yield writer.writerow([_cell(changes_cell(event) if c == "changes" else getattr(event, c))
                                   for c in EXPORT_COLUMNS])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
