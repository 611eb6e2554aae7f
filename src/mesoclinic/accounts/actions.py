"""Sign-in, two-factor enrolment, recovery codes and session revocation."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, LoginFailure, Membership, RecoveryCode, TOTPDevice, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.lib.text import visible_line

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


def add_staff(
    *, username: str, clinic: Clinic, role: str, actor: Actor, password: str | None = None,
    display_name: str = "", email: str = "", medical_director: bool = False,
) -> tuple[User, bool]:
    """Create a staff account, or give an existing one another role; returns (user, role new).

    A new account needs a `password` that passes the password validators. Raises
    ValidationError naming the field; nothing is written then.
    """
    username = username.strip()
    if not username or len(username) > 150:
        raise ValidationError({"username": _("between 1 and 150 characters")})
    if medical_director and role != Role.PHYSICIAN:
        raise ValidationError(
            {"medical_director": _("only a physician can be the medical director")})
    for field, value in (("username", username), ("display_name", display_name), ("email", email)):
        _visible(field, value)
    with transaction.atomic():
        # Locked: two operators adding the same person at once give one account, one row each.
        user = User.objects.select_for_update().filter(username=username).first()
        if user is None:
            if not password:
                raise ValidationError({"password": _("a new account needs a password")})
            user = User(username=username, email=email, display_name=display_name)
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from None
            user.set_password(password)
            user.save()
        if medical_director and not user.medical_director:
            user.medical_director = True
            user.save(update_fields=["medical_director"])
        _membership, created = Membership.objects.get_or_create(user=user, clinic=clinic, role=role)
        record(actor, action=AuditEvent.Action.UPDATE, object_type="user",
               object_id=str(user.public_id), clinic_id=str(clinic.public_id),
               changes={"role": [None, role]} if created else {},
               detail="staff added" if created else "role already held")
    return user, created


def _visible(field: str, value: str) -> None:
    try:
        visible_line(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None
