"""Operators add staff and issue API tokens from the console; bad input changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from mesoclinic.accounts.models import ApiToken, Membership, User
from mesoclinic.audit.models import AuditEvent


def test_add_staff_creates_an_account_with_a_role(cast, monkeypatch) -> None:
    monkeypatch.setenv("MESOCLINIC_PASSWORD", "a-long-enough-password-7")
    out = io.StringIO()
    call_command("add_staff", "dr.new", clinic=cast.clinic.name, role="physician",
                 name="Dr. New", medical_director=True, stdout=out)
    user = User.objects.get(username="dr.new")
    assert user.check_password("a-long-enough-password-7")
    assert user.password.startswith("argon2")
    assert user.medical_director is True
    assert list(Membership.objects.filter(user=user).values_list("clinic", "role")) == [
        (cast.clinic.pk, "physician")]
    assert out.getvalue().strip() == f"dr.new now holds the role physician at {cast.clinic.name}"
    event = AuditEvent.objects.get(object_id=str(user.public_id))
    assert (event.via, event.changes) == ("cli", {"role": [None, "physician"]})


def test_add_staff_gives_an_existing_user_another_role_without_asking_a_password(cast) -> None:
    call_command("add_staff", "nurse.kaya", clinic=cast.sister.name, role="nurse",
                 stdout=io.StringIO())
    assert set(Membership.objects.filter(user=cast.nurse).values_list("clinic", "role")) == {
        (cast.clinic.pk, "nurse"), (cast.sister.pk, "nurse")}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"clinic": "Nowhere", "role": "nurse"}, "--clinic: no clinic named 'Nowhere'"),
        ({"role": "nurse", "medical_director": True}, "--medical-director"),
    ],
)
def test_add_staff_refuses_bad_input_and_changes_nothing(cast, monkeypatch, kwargs, message) -> None:
    monkeypatch.setenv("MESOCLINIC_PASSWORD", "a-long-enough-password-7")
    kwargs.setdefault("clinic", cast.clinic.name)
    users = User.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("add_staff", "someone", stdout=io.StringIO(), **kwargs)
    assert User.objects.count() == users


def test_add_staff_refuses_a_weak_password(cast, monkeypatch) -> None:
    monkeypatch.setenv("MESOCLINIC_PASSWORD", "short")
    with pytest.raises(CommandError, match=r"^password: "):
        call_command("add_staff", "someone", clinic=cast.clinic.name, role="nurse",
                     stdout=io.StringIO())
    assert not User.objects.filter(username="someone").exists()


def test_issue_token_prints_a_working_token_once_and_keeps_only_its_hash(cast) -> None:
    out = io.StringIO()
    call_command("issue_token", "lab", clinic=cast.clinic.name, scope="read",
                 by="manager.yilmaz", stdout=out)
    raw = out.getvalue().strip()
    token = ApiToken.objects.get(name="lab")
    assert token.token_hash == ApiToken.hash(raw)
    assert raw not in token.token_hash
    assert (token.scope, token.clinic, token.created_by) == ("read", cast.clinic, cast.manager)
    from django.test import Client

    response = Client().get("/api/v1/patients", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


def test_only_a_clinic_manager_may_issue_a_token(cast) -> None:
    with pytest.raises(CommandError, match="is not a clinic manager"):
        call_command("issue_token", "lab", clinic=cast.clinic.name, scope="write",
                     by="dr.house", stdout=io.StringIO())
    assert not ApiToken.objects.filter(name="lab").exists()


def test_issue_token_writes_the_token_and_its_audit_event_together(cast, monkeypatch) -> None:
    from mesoclinic.accounts import actions

    def broken_record(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(actions, "record", broken_record)
    with pytest.raises(RuntimeError):
        call_command("issue_token", "lab", clinic=cast.clinic.name, scope="read",
                     by="manager.yilmaz", stdout=io.StringIO())
    assert not ApiToken.objects.filter(name="lab").exists()


def test_issue_token_is_audited_as_the_manager_on_the_console(cast) -> None:
    call_command("issue_token", "lab", clinic=cast.clinic.name, scope="write",
                 by="manager.yilmaz", days=30, stdout=io.StringIO())
    token = ApiToken.objects.get(name="lab")
    event = AuditEvent.objects.get(object_type="api_token")
    assert (event.action, event.username, event.via, event.object_id, event.clinic_id) == (
        "create", "manager.yilmaz", "cli", str(token.public_id), str(cast.clinic.public_id))


@pytest.mark.parametrize("by_id", [False, True], ids=["by-name", "by-id"])
def test_revoke_token_stops_it_and_is_audited(cast, client, by_id) -> None:
    token = ApiToken.objects.get(name="reader")
    assert client.get("/api/v1/patients", HTTP_AUTHORIZATION=f"Bearer {cast.read_token}"
                      ).status_code == 200
    out = io.StringIO()
    call_command("revoke_token", str(token.public_id) if by_id else "reader",
                 clinic=cast.clinic.name, by="manager.yilmaz", stdout=out)
    assert out.getvalue().strip() == f"revoked read token 'reader' ({token.public_id})"
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert client.get("/api/v1/patients", HTTP_AUTHORIZATION=f"Bearer {cast.read_token}"
                      ).status_code == 401
    event = AuditEvent.objects.get(object_type="api_token")
    assert (event.action, event.username, event.via, event.object_id) == (
        "update", "manager.yilmaz", "cli", str(token.public_id))


@pytest.mark.parametrize(
    ("token", "kwargs", "message"),
    [
        ("reader", {"clinic": "Nowhere"}, "--clinic: no clinic named 'Nowhere'"),
        ("reader", {"by": "dr.house"}, "--by: 'dr.house' is not a clinic manager of"),
        ("nothing", {}, "NAME_OR_ID: Nişantaşı has no active token 'nothing'"),
        # Another clinic's token, by name or by id, is not found at this clinic.
        ("sister", {}, "NAME_OR_ID: Nişantaşı has no active token 'sister'"),
        ("{sister_id}", {}, "NAME_OR_ID: Nişantaşı has no active token"),
    ],
)
def test_revoke_token_refuses_bad_input_and_changes_nothing(cast, token, kwargs, message) -> None:
    token = token.format(sister_id=ApiToken.objects.get(name="sister").public_id)
    kwargs = {"clinic": cast.clinic.name, "by": "manager.yilmaz", **kwargs}
    with pytest.raises(CommandError, match=message):
        call_command("revoke_token", token, stdout=io.StringIO(), **kwargs)
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    assert not AuditEvent.objects.exists()


def test_revoke_token_by_an_ambiguous_name_asks_for_the_id(cast) -> None:
    ApiToken.issue(name="reader", clinic=cast.clinic, scope="read", created_by=cast.manager)
    with pytest.raises(CommandError, match="2 active tokens are named 'reader'; give one id"):
        call_command("revoke_token", "reader", clinic=cast.clinic.name, by="manager.yilmaz",
                     stdout=io.StringIO())
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()


def test_revoking_a_revoked_token_says_so_and_writes_nothing(cast) -> None:
    token = ApiToken.objects.get(name="reader")
    call_command("revoke_token", str(token.public_id), clinic=cast.clinic.name,
                 by="manager.yilmaz", stdout=io.StringIO())
    with pytest.raises(CommandError, match="was already revoked"):
        call_command("revoke_token", str(token.public_id), clinic=cast.clinic.name,
                     by="manager.yilmaz", stdout=io.StringIO())
    assert AuditEvent.objects.filter(object_type="api_token").count() == 1


def test_add_staff_action_writes_the_account_role_and_event_together(cast) -> None:
    from mesoclinic.accounts.actions import add_staff
    from mesoclinic.audit.log import Actor

    actor = Actor(username="operator", role="operator", via="cli")
    user, created = add_staff(username="nurse.new", clinic=cast.clinic, role="nurse",
                              password="a-long-enough-password-7", display_name="Nurse New",
                              actor=actor)
    assert created is True
    assert (user.display_name, user.check_password("a-long-enough-password-7")) == ("Nurse New", True)
    event = AuditEvent.objects.get(object_id=str(user.public_id))
    assert (event.username, event.via, event.clinic_id, event.changes) == (
        "operator", "cli", str(cast.clinic.public_id), {"role": [None, "nurse"]})
    again, created = add_staff(username="nurse.new", clinic=cast.clinic, role="nurse", actor=actor)
    assert (again.pk, created) == (user.pk, False)
    assert Membership.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": None}, "password"),
        ({"display_name": "Dr.\u202eNew"}, "display_name"),
        ({"role": "nurse", "medical_director": True}, "medical_director"),
    ],
)
def test_add_staff_action_refuses_bad_input_and_writes_nothing(cast, kwargs, field) -> None:
    from django.core.exceptions import ValidationError

    from mesoclinic.accounts.actions import add_staff
    from mesoclinic.audit.log import Actor

    values = {"password": "a-long-enough-password-7", "role": "physician"} | kwargs
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        add_staff(username="someone", clinic=cast.clinic, actor=Actor(via="cli"), **values)
    assert list(caught.value.message_dict) == [field]
    assert not User.objects.filter(username="someone").exists()
    assert AuditEvent.objects.count() == events
