"""The safety API: the same actions, refusals and rights as the pages."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from mesoclinic.audit.models import AuditEvent
from mesoclinic.safety.models import AdverseEvent, Alert
from mesoclinic.safety.tests.helpers import signed, today


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _body(cast: Any, session: Any, **fields: Any) -> dict[str, Any]:
    body = {"sessions": [str(session.public_id)], "effect": "infection", "onset": today(cast).isoformat(),
            "severity": "moderate"}
    body.update(fields)
    return body


def test_a_report_over_the_api_raises_the_alert_and_the_hold(cast: Any) -> None:
    session = signed(cast)
    url = f"/api/v1/patients/{cast.patient.public_id}/adverse-events"
    response = _post(cast.client_for(cast.nurse), url, _body(cast, session))
    assert response.status_code == 201
    body = response.json()
    assert (body["infection"], body["holds_next_session"], body["status"]) == ("suspected", True, "open")
    assert [a["reason"] for a in body["alerts"]] == ["infection"]
    listed = cast.client_for(cast.physician).get(url).json()
    assert [e["id"] for e in listed] == [body["id"]]
    mine = cast.client_for(cast.physician).get("/api/v1/safety/alerts").json()
    assert [a["event_id"] for a in mine] == [body["id"]]


def test_bad_reports_are_refused_by_field_and_save_nothing(cast: Any) -> None:
    session = signed(cast)
    url = f"/api/v1/patients/{cast.patient.public_id}/adverse-events"
    client = cast.client_for(cast.nurse)
    future = _post(client, url, _body(cast, session, onset=(today(cast) + timedelta(days=3)).isoformat()))
    assert future.status_code == 422
    assert future.json()["field"] == "onset"
    assert _post(client, url, _body(cast, session, severity="catastrophic")).status_code == 422
    assert _post(client, url, _body(cast, session, surprise=True)).status_code == 422
    sister = _post(client, f"/api/v1/patients/{cast.sister_patient.public_id}/adverse-events",
                   _body(cast, session))
    assert sister.status_code == 404
    reception = _post(cast.client_for(cast.receptionist), url, _body(cast, session))
    assert reception.status_code == 403
    assert not AdverseEvent.objects.exists()
    assert AuditEvent.objects.filter(object_type="adverse_event", outcome="denied").exists()


def test_a_physician_clears_the_hold_with_a_note_and_acknowledges(cast: Any) -> None:
    session = signed(cast)
    created = _post(cast.client_for(cast.nurse), f"/api/v1/patients/{cast.patient.public_id}/adverse-events",
                    _body(cast, session)).json()
    url = f"/api/v1/adverse-events/{created['id']}/hold-clearance"
    assert _post(cast.client_for(cast.nurse), url, {"note": "fine"}).status_code == 403
    doctor = cast.client_for(cast.physician)
    assert _post(doctor, url, {"note": ""}).status_code == 422
    cleared = _post(doctor, url, {"note": "Seen, no abscess", "version": created["version"]})
    assert cleared.status_code == 200
    assert cleared.json()["holds_next_session"] is False
    alert = Alert.objects.get()
    ack = f"/api/v1/safety/alerts/{alert.public_id}/acknowledgement"
    assert _post(cast.client_for(cast.nurse), ack, {}).status_code == 403
    assert _post(doctor, ack, {"note": "on it"}).status_code == 200
    assert _post(doctor, ack, {}).status_code == 409
    assert cast.client_for(cast.receptionist).get("/api/v1/safety/alerts").status_code == 403
