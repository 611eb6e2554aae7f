"""Sign-in and its throttling, re-authentication, recovery codes, sessions and API tokens."""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.access import forget_token
from mesoclinic.accounts.models import (
    ApiToken,
    Clinic,
    Credential,
    LoginFailure,
    Membership,
    RecoveryCode,
    TOTPDevice,
    User,
)
from mesoclinic.accounts.permissions import Role
from mesoclinic.accounts.rules import Backoff, wait_remaining
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.lib.text import visible_line

ISSUER = "Mesoclinic"
RECOVERY_CODE_COUNT = 10


class SignInError(Exception):
    """A sign-in step failed; the message is safe to show (it never says which part was wrong)."""


def _backoff(free: int) -> Backoff:
    return Backoff(free=free, base=timedelta(seconds=settings.LOGIN_BACKOFF_SECONDS),
                   cap=timedelta(seconds=settings.LOGIN_BACKOFF_MAX_SECONDS))


def _door(failures: QuerySet[LoginFailure], rule: Backoff, now: datetime) -> timedelta:
    seen = failures.aggregate(n=Count("id"), last=Max("at"))
    return wait_remaining(seen["n"], seen["last"], now=now, rule=rule)


def throttled_for(username: str, client_address: str | None) -> tuple[timedelta, str]:
    """How long this username may not be tried from this address, and which limit says so.

    Three doors, each with its own doubling backoff (accounts/rules.py):
    - the (username, address) pair: a stranger's guesses slow down only the stranger, never the
      account's owner signing in from another address (finding 4);
    - the address across all usernames, with a higher allowance: one password sprayed over many
      accounts;
    - second-factor failures per username from any address. This is the only per-username
      ceiling, and it is safe because only someone who knows the password reaches the code step:
      a stranger cannot trip it, while guessing the 6-digit code from many addresses is stopped.
      Password failures have no per-username ceiling: it would hand anyone the lock-out the
      finding is about, and a guessed password alone still does not get past the second factor.
    Unknown usernames are throttled exactly like real ones, so the answer reveals nothing.
    """
    now = timezone.now()
    recent = LoginFailure.objects.filter(
        at__gt=now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS), at__lte=now
    )
    username = username.lower()
    address = client_address or None
    doors = [
        (_door(recent.filter(username=username, client_address=address),
               _backoff(settings.LOGIN_MAX_FAILURES), now), "this username from this address"),
        (_door(recent.filter(username=username, stage=LoginFailure.Stage.CODE),
               _backoff(settings.LOGIN_MAX_CODE_FAILURES), now), "second-factor failures"),
    ]
    if address is not None:
        doors.append((_door(recent.filter(client_address=address),
                            _backoff(settings.LOGIN_MAX_FAILURES_PER_ADDRESS), now),
                      "this address"))
    return max(doors, key=lambda door: door[0])


def _refuse_if_throttled(username: str, actor: Actor) -> None:
    wait, door = throttled_for(username, actor.client_address)
    if wait <= timedelta(0):
        return
    # Refused attempts are audited but not counted: they tested nothing, and counting them
    # would let a stranger keep a door shut for ever.
    record(actor, action=AuditEvent.Action.SIGN_IN, object_type="user", object_id=username[:64],
           clinic_id=home_clinic_id(username), outcome=AuditEvent.Outcome.DENIED,
           detail=f"throttled: {door}")
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    raise SignInError(
        ngettext(
            "Too many failed attempts. Try again in %(minutes)d minute.",
            "Too many failed attempts. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
    )


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


def _fail(username: str, actor: Actor, detail: str,
          stage: str = LoginFailure.Stage.PASSWORD) -> None:
    LoginFailure.objects.create(username=username.lower(), stage=stage,
                                client_address=actor.client_address or None)
    record(actor, action=AuditEvent.Action.SIGN_IN, object_type="user", object_id=username[:64],
           clinic_id=home_clinic_id(username), outcome=AuditEvent.Outcome.DENIED, detail=detail)


WRONG_PASSWORD = _("That username and password do not match an account.")
WRONG_CODE = _("That code is not valid. Codes change every 30 seconds.")


_ATTEMPT_LOCK = 727_002  # PostgreSQL advisory lock class: one sign-in attempt per username at once


@contextmanager
def _one_attempt_at_a_time(username: str) -> Iterator[None]:
    """Check the throttle, verify and record the failure as one step per username.

    Without it, a burst of parallel guesses would all pass the check while the first was still
    hashing its password. The failure is committed even though SignInError is raised.
    """
    error: SignInError | None = None
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                               [_ATTEMPT_LOCK, username.lower()])
        # (SQLite's IMMEDIATE transactions already serialise every writer.)
        try:
            yield
        except SignInError as exc:
            error = exc
    if error is not None:
        raise error


