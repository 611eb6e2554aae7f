"""The clinic manager's pages: staff (the list, adding a member, roles, credentials,
deactivation) and the clinic's API tokens.

Managers change staff only at the clinics they manage (accounts.actions checks it again); a
member of another clinic answers 404, as if nobody were there.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts import actions
from mesoclinic.accounts.access import token_for
from mesoclinic.accounts.decorators import require_reauth
from mesoclinic.accounts.forms import TokenForm
from mesoclinic.accounts.models import ApiToken, Clinic, Credential, User
from mesoclinic.accounts.permissions import Perm, Role
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.staff.forms import AddStaffForm, CredentialForm, RolesForm


def _credential_rows(credentials: list[Credential]) -> list[dict[str, Any]]:
    today = timezone.localdate()
    return [{"credential": c, "status": c.status_on(today)} for c in credentials]


@require_GET
@clinic_view(Perm.VIEW_STAFF, object_type="staff")
def staff_list(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    clinic = access.clinic
    members = (
        User.objects.filter(memberships__clinic=clinic)
        .distinct()
        .prefetch_related("memberships", "credentials")
        .order_by("-is_active", "display_name", "last_name", "first_name")
    )
    rows: list[dict[str, Any]] = [
        {
            "user": u,
            "roles": sorted(m.get_role_display() for m in u.memberships.all() if m.clinic_id == clinic.pk),
            "credentials": _credential_rows(list(u.credentials.all())),
        }
        for u in members
    ]
    access.audit(AuditEvent.Action.VIEW, object_type="staff", detail="staff list")
    return render(request, "staff/list.html",
                  {"rows": rows, "clinic": clinic, "can_manage": access.can(Perm.MANAGE_STAFF)})


def _member(access: ClinicAccess, user_id: str, action: AuditEvent.Action) -> User:
    """A staff member of the active clinic, else 404 (audited like every refusal)."""
    user = User.objects.filter(public_id=user_id, kind=User.Kind.STAFF,
                               memberships__clinic=access.clinic).distinct().first()
    if user is None:
        access.audit(action, object_type="staff", object_id=str(user_id)[:64],
                     outcome=AuditEvent.Outcome.DENIED, detail="not staff of this clinic")
        raise Http404("No such staff member")
    return user


def _refused(request: ClinicRequest, access: ClinicAccess, exc: actions.StaffError,
             object_type: ObjectType, user: User) -> None:
    messages.error(request, str(exc))
    access.audit(AuditEvent.Action.UPDATE, object_type=object_type,
                 object_id=str(user.public_id), outcome=AuditEvent.Outcome.DENIED,
                 detail=f"refused: {exc}")


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.MANAGE_STAFF, object_type="staff", action=AuditEvent.Action.CREATE)
def staff_new(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    form = AddStaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = actions.add_staff_member(
                clinic=access.clinic, username=data["username"], display_name=data["display_name"],
                email=data["email"], password=data["password"], roles=data["roles"],
                by=access.user, actor=access.actor)
        except actions.StaffError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, gettext(
                "%(name)s can now sign in as %(username)s and will set up an authenticator "
                "first.") % {"name": user, "username": user.username})
            return redirect("staff:detail", user_id=user.public_id)
    return render(request, "staff/new.html", {"form": form, "clinic": access.clinic},
                  status=422 if form.errors else 200)


@require_GET
@clinic_view(Perm.MANAGE_STAFF, object_type="staff")
def staff_detail(request: ClinicRequest, access: ClinicAccess, user_id: str) -> HttpResponse:
    user = _member(access, user_id, AuditEvent.Action.VIEW)
    access.audit(AuditEvent.Action.VIEW, object_type="staff", object_id=str(user.public_id))
    return render(request, "staff/detail.html", _detail_context(access, user))


def _detail_context(access: ClinicAccess, user: User,
                    credential_form: CredentialForm | None = None) -> dict[str, Any]:
    held: dict[int, set[str]] = {}
    for m in user.memberships.all():
        held.setdefault(m.clinic_id, set()).add(m.role)
    # The active clinic first: that is the one the manager is looking at.
    managed = sorted(actions.managed_clinics(access.user), key=lambda c: c != access.clinic)
    role_rows = [
        {"clinic": c,
         "form": RolesForm(initial={"clinic": c.public_id, "roles": sorted(held.get(c.pk, set()))},
                           auto_id=f"id_{c.public_id}_%s")}
        for c in managed
    ]
    elsewhere = Clinic.objects.filter(memberships__user=user).exclude(
        pk__in=[c.pk for c in managed]).distinct()
    return {"member": user, "clinic": access.clinic, "role_rows": role_rows,
            "elsewhere": list(elsewhere), "is_self": user.pk == access.user.pk,
            "credentials": _credential_rows(list(user.credentials.all())),
            "credential_form": credential_form or CredentialForm(),
            "roles": [(r.value, r.label) for r in Role]}


@require_POST
@clinic_view(Perm.MANAGE_STAFF, object_type="staff", action=AuditEvent.Action.UPDATE)
def staff_roles(request: ClinicRequest, access: ClinicAccess, user_id: str) -> HttpResponse:
    user = _member(access, user_id, AuditEvent.Action.UPDATE)
    form = RolesForm(request.POST)
    clinic = None
    if form.is_valid():
        clinic = next((c for c in actions.managed_clinics(access.user)
                       if c.public_id == form.cleaned_data["clinic"]), None)
    if clinic is None:
        _refused(request, access, actions.StaffError(gettext("You do not manage that clinic.")),
                 "staff", user)
        return redirect("staff:detail", user_id=user.public_id)
    try:
        roles = actions.set_roles(user=user, clinic=clinic, roles=form.cleaned_data["roles"],
                                  by=access.user, actor=access.actor)
    except actions.StaffError as exc:
        _refused(request, access, exc, "staff", user)
        return redirect("staff:detail", user_id=user.public_id)
    labels = ", ".join(str(Role(r).label) for r in roles) or gettext("none")
    messages.success(request, gettext("Roles of %(name)s at %(clinic)s saved: %(roles)s.")
                     % {"name": user, "clinic": clinic.name, "roles": labels})
    if clinic == access.clinic and not roles:
        return redirect("staff:list")  # no longer staff of this clinic
    return redirect("staff:detail", user_id=user.public_id)


@require_POST
@clinic_view(Perm.MANAGE_STAFF, object_type="staff", action=AuditEvent.Action.CREATE)
def credential_add(request: ClinicRequest, access: ClinicAccess, user_id: str) -> HttpResponse:
    user = _member(access, user_id, AuditEvent.Action.CREATE)
    form = CredentialForm(request.POST)
    if form.is_valid():
        try:
            actions.add_credential(user=user, clinic=access.clinic, data=form.cleaned_data,
                                   by=access.user, actor=access.actor)
        except actions.StaffError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, gettext("Credential recorded for %(name)s.") % {"name": user})
            return redirect("staff:detail", user_id=user.public_id)
    return render(request, "staff/detail.html", _detail_context(access, user, form), status=422)


@require_POST
@clinic_view(Perm.MANAGE_STAFF, object_type="user", action=AuditEvent.Action.UPDATE)
def staff_deactivate(request: ClinicRequest, access: ClinicAccess, user_id: str) -> HttpResponse:
    user = _member(access, user_id, AuditEvent.Action.UPDATE)
    try:
        actions.deactivate_staff_member(user=user, clinic=access.clinic, by=access.user,
                                        actor=access.actor)
    except actions.StaffError as exc:
        _refused(request, access, exc, "user", user)
    else:
        messages.success(request, gettext("%(name)s is deactivated and signed out everywhere.")
                         % {"name": user})
    return redirect("staff:detail", user_id=user.public_id)


@require_POST
@clinic_view(Perm.MANAGE_STAFF, object_type="user", action=AuditEvent.Action.UPDATE)
def staff_reactivate(request: ClinicRequest, access: ClinicAccess, user_id: str) -> HttpResponse:
    user = _member(access, user_id, AuditEvent.Action.UPDATE)
    try:
        actions.reactivate_staff_member(user=user, clinic=access.clinic, by=access.user,
                                        actor=access.actor)
    except actions.StaffError as exc:
        _refused(request, access, exc, "user", user)
    else:
        messages.success(request, gettext("%(name)s can sign in again.") % {"name": user})
    return redirect("staff:detail", user_id=user.public_id)


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
