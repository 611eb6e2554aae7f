"""Staff management actions: one transaction and one audit event each, within managed clinics."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import PASSWORD
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.urls import reverse

from mesoclinic.accounts import actions
from mesoclinic.accounts.models import Credential, Membership, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent

ACTOR = Actor(username="manager.yilmaz")
NEW_PASSWORD = "a-long-initial-passphrase-9"


def events(object_type: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=object_type).order_by("seq"))


def test_add_staff_member_creates_account_roles_and_one_event(cast) -> None:
    user = actions.add_staff_member(
        clinic=cast.clinic, username="nurse.new", display_name="Nur Yeni", email="n@example.org",
        password=NEW_PASSWORD, roles=["nurse"], by=cast.manager, actor=ACTOR)
    assert user.check_password(NEW_PASSWORD)
    assert (user.kind, user.is_active, user.has_mfa) == ("staff", True, False)
    assert set(Membership.objects.filter(user=user).values_list("clinic", "role")) == {
        (cast.clinic.pk, "nurse")}
    [event] = events("user")
    assert (event.action, event.object_id, event.clinic_id) == (
        "create", str(user.public_id), str(cast.clinic.public_id))
    assert event.changes["roles"] == [None, ["nurse"]]
    assert NEW_PASSWORD not in str(event.changes)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("username", "DR.HOUSE", "taken"),
    ("password", "short", "too short"),
    ("roles", [], "at least one role"),
])
def test_add_staff_member_refuses_bad_input_and_saves_nothing(cast, field, value, message) -> None:
    args = {"username": "nurse.new", "display_name": "Nur", "email": "", "password": NEW_PASSWORD,
            "roles": ["nurse"], field: value}
    with pytest.raises(actions.StaffError, match=message):
        actions.add_staff_member(clinic=cast.clinic, by=cast.manager, actor=ACTOR, **args)
    assert not User.objects.filter(username="nurse.new").exists()
    assert events("user") == []


def test_only_a_manager_of_the_clinic_may_add_staff_there(cast) -> None:
    for by, clinic in ((cast.physician, cast.clinic), (cast.manager, cast.sister)):
        with pytest.raises(actions.StaffError):
            actions.add_staff_member(clinic=clinic, username="x.y", display_name="X", email="",
                                     password=NEW_PASSWORD, roles=["nurse"], by=by, actor=ACTOR)
    assert not User.objects.filter(username="x.y").exists()


def test_set_roles_grants_and_revokes_with_one_event(cast) -> None:
    roles = actions.set_roles(user=cast.nurse, clinic=cast.clinic, roles=["receptionist"],
                              by=cast.manager, actor=ACTOR)
    assert roles == ["receptionist"]
    assert cast.nurse.roles_in(cast.clinic) == {"receptionist"}
    [event] = events("staff")
    assert event.changes == {"roles": [["nurse"], ["receptionist"]]}
    assert event.detail == "granted receptionist; revoked nurse"


def test_set_roles_without_a_change_records_nothing(cast) -> None:
    actions.set_roles(user=cast.nurse, clinic=cast.clinic, roles=["nurse"], by=cast.manager,
                      actor=ACTOR)
    assert events("staff") == []


def test_a_manager_cannot_grant_roles_at_a_clinic_they_do_not_manage(cast) -> None:
    with pytest.raises(actions.StaffError, match="You do not manage Berlin"):
        actions.set_roles(user=cast.nurse, clinic=cast.sister, roles=["nurse"], by=cast.manager,
                          actor=ACTOR)
    assert not Membership.objects.filter(user=cast.nurse, clinic=cast.sister).exists()


def test_a_manager_cannot_change_their_own_roles(cast) -> None:
    for clinic in (cast.clinic, cast.sister):
        with pytest.raises(actions.StaffError):
            actions.set_roles(user=cast.manager, clinic=clinic, roles=["manager", "physician"],
                              by=cast.manager, actor=ACTOR)
    assert cast.manager.roles_in(cast.clinic) == {"manager"}
    assert not Membership.objects.filter(user=cast.manager, clinic=cast.sister).exists()


def test_add_credential_records_dates_and_one_event(cast) -> None:
    data = {"licence_type": "medical", "number": "TR-123", "issuing_body": "TTB",
            "specialisation": "dermatology", "valid_from": date(2020, 1, 1),
            "valid_until": date(2030, 1, 1)}
    credential = actions.add_credential(user=cast.physician, clinic=cast.clinic, data=data,
                                        by=cast.manager, actor=ACTOR)
    assert Credential.objects.get(user=cast.physician) == credential
    [event] = events("staff")
    assert event.changes["credential.valid_until"] == [None, "2030-01-01"]
    assert event.object_id == str(cast.physician.public_id)


def test_add_credential_refuses_a_range_that_ends_before_it_starts(cast) -> None:
    data = {"licence_type": "medical", "number": "1", "issuing_body": "TTB",
            "specialisation": "dermatology", "valid_from": date(2020, 1, 2),
            "valid_until": date(2020, 1, 1)}
    with pytest.raises(ValidationError):
        actions.add_credential(user=cast.physician, clinic=cast.clinic, data=data,
                               by=cast.manager, actor=ACTOR)
    assert not Credential.objects.exists()


@pytest.mark.parametrize(("until", "status"), [
    (date(2026, 11, 30), "expired"), (date(2026, 12, 1), "expiring"),
    (date(2026, 12, 31), "expiring"), (date(2027, 1, 1), "valid"), (None, "valid"),
])
def test_credential_status_flags_expired_and_expiring_within_30_days(until, status) -> None:
    credential = Credential(valid_from=date(2020, 1, 1), valid_until=until)
    assert credential.status_on(date(2026, 12, 1)) == status
    assert Credential(valid_from=date(2027, 1, 1)).status_on(date(2026, 12, 1)) == "not_yet"


def test_deactivate_stops_sign_in_ends_sessions_and_keeps_the_account(cast) -> None:
    epoch = cast.nurse.session_epoch
    actions.deactivate_staff_member(user=cast.nurse, clinic=cast.clinic, by=cast.manager,
                                    actor=ACTOR)
    nurse = User.objects.get(pk=cast.nurse.pk)
    assert (nurse.is_active, nurse.session_epoch) == (False, epoch + 1)
    assert authenticate(username="nurse.kaya", password=PASSWORD) is None
    [event] = events("user")
    assert event.changes == {"is_active": [True, False]}
    actions.reactivate_staff_member(user=nurse, clinic=cast.clinic, by=cast.manager, actor=ACTOR)
    assert User.objects.get(pk=cast.nurse.pk).is_active


def test_deactivate_refuses_staff_who_also_work_at_a_clinic_the_manager_does_not_manage(cast) -> None:
    Membership.objects.create(user=cast.nurse, clinic=cast.sister, role=Role.NURSE)
    with pytest.raises(actions.StaffError, match="also works at Berlin"):
        actions.deactivate_staff_member(user=cast.nurse, clinic=cast.clinic, by=cast.manager,
                                        actor=ACTOR)
    assert User.objects.get(pk=cast.nurse.pk).is_active


def test_a_manager_cannot_deactivate_themselves(cast) -> None:
    with pytest.raises(actions.StaffError):
        actions.deactivate_staff_member(user=cast.manager, clinic=cast.clinic, by=cast.manager,
                                        actor=ACTOR)


def test_a_deactivated_session_ends_at_its_next_request(cast) -> None:
    client = cast.client_for(cast.nurse)
    assert client.get(reverse("patients:list")).status_code == 200
    actions.deactivate_staff_member(user=cast.nurse, clinic=cast.clinic, by=cast.manager,
                                    actor=ACTOR)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
