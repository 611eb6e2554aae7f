"""One's own language: every staff role may set it; blank follows the clinic; audited once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from mesoclinic.accounts.models import User
from mesoclinic.accounts.preferences import set_language
from mesoclinic.accounts.session import SESSION_EPOCH
from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent

URL = "/staff/preferences/"


def test_the_url_is_named() -> None:
    assert reverse("staff:preferences") == URL


@pytest.mark.parametrize("who", ["physician", "nurse", "receptionist", "manager", "auditor"])
def test_every_role_may_choose_its_language(cast, who) -> None:
    user = getattr(cast, who)
    response = cast.client_for(user).post(URL, {"language": "tr"})
    assert response.status_code == 302
    assert response["Location"] == URL
    assert User.objects.get(pk=user.pk).language == "tr"
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id, event.username, event.clinic_id,
            event.changes) == ("update", "user", str(user.public_id), user.username,
                               str(cast.clinic.public_id), {"language": ["", "tr"]})


def test_the_next_page_is_in_the_chosen_language(cast) -> None:
    client = cast.client_for(cast.nurse)
    response = client.post(URL, {"language": "tr"}, headers={"referer": "http://testserver/knowledge/"},
                           follow=True)
    assert response.redirect_chain == [("http://testserver/knowledge/", 302)]
    assert "<h1>Klinik bilgi paketi</h1>" in response.content.decode()


def test_blank_returns_to_the_clinic_language(cast) -> None:
    cast.clinic.language = "de"
    cast.clinic.save(update_fields=["language"])
    cast.nurse.language = "tr"
    cast.nurse.save(update_fields=["language"])
    client = cast.client_for(cast.nurse)
    response = client.post(URL, {"language": ""}, follow=True)
    assert User.objects.get(pk=cast.nurse.pk).language == ""
    assert "<h1>Ihre Einstellungen</h1>" in response.content.decode()


def test_a_foreign_referer_is_not_followed(cast) -> None:
    response = cast.client_for(cast.nurse).post(
        URL, {"language": "tr"}, headers={"referer": "https://evil.example/phish"})
    assert (response.status_code, response["Location"]) == (302, URL)


def test_an_unknown_language_is_refused_and_nothing_changes(cast) -> None:
    response = cast.client_for(cast.nurse).post(URL, {"language": "xx"})
    assert response.status_code == 422
    assert User.objects.get(pk=cast.nurse.pk).language == ""
    assert not AuditEvent.objects.exists()


def test_the_page_offers_the_languages_and_the_clinic_default(cast) -> None:
    response = cast.client_for(cast.nurse).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<option value="" selected>The clinic&#x27;s language</option>' in page
    for code, name in (("tr", "Türkçe"), ("de", "Deutsch"), ("en-gb", "British English")):
        assert f'<option value="{code}">{name}</option>' in page


def test_the_header_menu_posts_here(cast) -> None:
    page = cast.client_for(cast.nurse).get(reverse("knowledge:browse")).content.decode()
    assert f'action="{URL}" class="language-switch"' in page
    assert '<option value="tr" lang="tr" >Türkçe</option>' in page


def test_signed_out_visitors_are_sent_to_sign_in(db) -> None:
    with time_machine.travel(datetime(2026, 3, 1, 10, 15, 30, tzinfo=UTC), tick=False):
        response = Client().post(URL, {"language": "tr"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/")
    # Anonymous knocks are counted per minute; the count becomes one event once the minute is over.
    with time_machine.travel(datetime(2026, 3, 1, 10, 16, 0, tzinfo=UTC), tick=False):
        event = AuditEvent.objects.get()
    assert (event.outcome, event.object_id, event.detail) == (
        "denied", "staff:preferences", "not signed in: 1 request in this minute")


def test_an_account_without_a_clinic_is_refused(db) -> None:
    user = User.objects.create_user(username="nobody", password="x" * 12)
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_EPOCH] = user.session_epoch
    session.save()
    assert client.post(URL, {"language": "tr"}).status_code == 403
    assert User.objects.get(pk=user.pk).language == ""


def test_setting_the_same_language_records_nothing(cast) -> None:
    assert set_language(cast.nurse, language="", actor=Actor(username="nurse.kaya")) is False
    assert not AuditEvent.objects.exists()


def test_the_action_refuses_an_unknown_language(cast) -> None:
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        set_language(cast.nurse, language="xx", actor=Actor(username="nurse.kaya"))