def check_password(*, username: str, password: str, actor: Actor) -> User:
    """First sign-in step: the password (Argon2) for an active staff account not throttled."""
    username = username.strip()
    with _one_attempt_at_a_time(username):
        _refuse_if_throttled(username, actor)
        user = authenticate(username=username, password=password)
        if not isinstance(user, User) or user.kind != User.Kind.STAFF:
            _fail(username, actor, "wrong username or password")
            raise SignInError(WRONG_PASSWORD)
    return user


def signed_in(*, user: User, actor: Actor) -> None:
    """Both steps passed: the failures behind this address are forgiven, and it is audited."""
    with transaction.atomic():
        LoginFailure.objects.filter(
            username=user.username.lower(), client_address=actor.client_address or None
        ).delete()
        record(actor, action=AuditEvent.Action.SIGN_IN, object_type="user",
               object_id=str(user.public_id), clinic_id=home_clinic_id(user.username))


def verify_second_factor(*, user: User, code: str, actor: Actor) -> None:
    """Second step: a current TOTP code (never the same one twice) or an unused recovery code."""
    with _one_attempt_at_a_time(user.username):
        _refuse_if_throttled(user.username, actor)
        if not _accept_second_factor(user, code, actor):
            _fail(user.username, actor, "wrong second-factor code", LoginFailure.Stage.CODE)
            raise SignInError(WRONG_CODE)


def _accept_second_factor(user: User, code: str, actor: Actor) -> bool:
    code = code.strip().replace(" ", "")
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is not None and code.isdigit() and len(code) == 6:
            step = _matching_step(device.secret, code)
            if step is not None and step > device.last_used_step:
                device.last_used_step = step
                device.save(update_fields=["last_used_step"])
                return True
        if len(code) >= 8:
            used = RecoveryCode.objects.filter(
                user=user, code_hash=RecoveryCode.hash(code), used_at__isnull=True
            ).update(used_at=timezone.now())
            if used:
                record(actor, action=AuditEvent.Action.SIGN_IN, object_type="user",
                       object_id=str(user.public_id), detail="recovery code used")
                return True
    return False


def reauthenticate(*, user: User, password: str, code: str, actor: Actor) -> None:
    """Sudo mode: the password and a second-factor code again, before security settings change."""
    with _one_attempt_at_a_time(user.username):
        _refuse_if_throttled(user.username, actor)
        if not user.check_password(password):
            _fail(user.username, actor, "wrong password at re-authentication")
            raise SignInError(_("That password or code is not right."))
        if not _accept_second_factor(user, code, actor):
            _fail(user.username, actor, "wrong code at re-authentication", LoginFailure.Stage.CODE)
            raise SignInError(_("That password or code is not right."))
    record(actor, action=AuditEvent.Action.SIGN_IN, object_type="user",
           object_id=str(user.public_id), clinic_id=home_clinic_id(user.username),
           detail="re-authenticated")


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
    with _one_attempt_at_a_time(user.username):
        _refuse_if_throttled(user.username, actor)
        device = TOTPDevice.objects.select_for_update().get(user=user)
        step = _matching_step(device.secret, code.strip().replace(" ", ""))
        if step is None:
            _fail(user.username, actor, "wrong enrolment code", LoginFailure.Stage.CODE)
            raise SignInError(_("That code does not match. Check the time on your phone and retry."))
        device.confirmed = True
        device.last_used_step = step
        device.save(update_fields=["confirmed", "last_used_step"])
        codes = _replace_recovery_codes(user)
        record(actor, action=AuditEvent.Action.UPDATE, object_type="user",
               object_id=str(user.public_id), detail="two-factor enrolled")
    return codes


