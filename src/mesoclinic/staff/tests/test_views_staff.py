"""The manager's staff pages: who may open each, what it changes, what it confirms."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from mesoclinic.accounts.models import Credential, Membership, User
from mesoclinic.audit.models import AuditEvent

NEW = {"username": "nurse.new", "display_name": "Nur Yeni", "email": "",
       "password": "a-long-initial-passphrase-9", "roles": ["nurse"]}
CREDENTIAL = {"licence_type": "nursing", "number": "N-1", "issuing_body": "TNA",
              "specialisation": "mesotherapy", "valid_from": "2024-01-01",
              "valid_until": "2026-12-20"}
REFUSED = {"physician": 403, "nurse": 403, "receptionist": 403, "auditor": 403}


def snapshot() -> tuple[object, ...]:
    return (
        sorted(User.objects.values_list("username", "is_active", "session_epoch")),
        sorted(Membership.objects.values_list("user__username", "clinic__name", "role")),
        Credential.objects.count(),
    )


def pages(cast) -> list[tuple[str, str, Any]]:
    nurse = cast.nurse.public_id
    clinic = str(cast.clinic.public_id)
    return [
        ("get", reverse("staff:new"), {}),
        ("post", reverse("staff:new"), NEW),
        ("get", reverse("staff:detail", args=[nurse]), {}),
        ("post", reverse("staff:roles", args=[nurse]), {"clinic": clinic, "roles": ["receptionist"]}),
        ("post", reverse("staff:credential-add", args=[nurse]), CREDENTIAL),
        ("post", reverse("staff:deactivate", args=[nurse]), {}),
    ]


@pytest.mark.parametrize("who", sorted(REFUSED))
def test_only_managers_open_the_staff_management_pages(cast, who: str) -> None:
    client = cast.client_for(getattr(cast, who))
    before = snapshot()
    for method, url, data in pages(cast):
        response = getattr(client, method)(url, data)
        assert (url, response.status_code) == (url, REFUSED[who])
        assert b"Nur Yeni" not in response.content
        assert b"nurse.kaya" not in response.content
    assert snapshot() == before
    denied = AuditEvent.objects.filter(outcome="denied", username=getattr(cast, who).username)
    assert denied.count() == len(pages(cast))


def test_manager_opens_every_page(cast) -> None:
    client = cast.client_for(cast.manager)
    assert client.get(reverse("staff:new")).status_code == 200
    detail = client.get(reverse("staff:detail", args=[cast.nurse.public_id]))
    assert detail.status_code == 200
    assert "nurse.kaya" in detail.content.decode()


def test_another_clinics_staff_answers_404_and_nothing_changes(cast) -> None:
    client = cast.client_for(cast.manager)
    before = snapshot()
    for user in (cast.sister_physician, cast.foreign_physician):
        for method, url, data in pages(cast)[2:]:
            url = url.replace(str(cast.nurse.public_id), str(user.public_id))
            assert getattr(client, method)(url, data).status_code == 404
    assert snapshot() == before


def test_adding_a_staff_member_confirms_and_shows_their_page(cast) -> None:
    client = cast.client_for(cast.manager)
    response = client.post(reverse("staff:new"), NEW, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nur Yeni can now sign in as nurse.new" in body
    assert 'role="status"' in body
    user = User.objects.get(username="nurse.new")
    assert user.roles_in(cast.clinic) == {"nurse"}


def test_an_invalid_new_staff_member_answers_422(cast) -> None:
    client = cast.client_for(cast.manager)
    response = client.post(reverse("staff:new"), {**NEW, "username": "dr.house"})
    assert response.status_code == 422
    assert "is taken" in response.content.decode()
    assert not User.objects.filter(display_name="Nur Yeni").exists()


def test_roles_are_changed_at_the_managers_clinic_and_refused_elsewhere(cast) -> None:
    client = cast.client_for(cast.manager)
    url = reverse("staff:roles", args=[cast.nurse.public_id])
    response = client.post(url, {"clinic": str(cast.clinic.public_id),
                                 "roles": ["nurse", "receptionist"]}, follow=True)
    assert "Roles of Nurse Kaya at Nişantaşı saved" in response.content.decode()
    assert cast.nurse.roles_in(cast.clinic) == {"nurse", "receptionist"}
    response = client.post(url, {"clinic": str(cast.sister.public_id), "roles": ["nurse"]},
                           follow=True)
    assert "You do not manage that clinic." in response.content.decode()
    assert not Membership.objects.filter(user=cast.nurse, clinic=cast.sister).exists()
    assert AuditEvent.objects.filter(object_type="staff", action="update", outcome="denied").count() == 1


def test_a_manager_cannot_grant_themselves_roles(cast) -> None:
    client = cast.client_for(cast.manager)
    client.post(reverse("staff:roles", args=[cast.manager.public_id]),
                {"clinic": str(cast.clinic.public_id), "roles": ["manager", "physician"]})
    assert cast.manager.roles_in(cast.clinic) == {"manager"}


def test_credentials_show_expired_and_expiring_badges(cast) -> None:
    Credential.objects.create(user=cast.physician, licence_type="medical", number="OLD",
                              issuing_body="TTB", specialisation="dermatology",
                              valid_from=date(2015, 1, 1), valid_until=date(2025, 1, 1))
    client = cast.client_for(cast.manager)
    with time_machine.travel(date(2026, 12, 2), tick=False):
        response = client.post(reverse("staff:credential-add", args=[cast.nurse.public_id]),
                               CREDENTIAL, follow=True)
        body = response.content.decode()
        assert "Credential recorded for Nurse Kaya." in body
        assert "Expires within 30 days" in body
        listing = client.get(reverse("staff:list")).content.decode()
    assert "Expired" in listing
    assert "Expires within 30 days" in listing
    assert "1 Jan 2025" in listing


def test_deactivating_ends_sessions_and_confirms(cast) -> None:
    nurse_client = cast.client_for(cast.nurse)
    client = cast.client_for(cast.manager)
    response = client.post(reverse("staff:deactivate", args=[cast.nurse.public_id]), follow=True)
    assert "Nurse Kaya is deactivated and signed out everywhere." in response.content.decode()
    assert nurse_client.get(reverse("patients:list")).status_code == 302
    assert User.objects.filter(pk=cast.nurse.pk, is_active=False).exists()
