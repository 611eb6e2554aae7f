"""Quotes for a plan over the clinic's price list: issuing, the PDF, accepting, refusals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from mesoclinic.audit.log import Actor
from mesoclinic.plans import actions, pricing, quotes
from mesoclinic.plans.models import PriceList, Quote
from mesoclinic.plans.prices import save_price_list
from mesoclinic.plans.tests.helpers import draft


def _actor(user: Any) -> Actor:
    return Actor(user_id=str(user.public_id), username=user.username, role="test", via="web")


def _prices(cast: Any, currency: str = "TRY") -> PriceList:
    entries = (pricing.PriceEntry("face", "standard", "physician", "cosmetic", Decimal("3500.00")),
               pricing.PriceEntry("face", "standard", "physician", "medical", Decimal("3000.00")))
    pl = pricing.PriceList(currency, Decimal("0.20"), Decimal("1.00"), entries,
                           (pricing.PackageDiscount(6, Decimal("10")),), Decimal("1000.00"))
    return save_price_list(clinic=cast.clinic, price_list=pl, by=cast.manager,
                           actor=_actor(cast.manager))


def _plan(cast: Any) -> Any:
    return actions.create_plan(patient=cast.patient, draft=draft(), by=cast.physician,
                               actor=_actor(cast.physician))


@pytest.mark.django_db
def test_reception_quotes_a_plan_and_the_figures_follow_the_price_list(cast):
    _prices(cast)
    plan = _plan(cast)
    client = cast.client_for(cast.receptionist, cast.clinic)
    response = client.post(reverse("plans:quote-new", args=[cast.patient.public_id, plan.public_id]),
                           {"grade": "physician", "extra_checkups": "1"})
    assert response.status_code == 302
    quote = Quote.objects.get(plan=plan)
    # 8 sessions × 3500.00 = 28000.00; 10 % off = −2800.00; one check-up 1000.00;
    # subtotal 26200.00; tax 20 % = 5240.00; total 31440.00 (rejuvenation is cosmetic).
    assert quote.kind == "cosmetic"
    assert (quote.subtotal, quote.tax, quote.total) == (Decimal("26200.00"), Decimal("5240.00"),
                                                        Decimal("31440.00"))
    page = client.get(response["Location"]).content.decode()
    assert "31440.00 TRY" in page


@pytest.mark.django_db
def test_the_quote_pdf_opens_and_holds_the_name_and_the_total(cast):
    _prices(cast)
    plan = _plan(cast)
    quote = quotes.issue_quote(plan=plan, grade="physician", extra_checkups=0, by=cast.receptionist,
                               actor=_actor(cast.receptionist))
    client = cast.client_for(cast.receptionist, cast.clinic)
    response = client.get(reverse("plans:quote-pdf", args=[cast.patient.public_id, quote.public_id]))
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)
    assert "Ayşe Şahin" in text
    assert "30240.00 TRY" in text


@pytest.mark.django_db
def test_accepting_fixes_the_quote_and_a_second_acceptance_is_refused(cast):
    _prices(cast)
    plan = _plan(cast)
    first = quotes.issue_quote(plan=plan, grade="physician", extra_checkups=0, by=cast.receptionist,
                               actor=_actor(cast.receptionist))
    second = quotes.issue_quote(plan=plan, grade="physician", extra_checkups=2,
                                by=cast.receptionist, actor=_actor(cast.receptionist))
    quotes.accept_quote(quote=first, by=cast.receptionist, actor=_actor(cast.receptionist))
    assert quotes.accepted_quote(plan) == first
    with pytest.raises(quotes.QuoteRefused, match="already accepted"):
        quotes.accept_quote(quote=second, by=cast.receptionist, actor=_actor(cast.receptionist))


@pytest.mark.django_db
def test_an_expired_quote_or_one_for_an_older_version_is_refused(cast):
    _prices(cast)
    plan = _plan(cast)
    quote = quotes.issue_quote(plan=plan, grade="physician", extra_checkups=0, by=cast.receptionist,
                               actor=_actor(cast.receptionist))
    with time_machine.travel(quote.issued_at + timedelta(days=quotes.VALID_DAYS + 2)), \
            pytest.raises(quotes.QuoteRefused) as caught:
        quotes.accept_quote(quote=quote, by=cast.receptionist, actor=_actor(cast.receptionist))
    assert caught.value.field == "valid_until"
    actions.revise_plan(plan=plan, draft=draft(solution=draft().solution[:1]), based_on=1,
                        by=cast.physician, actor=_actor(cast.physician))
    with pytest.raises(quotes.QuoteRefused) as caught:
        quotes.accept_quote(quote=quote, by=cast.receptionist, actor=_actor(cast.receptionist))
    assert caught.value.field == "plan_version"


@pytest.mark.django_db
def test_without_a_price_list_quoting_is_refused_and_nothing_saved(cast):
    plan = _plan(cast)
    with pytest.raises(quotes.QuoteRefused) as caught:
        quotes.issue_quote(plan=plan, grade="physician", extra_checkups=0, by=cast.receptionist,
                           actor=_actor(cast.receptionist))
    assert caught.value.field == "price_list"
    assert not Quote.objects.exists()


@pytest.mark.django_db
def test_a_price_list_in_another_currency_than_the_clinics_is_refused(cast):
    with pytest.raises(pricing.PricingError) as caught:
        _prices(cast, currency="EUR")
    assert caught.value.field == "currency"
    assert not PriceList.objects.exists()


@pytest.mark.django_db
def test_the_manager_replaces_the_price_list_and_a_bad_line_changes_nothing(cast):
    client = cast.client_for(cast.manager, cast.clinic)
    url = reverse("clinic-prices")
    good = {"tax_rate": "0.20", "location_factor": "1.00", "checkup_price": "1000.00",
            "prices": "face, standard, physician, cosmetic, 3500.00\n"
                      "face, standard, physician, medical, 3000.00",
            "discounts": "6, 10"}
    assert client.post(url, good).status_code == 302
    assert PriceList.objects.count() == 1
    bad = {**good, "prices": good["prices"].replace("3000.00", "4000.00")}
    response = client.post(url, bad)
    assert response.status_code == 422
    assert "line 1" in response.content.decode()
    assert "F-COST" in response.content.decode()
    negative = {**good, "prices": "face, standard, physician, cosmetic, -5"}
    assert client.post(url, negative).status_code == 422
    assert PriceList.objects.count() == 1


@pytest.mark.django_db
def test_the_quote_api_prices_in_the_clinics_currency_only(cast):
    import json

    from django.test import Client

    from mesoclinic.api.plans import QUOTE_EXAMPLE

    client = Client()
    headers = {"Authorization": f"Bearer {cast.read_token}"}
    ok = client.post("/api/v1/quotes", json.dumps({**QUOTE_EXAMPLE, "currency": "TRY"}),
                     content_type="application/json", headers=headers)
    assert ok.status_code == 200
    assert ok.json()["total"] == "1178.58"
    wrong = client.post("/api/v1/quotes", json.dumps(QUOTE_EXAMPLE),
                        content_type="application/json", headers=headers)
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "currency"
    bad = client.post("/api/v1/quotes", json.dumps({**QUOTE_EXAMPLE, "currency": "TRY",
                                                    "tax_rate": 0.19}),
                      content_type="application/json", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["field"] == "tax_rate"
