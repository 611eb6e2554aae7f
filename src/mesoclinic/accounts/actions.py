"""Sign-in, two-factor enrolment, recovery codes and session revocation."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from mesoclinic.accounts.models import (
    Clinic,
    Credential,
    LoginFailure,
    Membership,
    RecoveryCode,
    TOTPDevice,
    User,
)
from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent

ISSUER = "Mesoclinic"
RECOVERY_CODE_COUNT = 10


class SignInError(Exception):
    """A sign-in step failed; the message is safe to show (it never says which part was wrong)."""


def is_locked_out(username: str) -> bool:
    """Too many recent failures for this username (throttles password guessing)."""
    since = timezone.now() - timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    recent = LoginFailure.objects.filter(username=username.lower(), at__gte=since).count()
    return recent >= settings.LOGIN_MAX_FAILURES


def home_clinic_id(username: str) -> str:
    """The clinic an account's sign-in events are filed under, so its auditor sees them.

    Unknown usernames belong to no clinic: their failures stay out of every clinic's view.
    """
    clinic = (
        Clinic.objects.filter(memberships__user__username__iexact=username)
        .order_by("name")
        .values_list("public_id", flat=True)
        .first()
    )
    return str(clinic) if clinic else ""


def _fail(username: str, actor: Actor, detail: str) -> None:
    LoginFailure.objects.create(username=username.lower(), client_address=actor.client_address or None)
    record(actor, action=AuditEvent.Action.SIGN_IN, object_type="user", object_id=username[:64],
           clinic_id=home_clinic_id(username), outcome=AuditEvent.Outcome.DENIED, detail=detail)


LOCKED_MESSAGE = "Too many failed attempts. The account is locked for a while; try again later."


def check_password(*, username: str, password: str, actor: Actor) -> User:
    """First sign-in step: the password (Argon2) for an active staff account not locked out."""
    username = username.strip()
    if is_locked_out(username):
        _fail(username, actor, "locked out")
        raise SignInError(LOCKED_MESSAGE)
    user = authenticate(username=username, password=password)
    if not isinstance(user, User) or user.kind != User.Kind.STAFF:
        _fail(username, actor, "wrong username or password")
        raise SignInError("That username and password do not match an account.")
    return user


def verify_second_factor(*, user: User, code: str, actor: Actor) -> None:
    """Second step: a current TOTP code (never the same one twice) or an unused recovery code."""
    code = code.strip().replace(" ", "")
    if is_locked_out(user.username):
        _fail(user.username, actor, "locked out")
        raise SignInError(LOCKED_MESSAGE)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is not None and code.isdigit() and len(code) == 6:
            step = _matching_step(device.secret, code)
            if step is not None and step > device.last_used_step:
                device.last_used_step = step
                device.save(update_fields=["last_used_step"])
                return
        if len(code) >= 8:
            used = RecoveryCode.objects.filter(
                user=user, code_hash=RecoveryCode.hash(code), used_at__isnull=True
            ).update(used_at=timezone.now())
            if used:
                record(actor, action=AuditEvent.Action.SIGN_IN, object_type="user",
                       object_id=str(user.public_id), detail="recovery code used")
                return
    _fail(user.username, actor, "wrong second-factor code")
    raise SignInError("That code is not valid. Codes change every 30 seconds.")


def _matching_step(secret: str, code: str) -> int | None:
    """The 30-second step the code belongs to, allowing one step of clock drift."""
    totp = pyotp.TOTP(secret)
    now = timezone.now()
    for drift in (0, -1, 1):
        moment = now + timedelta(seconds=30 * drift)
        if secrets.compare_digest(totp.at(moment), code):
            return int(moment.timestamp()) // 30
    return None


def start_enrolment(user: User) -> TOTPDevice:
    """A fresh unconfirmed secret (replacing any earlier unconfirmed one)."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, defaults={"secret": pyotp.random_base32()}
    )
    if not device.confirmed:
        device.secret = pyotp.random_base32()
        device.save(update_fields=["secret"])
    return device


def provisioning_uri(device: TOTPDevice) -> str:
    return pyotp.TOTP(device.secret).provisioning_uri(name=device.user.username, issuer_name=ISSUER)


def confirm_enrolment(*, user: User, code: str, actor: Actor) -> list[str]:
    """Confirm the authenticator with one code; returns fresh recovery codes to show once."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(user=user)
        step = _matching_step(device.secret, code.strip().replace(" ", ""))
        if step is None:
            _fail(user.username, actor, "wrong enrolment code")
            raise SignInError("That code does not match. Check the time on your phone and retry.")
        device.confirmed = True
        device.last_used_step = step
        device.save(update_fields=["confirmed", "last_used_step"])
        codes = new_recovery_codes(user)
        record(actor, action=AuditEvent.Action.UPDATE, object_type="user",
               object_id=str(user.public_id), detail="two-factor enrolled")
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes; only hashes are stored."""
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, code_hash=RecoveryCode.hash(c)) for c in codes
        )
    return codes


