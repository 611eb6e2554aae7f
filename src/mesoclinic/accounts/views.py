"""Sign-in in two steps (password, then TOTP), enrolment, sign-out, clinic switching, staff list."""

from __future__ import annotations

import base64
import io
import uuid

import segno
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts import actions
from mesoclinic.accounts.decorators import mark_reauthenticated, require_reauth
from mesoclinic.accounts.forms import CodeForm, PasswordForm, ReauthForm
from mesoclinic.accounts.models import Membership, User
from mesoclinic.accounts.session import SESSION_CLINIC, SESSION_EPOCH
from mesoclinic.audit.log import actor_from_request, record
from mesoclinic.audit.models import AuditEvent

PENDING = "pending_user_id"
NEXT = "pending_next"


def _safe_next(request: HttpRequest, target: str | None) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


def _pending_user(request: HttpRequest) -> User | None:
    user_id = request.session.get(PENDING)
    if user_id is None:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def _complete(request: HttpRequest, user: User) -> HttpResponse:
    # Without a `next`, `home` sends each role to its own page (managers and auditors too).
    target = request.session.get(NEXT) or reverse("home")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_EPOCH] = user.session_epoch
    # Signing in is itself a fresh password and code: no second prompt in the next minutes.
    mark_reauthenticated(request)
    actions.signed_in(user=user, actor=actor_from_request(request))
    return redirect(_safe_next(request, target))


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = PasswordForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = actions.check_password(
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                    actor=actor_from_request(request),
                )
            except actions.SignInError as exc:
                form.add_error(None, str(exc))
                status = 422
            else:
                request.session.cycle_key()
                request.session[PENDING] = user.pk
                request.session[NEXT] = request.GET.get("next", "")
                return redirect("accounts:two-factor" if user.has_mfa else "accounts:enrol")
        else:
            status = 422
    return render(request, "accounts/sign_in.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        return redirect("accounts:login")
    if not user.has_mfa:
        return redirect("accounts:enrol")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.verify_second_factor(
                    user=user, code=form.cleaned_data["code"], actor=actor_from_request(request)
                )
            except actions.SignInError as exc:
                form.add_error("code", str(exc))
                status = 422
            else:
                return _complete(request, user)
        else:
            status = 422
    return render(request, "accounts/two_factor.html", {"form": form, "pending": user}, status=status)


@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        return redirect("accounts:login")
    if user.has_mfa:
        return redirect("accounts:two-factor")
    if request.method == "POST" and not hasattr(user, "totp"):
        # A code posted before the enrolment page made a secret: start there, not with a 500.
        return redirect("accounts:enrol")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                codes = actions.confirm_enrolment(
                    user=user, code=form.cleaned_data["code"], actor=actor_from_request(request)
                )
            except actions.SignInError as exc:
                form.add_error("code", str(exc))
                status = 422
            else:
                _complete(request, user)
                request.session["fresh_recovery_codes"] = codes
                return redirect("accounts:recovery-codes")
        else:
            status = 422
        device = user.totp
    else:
        device = actions.start_enrolment(user)
    uri = actions.provisioning_uri(device)
    # A standalone SVG (with its xmlns): svg_inline() omits it, and an <img> then shows nothing.
    svg_file = io.BytesIO()
    segno.make(uri, error="m").save(svg_file, kind="svg", scale=5, dark="#1d2a3a",
                                    light="#ffffff", xmldecl=False)
    svg = svg_file.getvalue().decode()
    qr_data = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    return render(
        request,
        "accounts/enrol.html",
        {"form": form, "qr_data": qr_data, "secret": device.secret, "pending": user},
        status=status,
    )


def _me(request: HttpRequest) -> User:
    """The signed-in staff member (after login_required)."""
    assert isinstance(request.user, User)  # noqa: S101
    return request.user


@require_GET
@never_cache
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The codes just made at enrolment (shown once), or the way to new ones."""
    codes = request.session.pop("fresh_recovery_codes", None)
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@require_http_methods(["GET", "POST"])
@never_cache  # the answer shows the new codes: no copy in any cache
@login_required
@require_reauth
def regenerate_recovery_codes(request: HttpRequest) -> HttpResponse:
    """GET asks to confirm; POST replaces the codes and shows the new ones once."""
    if request.method == "POST":
        codes = actions.regenerate_recovery_codes(user=_me(request),
                                                  actor=actor_from_request(request))
        return render(request, "accounts/recovery_codes.html", {"codes": codes})
    return render(request, "accounts/recovery_codes.html", {"confirm": True})


@require_http_methods(["GET", "POST"])
@login_required
def reauth(request: HttpRequest) -> HttpResponse:
    """Enter the password and a code again before a security setting changes."""
    form = ReauthForm(request.POST or None)
    target = request.POST.get("next") or request.GET.get("next") or ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.reauthenticate(user=_me(request), password=form.cleaned_data["password"],
                                       code=form.cleaned_data["code"],
                                       actor=actor_from_request(request))
            except actions.SignInError as exc:
                form.add_error(None, str(exc))
                status = 422
            else:
                request.session.cycle_key()  # a raised privilege gets a new session id
                mark_reauthenticated(request)
                return redirect(_safe_next(request, target or reverse("home")))
        else:
            status = 422
    return render(request, "accounts/reauth.html", {"form": form, "next": target}, status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        record(actor_from_request(request), action=AuditEvent.Action.SIGN_OUT, object_type="user",
               object_id=str(request.user.public_id))
    logout(request)
    return redirect("accounts:login")


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    actions.sign_out_everywhere(user=request.user, actor=actor_from_request(request))  # type: ignore[arg-type]
    logout(request)
    messages.success(request, "You have been signed out on every device.")
    return redirect("accounts:login")


@require_POST
@login_required
def switch_clinic(request: HttpRequest) -> HttpResponse:
    public_id = request.POST.get("clinic", "")
    membership = (
        Membership.objects.filter(user=request.user.pk, clinic__public_id__in=[public_id])
        .select_related("clinic")
        .first()
        if _is_uuid(public_id)
        else None
    )
    if membership is None:
        return HttpResponseBadRequest("clinic: you hold no role at that clinic")
    request.session[SESSION_CLINIC] = membership.clinic_id
    return redirect("home")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
