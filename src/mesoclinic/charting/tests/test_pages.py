"""The session pages as staff use them: the check, the start, the chart, signing, the recall list."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone

from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting import actions
from mesoclinic.charting.actions import ChartUpdate
from mesoclinic.charting.models import AftercareSheet, TreatmentSession
from mesoclinic.charting.tests.helpers import ACTOR, cheek, ready, started
from mesoclinic.inventory import actions as stock
from mesoclinic.inventory.models import Lot
from mesoclinic.plans import consents
from mesoclinic.plans.models import Consent


def _start_url(cast: Any, state: Any) -> str:
    return reverse("charting:start", args=[cast.patient.public_id]) + f"?plan={state.plan.public_id}"


def test_the_start_page_names_what_blocks_and_how_to_fix_it(cast: Any) -> None:
    state = ready(cast)
    consents.withdraw_consent(consent=Consent.objects.get(plan=state.plan), reason="second thoughts",
                              by=cast.physician, actor=ACTOR)
    client = cast.client_for(cast.nurse)
    page = client.get(_start_url(cast, state))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-code="CONSENT_WITHDRAWN"' in text
    assert "HA-2291" in text  # the lot offered for the hyaluronic acid
    # Starting anyway is refused with the same list, and nothing is created.
    response = client.post(reverse("charting:start", args=[cast.patient.public_id]),
                           {"plan": str(state.plan.public_id), "lot_0": str(state.ha_lot.public_id),
                            "quantity_0": "2"})
    assert response.status_code == 422
    assert 'data-code="CONSENT_WITHDRAWN"' in response.content.decode()
    assert not TreatmentSession.objects.exists()


def test_start_chart_sign_and_print_through_the_pages(cast: Any) -> None:
    state = ready(cast)
    client = cast.client_for(cast.physician)
    page = client.get(_start_url(cast, state))
    assert 'data-testid="check-ready"' in page.content.decode()
    response = client.post(reverse("charting:start", args=[cast.patient.public_id]),
                           {"plan": str(state.plan.public_id), "lot_0": str(state.ha_lot.public_id),
                            "quantity_0": "2"})
    assert response.status_code == 302
    session = TreatmentSession.objects.get()
    url = reverse("charting:session", args=[cast.patient.public_id, session.public_id])
    assert response["Location"] == url
    chart = client.get(url)
    assert chart.status_code == 200
    assert "face_front" in chart.content.decode()
    points = [{"map": p.map_id, "x": p.x, "y": p.y, "depth_mm": str(p.depth_mm),
               "volume_ml": str(p.volume_ml), "depth_reason": ""} for p in cheek(5)]
    saved = client.post(url, {"version": session.version, "points": json.dumps(points), "notes": "fine",
                              "then": "sign"})
    assert saved.status_code == 302
    session.refresh_from_db()
    assert session.is_signed
    assert session.points.count() == 5
    assert Lot.objects.get(pk=state.ha_lot.pk).on_hand == Decimal("8")
    sheet = AftercareSheet.objects.get(session=session)
    pdf = client.get(reverse("charting:aftercare-pdf", args=[cast.patient.public_id, session.public_id]))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert sheet.language in ("en-gb", "tr", "de")
    # The signed chart shows read-only, with the amendment form.
    signed = client.get(url).content.decode()
    assert 'data-testid="amend-form"' in signed
    assert 'data-testid="sign-chart"' not in signed


def test_a_bad_point_from_the_form_is_named_and_nothing_saved(cast: Any) -> None:
    session = started(cast)
    client = cast.client_for(cast.physician)
    url = reverse("charting:session", args=[cast.patient.public_id, session.public_id])
    good = cheek(1)[0]
    response = client.post(url, {"version": session.version, "notes": "x", "points": json.dumps(
        [{"map": "face_front", "x": good.x, "y": good.y, "depth_mm": "40", "volume_ml": "0.05"}])})
    assert response.status_code == 422
    assert "points[0].depth_mm" in response.content.decode()
    session.refresh_from_db()
    assert session.notes == ""
    assert not session.points.exists()
    garbled = client.post(url, {"version": session.version, "points": "{not json"})
    assert garbled.status_code == 422


def test_who_may_see_and_chart(cast: Any) -> None:
    session = started(cast)
    url = reverse("charting:session", args=[cast.patient.public_id, session.public_id])
    assert cast.client_for(cast.nurse).get(url).status_code == 200
    assert cast.client_for(cast.receptionist).get(url).status_code == 403
    assert cast.client_for(cast.manager).get(url).status_code == 403
    assert cast.client_for(cast.sister_physician).get(url).status_code == 404
    refused = cast.client_for(cast.receptionist).post(url, {"version": 1, "notes": "x"})
    assert refused.status_code == 403
    assert TreatmentSession.objects.get().notes == ""
    assert AuditEvent.objects.filter(object_type="treatment_session", action="view",
                                     object_id=str(session.public_id)).exists()


def test_the_recall_list_names_exactly_who_received_the_lot(cast: Any) -> None:
    from conftest import make_patient

    first = started(cast)
    actions.save_chart(session=first, update=ChartUpdate(points=cheek(2)), expected_version=1, actor=ACTOR)
    other = make_patient(cast.clinic, "Zeynep", "Kaya", phone="+90 532 000 11 22", email="z@example.org")
    # The second patient's session uses another lot: she is not on HA-2291's list.
    started(cast, ready(cast, patient=other, lot_number="HA-3000"))
    lot = Lot.objects.get(pk=first.components.get().lot_id)
    stock.recall(lot, clinic=cast.clinic, reason="sterility failure", by=cast.manager, actor=ACTOR)
    client = cast.client_for(cast.physician)
    page = client.get(reverse("recalls:list", args=[lot.public_id]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Ayşe Şahin" in text
    assert "Zeynep" not in text
    export = client.get(reverse("recalls:csv", args=[lot.public_id]))
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0][:3] == ["patient", "patient_id", "session"]
    assert [r[1] for r in rows[1:]] == [str(cast.patient.public_id)]
    assert AuditEvent.objects.filter(object_type="lot", action="export").count() == 1
    # The manager keeps the stock but sees no patients.
    assert cast.client_for(cast.manager).get(reverse("recalls:list", args=[lot.public_id])).status_code == 403


def test_the_chart_shows_the_timeline(cast: Any) -> None:
    session = started(cast)
    page = cast.client_for(cast.physician).get(reverse("patients:chart", args=[cast.patient.public_id]))
    text = page.content.decode()
    assert 'data-testid="timeline"' in text
    text = text[text.index('data-testid="timeline"'):]
    assert reverse("charting:session", args=[cast.patient.public_id, session.public_id]) in text
    order = [text.index(word) for word in ("Treatment session 1", "Consent signed", "Treatment plan")]
    assert order == sorted(order)  # newest first
    assert timedelta(0) <= timezone.now() - session.started_at
