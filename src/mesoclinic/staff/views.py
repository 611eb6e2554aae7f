"""The clinic manager's pages: the staff list and the clinic's API tokens."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from mesoclinic.accounts import actions
from mesoclinic.accounts.access import token_for
from mesoclinic.accounts.decorators import require_reauth
from mesoclinic.accounts.forms import TokenForm
from mesoclinic.accounts.models import ApiToken, User
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


# --- API tokens: the manager lists, issues and revokes the clinic's integration tokens -----------

def _tokens_page(request: ClinicRequest, access: ClinicAccess, *, form: TokenForm,
                 status: int = 200, issued: tuple[ApiToken, str] | None = None) -> HttpResponse:
    tokens = ApiToken.objects.filter(clinic=access.clinic).select_related("created_by").order_by(
        "-created_at", "name")
    return render(request, "staff/tokens.html",
                  {"clinic": access.clinic, "tokens": tokens, "form": form,
                   "issued": issued[0] if issued else None, "raw": issued[1] if issued else None},
                  status=status)


@require_http_methods(["GET", "POST"])
@never_cache  # the answer to an issue shows the raw token: no copy in any cache
@clinic_view(Perm.MANAGE_TOKENS, object_type="api_token")
@require_reauth
def tokens(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """List the clinic's tokens; POST issues one and shows its value once (it is never stored)."""
    if request.method != "POST":
        return _tokens_page(request, access, form=TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, access, form=form, status=422)
    issued = actions.issue_token(clinic=access.clinic, name=form.cleaned_data["name"],
                                 scope=form.cleaned_data["scope"], days=form.cleaned_data["days"],
                                 by=access.user, actor=access.actor)
    return _tokens_page(request, access, form=TokenForm(), issued=issued)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.MANAGE_TOKENS, object_type="api_token", action=AuditEvent.Action.UPDATE)
@require_reauth
def revoke_token(request: ClinicRequest, access: ClinicAccess, token_id: uuid.UUID) -> HttpResponse:
    """GET asks to confirm; POST revokes the token at once."""
    token = token_for(access.clinic, token_id)
    if request.method != "POST":
        return render(request, "staff/revoke_token.html", {"token": token})
    if actions.revoke_token(token=token, actor=access.actor):
        messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    else:
        messages.info(request, _("The token “%(name)s” was already revoked.") % {"name": token.name})
    return redirect("staff:tokens")
