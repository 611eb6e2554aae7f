"""The sessions API: the same check, actions and rights as the pages."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from mesoclinic.charting.models import SessionAmendment, TreatmentSession
from mesoclinic.charting.tests.helpers import ACTOR, cheek, ready
from mesoclinic.inventory.models import Lot
from mesoclinic.plans import consents
from mesoclinic.plans.models import Consent


def _post(client: Any, url: str, body: dict[str, Any], method: str = "post") -> Any:
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def _start_body(cast: Any, state: Any) -> dict[str, Any]:
    return {"patient_id": str(cast.patient.public_id), "plan_id": str(state.plan.public_id),
            "components": [{"ingredient": "hyaluronic_acid", "lot_id": str(state.ha_lot.public_id),
                            "quantity": "2"}]}


def test_start_refused_by_the_check_lists_every_item(cast: Any) -> None:
    state = ready(cast)
    consents.withdraw_consent(consent=Consent.objects.get(plan=state.plan), reason="patient declined",
                              by=cast.physician,
                              actor=ACTOR)
    client = cast.client_for(cast.physician)
    checked = _post(client, "/api/v1/session-checks", _start_body(cast, state))
    assert checked.status_code == 200
    assert checked.json()["ready"] is False
    response = _post(client, "/api/v1/sessions", _start_body(cast, state))
    assert response.status_code == 409
    body = response.json()
    assert [b["code"] for b in body["blocking"]] == [b["code"] for b in checked.json()["blocking"]]
    assert "CONSENT_WITHDRAWN" in [b["code"] for b in body["blocking"]]
    assert not TreatmentSession.objects.exists()


def test_start_chart_sign_amend_over_the_api(cast: Any) -> None:
    state = ready(cast)
    client = cast.client_for(cast.physician)
    created = _post(client, "/api/v1/sessions", _start_body(cast, state))
    assert created.status_code == 201, created.content
    session = created.json()
    assert session["status"] == "in_progress"
    assert session["check"] == {"ready": True, "blocking": []}
    points = [{"map": p.map_id, "x": p.x, "y": p.y, "depth_mm": "1.5", "volume_ml": "0.05"} for p in cheek(3)]
    charted = _post(client, f"/api/v1/sessions/{session['id']}/chart",
                    {"version": session["version"], "points": points, "notes": "ok"}, method="put")
    assert charted.status_code == 200, charted.content
    assert charted.json()["totals"] == {"injections": 3, "volume_ml": "0.150"}
    stale = _post(client, f"/api/v1/sessions/{session['id']}/chart", {"version": 1, "notes": "x"}, "put")
    assert stale.status_code == 409
    assert stale.json()["field"] == "version"
    signed = _post(client, f"/api/v1/sessions/{session['id']}/sign", {"version": charted.json()["version"]})
    assert signed.status_code == 200
    assert signed.json()["status"] == "signed"
    assert Lot.objects.get(pk=state.ha_lot.pk).on_hand == Decimal("8")
    again = _post(client, f"/api/v1/sessions/{session['id']}/sign", {"version": signed.json()["version"]})
    assert again.status_code == 409
    assert again.json()["field"] == "status"
    no_reason = _post(client, f"/api/v1/sessions/{session['id']}/amendments", {"reason": " ", "notes": "y"})
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "reason"
    amended = _post(client, f"/api/v1/sessions/{session['id']}/amendments",
                    {"reason": "typo", "notes": "ok, no bruising"})
    assert amended.status_code == 201
    assert amended.json()["notes"] == "ok"  # the signed chart stays as signed
    assert amended.json()["amendments"][0]["changes"]["notes"]["to"] == "ok, no bruising"
    assert SessionAmendment.objects.count() == 1
    read = client.get(f"/api/v1/sessions/{session['id']}")
    assert read.status_code == 200
    assert len(read.json()["points"]) == 3


def test_bad_chart_input_is_a_422_naming_the_field(cast: Any) -> None:
    state = ready(cast)
    client = cast.client_for(cast.physician)
    session = _post(client, "/api/v1/sessions", _start_body(cast, state)).json()
    url = f"/api/v1/sessions/{session['id']}/chart"
    good = cheek(1)[0]
    deep = _post(client, url, {"version": 1, "points": [
        {"map": "face_front", "x": good.x, "y": good.y, "depth_mm": "40", "volume_ml": "0.05"}]}, "put")
    assert deep.status_code == 422
    assert deep.json()["field"] == "points[0].depth_mm"
    off = _post(client, url, {"version": 1, "points": [
        {"map": "face_front", "x": -5, "y": -5, "depth_mm": "1.5", "volume_ml": "0.05"}]}, "put")
    assert off.status_code == 422
    assert off.json()["field"].startswith("points[0]")
    negative = _post(client, url, {"version": 1, "points": [
        {"map": "face_front", "x": good.x, "y": good.y, "depth_mm": "1.5", "volume_ml": "-1"}]}, "put")
    assert negative.status_code == 422
    assert not TreatmentSession.objects.get().points.exists()


def test_rights_over_the_api(cast: Any) -> None:
    state = ready(cast)
    body = _start_body(cast, state)
    assert _post(cast.client_for(cast.receptionist), "/api/v1/sessions", body).status_code == 403
    assert _post(cast.client_for(cast.sister_physician), "/api/v1/sessions", body).status_code == 404
    assert cast.client_for(cast.physician).get(
        f"/api/v1/patients/{cast.patient.public_id}/sessions").status_code == 200
    from django.test import Client

    # No token holds clinical rights: sessions are for staff signed in.
    with_token = Client().get(f"/api/v1/patients/{cast.patient.public_id}/sessions",
                              headers={"Authorization": f"Bearer {cast.write_token}"})
    assert with_token.status_code == 401
    assert not TreatmentSession.objects.exists()
