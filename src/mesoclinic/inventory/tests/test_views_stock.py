"""Stock pages as staff use them: who sees what, the forms, their refusals, another clinic's lots."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from mesoclinic.audit.models import AuditEvent
from mesoclinic.inventory import actions
from mesoclinic.inventory.models import Lot, Product, StockMove
from mesoclinic.inventory.tests.helpers import ACTOR, lot, product, state, today, vial

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock(cast: Any) -> dict[str, Any]:
    ha = product(cast, low_stock_threshold="5")
    needles = product(cast, name="30G 4 mm needle", kind="needle", unit="piece", ingredients=(),
                      low_stock_threshold="20")
    return {
        "ha": lot(cast, ha, quantity="3"),
        "soon": lot(cast, ha, number="HA-2300", quantity="2",
                    expires_on=today(cast.clinic) + timedelta(days=10)),
        "needles": lot(cast, needles, number="N-88", quantity="100"),
        "berlin": lot(cast, product(cast, cast.sister), number="B-1"),
    }


def _body(response: Any) -> str:
    return response.content.decode()


def test_the_overview_shows_usable_stock_and_flags_what_is_low(cast, stock):
    response = cast.client_for(cast.nurse).get(reverse("inventory:overview"))
    body = _body(response)
    assert response.status_code == 200
    assert "Hyaluronic acid 1%" in body
    assert "5 ml" in body  # 3 + 2 usable
    assert 'data-testid="low-stock"' in body  # 5 ml at a threshold of 5
    assert "100 pieces" in body
    assert "1 lot expires within 30 days" in body
    assert "B-1" not in body
    assert "Berlin" not in body.split("<main")[1].split("</main>")[0]
    event = AuditEvent.objects.filter(object_type="product", action="view").latest("id")
    assert event.detail == "stock overview: 2 products, 1 low"
    assert event.username == cast.nurse.username


@pytest.mark.parametrize("role", ["receptionist", "auditor"])
def test_reception_and_auditors_see_no_stock_pages(cast, stock, role):
    client = cast.client_for(getattr(cast, role))
    for url in (reverse("inventory:overview"), reverse("inventory:lots"),
                reverse("inventory:lot", args=[stock["ha"].public_id])):
        response = client.get(url)
        assert response.status_code == 403
        assert "HA-2291" not in _body(response)
    denied = AuditEvent.objects.filter(outcome="denied", username=getattr(cast, role).username)
    assert denied.count() == 3


def test_the_manager_keeps_the_stock(cast, stock):
    client = cast.client_for(cast.manager)
    assert client.get(reverse("inventory:overview")).status_code == 200
    assert client.get(reverse("inventory:recall", args=[stock["ha"].public_id])).status_code == 200


def test_a_nurse_may_waste_but_not_recall(cast, stock):
    client = cast.client_for(cast.nurse)
    url = reverse("inventory:recall", args=[stock["ha"].public_id])
    before = state()
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "Notice"}).status_code == 403
    assert state() == before
    response = client.post(reverse("inventory:correct", args=[stock["ha"].public_id]),
                           {"kind": "wasted", "quantity": "0.5", "reason": "Spilt"})
    assert response.status_code == 302
    assert Lot.objects.get(pk=stock["ha"].pk).on_hand == Decimal("2.5")


def test_another_clinics_lot_is_not_found_on_any_page(cast, stock):
    client = cast.client_for(cast.physician)
    berlin = stock["berlin"].public_id
    before = state()
    for name in ("inventory:lot", "inventory:correct", "inventory:transfer", "inventory:recall"):
        assert client.get(reverse(name, args=[berlin])).status_code == 404, name
    assert client.post(reverse("inventory:recall", args=[berlin]), {"reason": "x"}).status_code == 404
    assert client.post(reverse("inventory:correct", args=[berlin]),
                       {"kind": "wasted", "quantity": "1", "reason": "x"}).status_code == 404
    assert state() == before
    # Berlin's own physician sees it.
    own = cast.client_for(cast.sister_physician).get(reverse("inventory:lot", args=[berlin]))
    assert own.status_code == 200


def test_the_lot_lists_filter_expiring_and_recalled_lots(cast, stock):
    actions.recall(stock["needles"], clinic=cast.clinic, reason="Bent tips", by=cast.manager, actor=ACTOR)
    client = cast.client_for(cast.physician)
    expiring = _body(client.get(reverse("inventory:lots") + "?show=expiring"))
    assert "HA-2300" in expiring
    assert "HA-2291" not in expiring
    assert "N-88" not in expiring
    recalled = _body(client.get(reverse("inventory:lots") + "?show=recalled"))
    assert "N-88" in recalled
    assert "HA-2300" not in recalled
    everything = _body(client.get(reverse("inventory:lots") + "?show=all"))
    assert all(n in everything for n in ("HA-2291", "HA-2300", "N-88"))
    assert "B-1" not in everything
    berlin_product = stock["berlin"].product.public_id
    assert client.get(reverse("inventory:lots") + f"?product={berlin_product}").status_code == 404


def test_the_lot_page_shows_its_ledger(cast, stock):
    actions.draw(stock["ha"], "1", clinic=cast.clinic, by=cast.nurse, actor=ACTOR)
    response = cast.client_for(cast.physician).get(reverse("inventory:lot", args=[stock["ha"].public_id]))
    body = _body(response)
    assert 'data-testid="ledger"' in body
    assert "Received" in body
    assert "Used in a session" in body
    assert "+3" in body
    assert "−1" in body
    assert '<dd data-testid="on-hand">2 ml</dd>' in body
    event = AuditEvent.objects.filter(object_type="lot", action="view").latest("id")
    assert event.object_id == str(stock["ha"].public_id)


def test_receiving_by_form_adds_a_lot_and_refuses_an_expired_one(cast, stock):
    client = cast.client_for(cast.nurse)
    form = {"product": str(stock["ha"].product.public_id), "number": "HA-9", "supplier": "MesoPharm",
            "expires_on": str(today(cast.clinic) - timedelta(days=1)), "quantity": "4"}
    before = state()
    response = client.post(reverse("inventory:receive"), form)
    assert response.status_code == 422
    assert "expired" in _body(response)
    assert state() == before
    form["expires_on"] = str(today(cast.clinic))  # usable through today
    response = client.post(reverse("inventory:receive"), form)
    received = Lot.objects.get(number="HA-9")
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:lot", args=[received.public_id])
    assert received.on_hand == 4


def test_a_product_of_another_clinic_cannot_be_picked_in_the_delivery_form(cast, stock):
    response = cast.client_for(cast.nurse).post(reverse("inventory:receive"), {
        "product": str(stock["berlin"].product.public_id), "number": "X-1",
        "expires_on": "2099-01-01", "quantity": "1"})
    assert response.status_code == 422
    assert not Lot.objects.filter(number="X-1").exists()


def test_adding_a_product_by_form_names_the_missing_in_use_period(cast):
    client = cast.client_for(cast.manager)
    form = {"name": "Dexpanthenol multi-dose", "kind": "component", "unit": "ml",
            "ingredients": "dexpanthenol", "multi_dose": "on", "in_use_days": "", "low_stock_threshold": ""}
    response = client.post(reverse("inventory:product-new"), form)
    assert response.status_code == 422
    assert "Days usable after opening: A multi-dose vial needs" in _body(response)
    assert not Product.objects.exists()
    form["in_use_days"] = "28"
    response = client.post(reverse("inventory:product-new"), form)
    assert response.status_code == 302
    assert Product.objects.get().in_use_days == 28


def test_drawing_more_than_is_left_by_form_is_refused_naming_the_quantity(cast, stock):
    client = cast.client_for(cast.nurse)
    before = state()
    response = client.post(reverse("inventory:correct", args=[stock["ha"].public_id]),
                           {"kind": "adjusted", "quantity": "-4", "reason": "Count"})
    assert response.status_code == 422
    assert "Quantity: Only 3 ml left of lot HA-2291." in _body(response)
    response = client.post(reverse("inventory:correct", args=[stock["ha"].public_id]),
                           {"kind": "wasted", "quantity": "1", "reason": ""})
    assert response.status_code == 422
    assert state() == before


def test_a_transfer_by_form_goes_to_a_sister_clinic_only(cast, stock):
    client = cast.client_for(cast.manager)
    url = reverse("inventory:transfer", args=[stock["ha"].public_id])
    page = _body(client.get(url))
    assert "Berlin" in page
    assert "Elsewhere" not in page
    before = state()
    assert client.post(url, {"to_clinic": str(cast.foreign.public_id), "quantity": "1"}).status_code == 422
    assert state() == before
    response = client.post(url, {"to_clinic": str(cast.sister.public_id), "quantity": "1"})
    assert response.status_code == 302
    assert Lot.objects.get(clinic=cast.sister, number="HA-2291").on_hand == 1


def test_the_recall_form_says_how_many_lots_it_marks_and_needs_a_reason(cast, stock):
    actions.transfer(stock["ha"], cast.sister, "1", clinic=cast.clinic, by=cast.manager, actor=ACTOR)
    client = cast.client_for(cast.physician)
    url = reverse("inventory:recall", args=[stock["ha"].public_id])
    page = _body(client.get(url))
    assert "This marks 2 lots recalled, at Berlin, Nişantaşı." in page
    before = state()
    response = client.post(url, {"reason": "   "})
    assert response.status_code == 422
    assert state() == before
    response = client.post(url, {"reason": "Supplier notice 12/27"})
    assert response.status_code == 302
    assert Lot.objects.filter(number="HA-2291", recalled_at__isnull=False).count() == 2
    again = client.post(url, {"reason": "Twice"})
    assert again.status_code == 422
    assert "recalled already" in _body(again)


def test_a_multi_dose_vial_page_says_until_when_it_may_be_used(cast):
    item = vial(cast, days=28)
    actions.draw(item, "1", clinic=cast.clinic, by=cast.nurse, actor=ACTOR)
    body = _body(cast.client_for(cast.nurse).get(reverse("inventory:lot", args=[item.public_id])))
    assert "usable until" in body


def test_anonymous_visitors_are_sent_to_sign_in(cast, stock, client):
    response = client.get(reverse("inventory:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert StockMove.objects.count() == 4


def test_the_expiry_of_a_lot_expiring_today_is_still_usable(cast):
    item = lot(cast, product(cast), expires_on=today(cast.clinic))
    body = _body(cast.client_for(cast.nurse).get(reverse("inventory:lot", args=[item.public_id])))
    assert "Expiring soon" in body
    assert ">Expired<" not in body