def regenerate_recovery_codes(*, user: User, actor: Actor) -> list[str]:
    """New recovery codes to show once; the old ones stop working."""
    with transaction.atomic():
        # Two regenerations at once would otherwise leave both sets of codes working.
        User.objects.select_for_update().filter(pk=user.pk).first()
        codes = _replace_recovery_codes(user)
        record(actor, action=AuditEvent.Action.UPDATE, object_type="user",
               object_id=str(user.public_id), clinic_id=home_clinic_id(user.username),
               detail="recovery codes regenerated")
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes (caller's transaction); only hashes are stored."""
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODE_COUNT)]
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


# --- API tokens ---------------------------------------------------------------------------------

def issue_token(*, clinic: Clinic, name: str, scope: str, days: int, by: User,
                actor: Actor) -> tuple[ApiToken, str]:
    """Issue an API token for the clinic; the raw value is returned once, only its hash kept."""
    with transaction.atomic():
        token, raw = ApiToken.issue(name=name, clinic=clinic, scope=scope, created_by=by,
                                    days=days)
        record(actor, action=AuditEvent.Action.CREATE, object_type="api_token",
               object_id=str(token.public_id), clinic_id=str(clinic.public_id),
               changes={"name": [None, name], "scope": [None, scope],
                        "expires_at": [None, token.expires_at.isoformat() if token.expires_at
                                       else None]},
               detail=f"{scope} token {name!r}")
    return token, raw


def revoke_token(*, token: ApiToken, actor: Actor) -> bool:
    """Revoke a token now; False, with nothing written, when it was revoked already."""
    with transaction.atomic():
        now = timezone.now()
        # A conditional UPDATE: two managers revoking at once write one revocation, one event.
        if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
            return False
        token.revoked_at = now
        record(actor, action=AuditEvent.Action.UPDATE, object_type="api_token",
               object_id=str(token.public_id), clinic_id=str(token.clinic.public_id),
               changes={"revoked_at": [None, now.isoformat()]},
               detail=f"{token.scope} token {token.name!r} revoked")
        # Forget it now and again on commit: a call in between may have cached the row as it
        # was before this transaction committed.
        forget_token(token)
        transaction.on_commit(lambda: forget_token(token))
    return True


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


def _staff_event(actor: Actor, action: AuditEvent.Action, object_type: ObjectType,
                 object_id: str, clinic: Clinic, changes: dict[str, Any], detail: str = "") -> None:
    record(actor, action=action, object_type=object_type, object_id=object_id,
           clinic_id=str(clinic.public_id), organisation_id=str(clinic.organisation.public_id),
           changes=changes, detail=detail)


def add_staff_member(
    *, clinic: Clinic, username: str, display_name: str, email: str, password: str,
    roles: list[str], by: User, actor: Actor,
) -> User:
    """Create a staff account with an initial password and roles at one clinic the manager
    manages; the new member enrols an authenticator at their first sign-in."""
    _require_manager(by, clinic)
    username = username.strip()
    try:
        for field, value in (("username", username), ("display_name", display_name),
                             ("email", email)):
            _visible(field, value)
    except ValidationError as exc:
        raise StaffError(" ".join(exc.messages)) from None
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
        _staff_event(actor, AuditEvent.Action.UPDATE, "staff", str(user.public_id), clinic,
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
        _staff_event(actor, AuditEvent.Action.CREATE, "staff", str(user.public_id), clinic,
                     {f"credential.{k}": [None, v.isoformat() if hasattr(v, "isoformat") else v]
                      for k, v in data.items()}, detail=f"credential {credential.pk} recorded")
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
