"""The clinic manager's staff pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mesoclinic.accounts.models import User
from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.models import AuditEvent
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view


@require_GET
@clinic_view(Perm.VIEW_STAFF, object_type="staff")
def staff_list(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    clinic = access.clinic
    members = (
        User.objects.filter(memberships__clinic=clinic)
        .distinct()
        .prefetch_related("memberships", "credentials")
        .order_by("last_name", "first_name")
    )
    rows: list[dict[str, Any]] = [
        {
            "user": u,
            "roles": sorted(m.get_role_display() for m in u.memberships.all() if m.clinic_id == clinic.pk),
            "credentials": list(u.credentials.all()),
        }
        for u in members
    ]
    access.audit(AuditEvent.Action.VIEW, object_type="staff", detail="staff list")
    return render(request, "staff/list.html", {"rows": rows, "clinic": clinic})
