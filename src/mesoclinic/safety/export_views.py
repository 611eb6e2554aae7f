"""Downloads of the clinic's adverse events: CSV for a spreadsheet, FHIR R4 JSON for a registry.

Physicians only (Perm.EXPORT_SAFETY): the rows are clinical. `since` and `until` (YYYY-MM-DD, the
clinic's calendar) bound the onset; a bad one is refused (400) before anything is read or audited.
Each download is one audited export naming its count and period.
"""

from __future__ import annotations

import json
import re
from datetime import date

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.models import AuditEvent
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.safety import export, fhir
from mesoclinic.safety.models import AdverseEvent

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class BadPeriod(ValueError):
    pass


def _day(request: ClinicRequest, name: str) -> date | None:
    text = request.GET.get(name, "")
    if not text:
        return None
    try:
        # fromisoformat alone also takes "20270201" and week dates; the regex keeps the one form.
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise BadPeriod(_("%(name)s: give a date as YYYY-MM-DD.") % {"name": name}) from None


def _period(request: ClinicRequest) -> tuple[date | None, date | None]:
    since, until = _day(request, "since"), _day(request, "until")
    if since is not None and until is not None and since > until:
        raise BadPeriod(_("%(name)s: the period starts after it ends (%(other)s).")
                        % {"name": "since", "other": "until"})
    return since, until


def _bad(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _load(request: ClinicRequest, access: ClinicAccess, kind: str) -> list[AdverseEvent] | HttpResponse:
    """The events asked for, with the export audited; or the 400 for a bad period."""
    try:
        since, until = _period(request)
    except BadPeriod as exc:
        return _bad(str(exc))
    events = export.load(export.events_in_period(access.clinic, since=since, until=until))
    period = f"{since.isoformat() if since else 'any'} to {until.isoformat() if until else 'any'}"
    access.audit(AuditEvent.Action.EXPORT, object_type="adverse_event",
                 detail=f"{kind}: {len(events)} events, onset {period}")
    return events


def _attachment(response: HttpResponse, extension: str) -> HttpResponse:
    # The clinic's calendar day (clinic_view activated its zone).
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="adverse-events-{stamp}.{extension}"'
    return response


@require_GET
@clinic_view(Perm.EXPORT_SAFETY, object_type="adverse_event", action=AuditEvent.Action.EXPORT)
def export_csv(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    events = _load(request, access, "CSV")
    if isinstance(events, HttpResponse):
        return events
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    export.write_csv(events, response)
    return _attachment(response, "csv")


@require_GET
@clinic_view(Perm.EXPORT_SAFETY, object_type="adverse_event", action=AuditEvent.Action.EXPORT)
def export_fhir(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    events = _load(request, access, "FHIR")
    if isinstance(events, HttpResponse):
        return events
    body = json.dumps(fhir.bundle(events), ensure_ascii=False)
    response = HttpResponse(body, content_type="application/fhir+json; charset=utf-8")
    return _attachment(response, "fhir.json")
