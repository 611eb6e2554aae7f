"""The stock endpoints: the same rules, rights, refusals and audit as the stock pages."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from mesoclinic.audit.models import AuditEvent
from mesoclinic.inventory import actions
from mesoclinic.inventory.models import Lot, StockMove
from mesoclinic.inventory.tests.helpers import ACTOR, lot, product, state, today

pytestmark = pytest.mark.django_db


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _post(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


@pytest.fixture
def stock(cast: Any) -> dict[str, Any]:
    ha = product(cast, low_stock_threshold="5")
    return {"product": ha, "ha": lot(cast, ha, quantity="3"),
            "soon": lot(cast, ha, number="HA-2300", quantity="2",
                        expires_on=today(cast.clinic) + timedelta(days=10)),
            "berlin": lot(cast, product(cast, cast.sister), number="B-1")}


def test_any_token_lists_the_clinics_products_with_their_stock(cast, stock):
    response = Client().get("/api/v1/products", headers=_bearer(cast.read_token))
    assert response.status_code == 200
    [ha] = response.json()
    assert ha == {"id": str(stock["product"].public_id), "name": "Hyaluronic acid 1%",
                  "kind": "component", "unit": "ml", "ingredients": ["hyaluronic_acid"],
                  "multi_dose": False, "in_use_days": None, "low_stock_threshold": "5",
                  "active": True, "usable": "5", "on_hand": "5", "low": True}
    event = AuditEvent.objects.filter(object_type="product", action="view").latest("id")
    assert event.username == "token:reader"


def test_lots_filter_by_expiry_and_recall_and_never_show_another_clinics(cast, stock):
    reader = _bearer(cast.read_token)
    every = Client().get("/api/v1/lots", headers=reader).json()
    assert [x["number"] for x in every] == ["HA-2300", "HA-2291"]
    soon = Client().get("/api/v1/lots", {"expiring_within_days": 30}, headers=reader).json()
    assert [(x["number"], x["state"]) for x in soon] == [("HA-2300", "expiring")]
    actions.recall(stock["ha"], clinic=cast.clinic, reason="Notice", by=cast.manager, actor=ACTOR)
    recalled = Client().get("/api/v1/lots", {"recalled": "true"}, headers=reader).json()
    assert [(x["number"], x["state"], x["recall_reason"]) for x in recalled] == [
        ("HA-2291", "recalled", "Notice")]
    assert [x["number"] for x in Client().get("/api/v1/lots", {"recalled": "false"},
                                              headers=reader).json()] == ["HA-2300"]
    bad = Client().get("/api/v1/lots", {"expiring_within_days": -1}, headers=reader)
    assert bad.status_code == 422
    assert bad.json()["field"] == "expiring_within_days"


def test_one_lot_and_its_ledger(cast, stock):
    actions.draw(stock["ha"], "1", clinic=cast.clinic, by=cast.nurse, actor=ACTOR)
    reader = _bearer(cast.read_token)
    one = Client().get(f"/api/v1/lots/{stock['ha'].public_id}", headers=reader).json()
    assert (one["number"], one["on_hand"], one["received_quantity"], one["expires_on"]) == (
        "HA-2291", "2", "3", "2099-12-31")
    moves = Client().get(f"/api/v1/lots/{stock['ha'].public_id}/moves", headers=reader).json()
    assert [(m["kind"], m["quantity"], m["on_hand_after"]) for m in moves] == [
        ("received", "3", "3"), ("used", "-1", "2")]
    assert moves[1]["by"] == str(cast.nurse)


def test_another_clinics_lot_is_not_found(cast, stock):
    berlin = stock["berlin"].public_id
    before = state()
    for method, url, body in (
            ("GET", f"/api/v1/lots/{berlin}", None), ("GET", f"/api/v1/lots/{berlin}/moves", None),
            ("POST", f"/api/v1/lots/{berlin}/moves", {"kind": "wasted", "quantity": "1", "reason": "x"})):
        response = Client().generic(method, url, json.dumps(body) if body else "",
                                    content_type="application/json", headers=_bearer(cast.write_token))
        assert response.status_code == 404, url
        assert response.json() == {"error": "no such lot", "field": None}
    assert state() == before


def test_a_write_token_receives_a_delivery(cast, stock):
    body = {"product": str(stock["product"].public_id), "number": "HA-9", "supplier": "MesoPharm",
            "expires_on": "2099-01-31", "quantity": "4.5"}
    response = _post(Client(), "/api/v1/lots", body, **_bearer(cast.write_token))
    assert response.status_code == 201
    created = Lot.objects.get(number="HA-9")
    assert response.json()["id"] == str(created.public_id)
    assert (created.on_hand, created.supplier) == (Decimal("4.500"), "MesoPharm")
    # Recorded as made by the token's issuer; the audit trail names the token.
    assert StockMove.objects.get(lot=created).by == cast.physician
    assert AuditEvent.objects.get(object_type="lot", action="create",
                                  object_id=str(created.public_id)).username == "token:writer"


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"quantity": "0"}, 422, "quantity"),
    ({"quantity": "1.0001"}, 422, "quantity"),
    ({"quantity": "many"}, 422, "quantity"),
    ({"expires_on": "2020-01-01"}, 422, "expires_on"),
    ({"expires_on": "31/01/2099"}, 422, "expires_on"),
    ({"number": ""}, 422, "number"),
    ({"number": "HA\u200b9"}, 422, "number"),
    ({"product": "00000000-0000-4000-8000-000000000000"}, 422, "product"),
    ({"colour": "blue"}, 422, "colour"),
])
def test_a_bad_delivery_is_refused_naming_the_field(cast, stock, change, status, field):
    body = {"product": str(stock["product"].public_id), "number": "HA-9", "expires_on": "2099-01-31",
            "quantity": "4", **change}
    before = state()
    response = _post(Client(), "/api/v1/lots", body, **_bearer(cast.write_token))
    assert response.status_code == status, response.json()
    assert response.json()["field"] == field
    assert set(response.json()) == {"error", "field"}
    assert state() == before


def test_another_clinics_product_cannot_be_received(cast, stock):
    body = {"product": str(stock["berlin"].product.public_id), "number": "X", "expires_on": "2099-01-31",
            "quantity": "1"}
    response = _post(Client(), "/api/v1/lots", body, **_bearer(cast.write_token))
    assert (response.status_code, response.json()["field"]) == (422, "product")


def test_a_recalled_batch_is_a_409(cast, stock):
    actions.recall(stock["ha"], clinic=cast.clinic, reason="Notice", by=cast.manager, actor=ACTOR)
    body = {"product": str(stock["product"].public_id), "number": "HA-2291", "expires_on": "2099-12-31",
            "quantity": "1"}
    response = _post(Client(), "/api/v1/lots", body, **_bearer(cast.write_token))
    assert (response.status_code, response.json()["field"]) == (409, "number")


def test_a_read_token_cannot_write_stock(cast, stock):
    before = state()
    response = _post(Client(), f"/api/v1/lots/{stock['ha'].public_id}/moves",
                     {"kind": "wasted", "quantity": "1", "reason": "Dropped"}, **_bearer(cast.read_token))
    assert response.status_code == 403
    assert state() == before


def test_waste_and_count_corrections_through_the_api(cast, stock):
    url = f"/api/v1/lots/{stock['ha'].public_id}/moves"
    writer = _bearer(cast.write_token)
    wasted = _post(Client(), url, {"kind": "wasted", "quantity": "0.5", "reason": "Spilt"}, **writer)
    assert wasted.status_code == 201
    assert (wasted.json()["kind"], wasted.json()["quantity"], wasted.json()["on_hand_after"]) == (
        "wasted", "-0.5", "2.5")
    adjusted = _post(Client(), url, {"kind": "adjusted", "quantity": "-0.5", "reason": "Count"}, **writer)
    assert adjusted.json()["on_hand_after"] == "2"
    before = state()
    too_much = _post(Client(), url, {"kind": "wasted", "quantity": "3", "reason": "Spilt"}, **writer)
    assert too_much.status_code == 409
    assert too_much.json() == {"error": "quantity: Only 2 ml left of lot HA-2291.", "field": "quantity"}
    no_reason = _post(Client(), url, {"kind": "wasted", "quantity": "1"}, **writer)
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
    zero = _post(Client(), url, {"kind": "adjusted", "quantity": "0", "reason": "Count"}, **writer)
    assert (zero.status_code, zero.json()["field"]) == (422, "quantity")
    used = _post(Client(), url, {"kind": "used", "quantity": "1"}, **writer)
    assert (used.status_code, used.json()["field"]) == (422, "kind")
    assert state() == before
    denied = AuditEvent.objects.filter(object_type="stock_move", outcome="denied")
    assert denied.filter(detail__startswith="quantity: Only 2 ml left").count() == 1


def test_a_transfer_through_the_api_links_both_moves(cast, stock):
    url = f"/api/v1/lots/{stock['ha'].public_id}/moves"
    writer = _bearer(cast.write_token)
    before = state()
    for body, field in (({"kind": "transfer", "quantity": "1"}, "to_clinic"),
                        ({"kind": "transfer", "quantity": "1", "to_clinic": str(cast.foreign.public_id)},
                         "to_clinic"),
                        ({"kind": "transfer", "quantity": "1", "to_clinic": str(cast.clinic.public_id)},
                         "to_clinic")):
        refused = _post(Client(), url, body, **writer)
        assert (refused.status_code, refused.json()["field"]) == (422, field)
    assert state() == before
    response = _post(Client(), url, {"kind": "transfer", "quantity": "1",
                                     "to_clinic": str(cast.sister.public_id)}, **writer)
    assert response.status_code == 201
    body = response.json()
    target = Lot.objects.get(clinic=cast.sister, number="HA-2291")
    assert body["kind"] == "transfer_out"
    assert body["to_lot_id"] == str(target.public_id)
    assert body["counterpart_id"] == str(StockMove.objects.get(lot=target).public_id)


def test_a_recall_is_for_physicians_and_managers_never_tokens(cast, stock):
    url = f"/api/v1/lots/{stock['ha'].public_id}/recall"
    before = state()
    for headers, client in (({**_bearer(cast.write_token)}, Client()),
                            ({}, cast.client_for(cast.nurse))):
        refused = _post(client, url, {"reason": "Notice"}, **headers)
        assert refused.status_code == 403
    assert state() == before
    actions.transfer(stock["ha"], cast.sister, "1", clinic=cast.clinic, by=cast.manager, actor=ACTOR)
    manager = cast.client_for(cast.manager)
    response = _post(manager, url, {"reason": "Supplier notice 12/27"})
    assert response.status_code == 200
    assert sorted((x["clinic"]["name"], x["number"]) for x in response.json()["recalled"]) == [
        ("Berlin", "HA-2291"), ("Nişantaşı", "HA-2291")]
    again = _post(manager, url, {"reason": "Twice"})
    assert (again.status_code, again.json()["field"]) == (409, "lot")
    empty = _post(manager, f"/api/v1/lots/{stock['soon'].public_id}/recall", {"reason": ""})
    assert (empty.status_code, empty.json()["field"]) == (422, "reason")


def test_reception_and_auditors_see_no_stock_through_their_session(cast, stock):
    for who in (cast.receptionist, cast.auditor):
        response = cast.client_for(who).get("/api/v1/lots")
        assert response.status_code == 403
        assert "HA-2291" not in response.content.decode()