def sign_out_everywhere(*, user: User, actor: Actor) -> None:
    """End every session of the user, on every device."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    record(actor, action=AuditEvent.Action.SIGN_OUT, object_type="user",
           object_id=str(user.public_id), detail="signed out everywhere")


# --- staff management (a clinic manager, within the clinics they manage) -------------------------


class StaffError(Exception):
    """A staff change that cannot be made; the message is safe to show and says why."""


def managed_clinics(user: User) -> list[Clinic]:
    """The clinics where `user` is a manager: the only ones whose staff they may change."""
    return list(Clinic.objects.filter(memberships__user=user, memberships__role=Role.MANAGER)
                .distinct().order_by("name"))


def _require_manager(by: User, clinic: Clinic) -> None:
    if not Membership.objects.filter(user=by, clinic=clinic, role=Role.MANAGER).exists():
        raise StaffError(gettext("You do not manage %(clinic)s.") % {"clinic": clinic.name})


def _require_not_self(by: User, user: User) -> None:
    # Another manager changes a manager's own roles: nobody widens their own rights.
    if by.pk == user.pk:
        raise StaffError(gettext("Another manager must change your own account."))


def _staff_event(actor: Actor, action: str, object_type: str, object_id: str, clinic: Clinic,
                 changes: dict[str, Any], detail: str = "") -> None:
    record(actor, action=action, object_type=object_type, object_id=object_id,
           clinic_id=str(clinic.public_id), changes=changes, detail=detail)


def add_staff_member(
    *, clinic: Clinic, username: str, display_name: str, email: str, password: str,
    roles: list[str], by: User, actor: Actor,
) -> User:
    """Create a staff account with an initial password and roles at one clinic the manager
    manages; the new member enrols an authenticator at their first sign-in."""
    _require_manager(by, clinic)
    username = username.strip()
    if not roles:
        raise StaffError(gettext("Choose at least one role."))
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise StaffError(gettext("The username %(username)s is taken.") % {"username": username})
        user = User(username=username, display_name=display_name.strip(), email=email.strip(),
                    kind=User.Kind.STAFF)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise StaffError(" ".join(exc.messages)) from None
        user.set_password(password)
        user.full_clean()
        user.save(force_insert=True)
        Membership.objects.bulk_create(Membership(user=user, clinic=clinic, role=Role(r))
                                       for r in sorted(set(roles)))
        _staff_event(actor, AuditEvent.Action.CREATE, "user", str(user.public_id), clinic,
                     {"username": [None, user.username], "display_name": [None, user.display_name],
                      "email": [None, user.email], "roles": [None, sorted(set(roles))]})
    return user


def set_roles(*, user: User, clinic: Clinic, roles: list[str], by: User, actor: Actor) -> list[str]:
    """Grant and revoke `user`'s roles at one clinic the manager manages; returns the new roles."""
    _require_manager(by, clinic)
    _require_not_self(by, user)
    wanted = {Role(r) for r in roles}
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        held = {Role(r) for r in Membership.objects.filter(user=user, clinic=clinic)
                .values_list("role", flat=True)}
        if wanted == held:
            return sorted(held)
        Membership.objects.filter(user=user, clinic=clinic, role__in=held - wanted).delete()
        Membership.objects.bulk_create(Membership(user=user, clinic=clinic, role=r)
                                       for r in sorted(wanted - held))
        _staff_event(actor, AuditEvent.Action.UPDATE, "membership", str(user.public_id), clinic,
                     {"roles": [sorted(held), sorted(wanted)]},
                     detail=f"granted {','.join(sorted(wanted - held)) or '-'}; "
                            f"revoked {','.join(sorted(held - wanted)) or '-'}")
    return sorted(wanted)


def add_credential(*, user: User, clinic: Clinic, data: dict[str, Any], by: User,
                   actor: Actor) -> Credential:
    """Record a practitioner's licence or certificate with its validity dates."""
    _require_manager(by, clinic)
    if not Membership.objects.filter(user=user, clinic=clinic).exists():
        raise StaffError(gettext("%(user)s does not work at %(clinic)s.")
                         % {"user": user, "clinic": clinic.name})
    with transaction.atomic():
        credential = Credential(user=user, **data)
        credential.full_clean()
        credential.save(force_insert=True)
        _staff_event(actor, AuditEvent.Action.CREATE, "credential", str(credential.pk), clinic,
                     {k: [None, v.isoformat() if hasattr(v, "isoformat") else v]
                      for k, v in data.items()}, detail=f"for {user.public_id}")
    return credential


def deactivate_staff_member(*, user: User, clinic: Clinic, by: User, actor: Actor) -> User:
    """Stop an account from signing in and end its sessions; it is never deleted (the record
    keeps who did what)."""
    _require_manager(by, clinic)
    _require_not_self(by, user)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        elsewhere = (Clinic.objects.filter(memberships__user=locked).exclude(
            pk__in=[c.pk for c in managed_clinics(by)]).distinct().order_by("name").first())
        if elsewhere is not None:
            raise StaffError(gettext("%(user)s also works at %(clinic)s, which you do not manage: "
                                     "remove their roles here instead.")
                             % {"user": locked, "clinic": elsewhere.name})
        if not locked.is_active:
            return locked
        locked.is_active = False
        # Every open session ends at its next request (kernel middleware compares the epoch).
        locked.session_epoch = F("session_epoch") + 1
        locked.save(update_fields=["is_active", "session_epoch"])
        locked.refresh_from_db(fields=["session_epoch"])
        _staff_event(actor, AuditEvent.Action.UPDATE, "user", str(locked.public_id), clinic,
                     {"is_active": [True, False]}, detail="deactivated; sessions ended")
    return locked


def reactivate_staff_member(*, user: User, clinic: Clinic, by: User, actor: Actor) -> User:
    """Let a deactivated account sign in again (its roles were kept)."""
    _require_manager(by, clinic)
    _require_not_self(by, user)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active:
            return locked
        locked.is_active = True
        locked.save(update_fields=["is_active"])
        _staff_event(actor, AuditEvent.Action.UPDATE, "user", str(locked.public_id), clinic,
                     {"is_active": [False, True]}, detail="reactivated")
    return locked
