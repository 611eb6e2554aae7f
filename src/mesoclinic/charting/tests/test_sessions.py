"""Starting, charting, signing and amending a session through the actions, on the real record."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting import actions, precheck
from mesoclinic.charting.actions import ChartUpdate, PointSpec, SessionNotReady, SessionRefused
from mesoclinic.charting.models import InjectionPoint, SessionAmendment, TreatmentSession
from mesoclinic.charting.tests.helpers import ACTOR, cheek, ha_lot, ready, started
from mesoclinic.inventory import actions as stock
from mesoclinic.inventory.models import Lot, StockMove
from mesoclinic.patients.tests.factories import AllergyFactory
from mesoclinic.plans import consents
from mesoclinic.plans.models import Consent


def codes(exc: SessionNotReady) -> list[str]:
    return [b.code for b in exc.outcome.blocking]


def test_a_session_starts_when_every_check_holds(cast: Any) -> None:
    session = started(cast)
    assert session.status == "in_progress"
    assert session.session_number == 1
    assert session.performer == cast.physician
    assert session.performer_role == "physician"
    assert session.check_output == {"ready": True, "blocking": []}
    assert session.check_input["lots"][0]["lot"] == "HA-2291"
    # The protocol's depth range for the face (F-DEPTH) is the chart's.
    assert (session.depth_min_mm, session.depth_max_mm) == (Decimal("1"), Decimal("2"))
    assert AuditEvent.objects.filter(object_type="treatment_session", action="create",
                                     outcome="allowed").count() == 1


def test_a_failing_check_starts_nothing_and_says_every_item(cast: Any) -> None:
    state = ready(cast)
    consent = Consent.objects.get(plan=state.plan)
    consents.withdraw_consent(consent=consent, reason="changed her mind", by=cast.physician, actor=ACTOR)
    state.plan.refresh_from_db()
    cast.clinic.licence_valid_until = timezone.localdate() - timedelta(days=1)
    cast.clinic.save()
    with pytest.raises(SessionNotReady) as refused:
        started(cast, state)
    assert {"PLAN_NOT_ACTIVE", "CONSENT_WITHDRAWN", "CLINIC_NOT_LICENSED"} <= set(codes(refused.value))
    assert all(b.message and b.fix for b in refused.value.outcome.blocking)
    assert not TreatmentSession.objects.exists()
    denied = AuditEvent.objects.get(object_type="treatment_session", outcome="denied")
    assert "CONSENT_WITHDRAWN" in denied.detail


def test_a_record_change_after_the_screening_makes_it_stale(cast: Any) -> None:
    state = ready(cast)
    # Recorded straight to the table: the record's own actions would screen again at once.
    AllergyFactory(patient=state.patient, recorded_by=cast.nurse, recorded_at=timezone.now())
    with pytest.raises(SessionNotReady) as refused:
        started(cast, state)
    assert codes(refused.value) == ["SCREENING_STALE"]
    # Screening again for today clears it (the allergy is not to today's solution).
    actions.rescreen_for_session(plan=state.plan, by=cast.physician, actor=ACTOR)
    assert started(cast, state).status == "in_progress"


def test_lots_are_judged_at_the_start(cast: Any) -> None:
    state = ready(cast)
    old = ha_lot(cast, number="HA-OLD", quantity="1")
    # It was received in time, and has expired since (yesterday, the clinic's day).
    Lot.objects.filter(pk=old.pk).update(expires_on=timezone.localdate() - timedelta(days=1))
    bad = ha_lot(cast, number="HA-BAD", quantity="5")
    stock.recall(bad, clinic=cast.clinic, reason="supplier notice", by=cast.manager, actor=ACTOR)
    from mesoclinic.charting.actions import ComponentSpec

    components = [ComponentSpec("hyaluronic_acid", Lot.objects.get(pk=old.pk), Decimal("2")),
                  ComponentSpec("hyaluronic_acid", Lot.objects.get(pk=bad.pk), Decimal("1"))]
    with pytest.raises(SessionNotReady) as refused:
        started(cast, state, components=components)
    by_code = {b.code: b for b in refused.value.outcome.blocking}
    assert list(by_code) == ["LOT_EXPIRED", "LOT_RECALLED", "LOT_INSUFFICIENT"]
    assert "HA-OLD" in by_code["LOT_EXPIRED"].message
    assert "HA-BAD" in by_code["LOT_RECALLED"].message


def test_a_lot_of_another_clinic_is_refused_by_name(cast: Any) -> None:
    state = ready(cast)
    product = stock.add_product(cast.sister, name="HA sister", kind="component", unit="ml",
                                ingredients=("hyaluronic_acid",), by=cast.sister_physician, actor=ACTOR)
    theirs = stock.receive(cast.sister, product=product, number="S-1", expires_on=timezone.localdate()
                           + timedelta(days=90), quantity="5", by=cast.sister_physician, actor=ACTOR)
    from mesoclinic.charting.actions import ComponentSpec

    with pytest.raises(SessionRefused) as refused:
        started(cast, state, components=[ComponentSpec("hyaluronic_acid", theirs, Decimal("1"))])
    assert refused.value.field == "components[0].lot"
    assert not TreatmentSession.objects.exists()


def test_a_nurse_needs_her_credentials(cast: Any) -> None:
    state = ready(cast)
    cast.nurse.credentials.all().delete()
    with pytest.raises(SessionNotReady) as refused:
        started(cast, state, performer=cast.nurse)
    assert codes(refused.value) == ["PERFORMER_NOT_QUALIFIED"]
    outcome = precheck.evaluate(clinic=cast.clinic, patient=state.patient, plan=state.plan,
                                performer=cast.nurse, lots=[])
    assert "PERFORMER_NOT_QUALIFIED" in [b.code for b in outcome.blocking]


def test_the_chart_keeps_points_and_totals(cast: Any) -> None:
    session = started(cast)
    saved = actions.save_chart(session=session, update=ChartUpdate(points=cheek(4), notes="calm"),
                               expected_version=session.version, actor=ACTOR)
    assert saved.notes == "calm"
    assert actions.totals(saved) == (4, Decimal("0.200"))
    point = InjectionPoint.objects.filter(session=saved).first()
    assert point is not None
    assert point.region == "cheek_left"
    assert point.area == "face"


@pytest.mark.parametrize(("point", "field"), [
    (PointSpec("face_front", -50, -50, Decimal("1.5"), Decimal("0.05")), "points[0].point"),
    (PointSpec("scalp", 50, 50, Decimal("1.5"), Decimal("0.05")), "points[0].map"),
    (PointSpec("face_front", None, 0, Decimal("1.5"), Decimal("0.05")), "points[0].x"),  # type: ignore[arg-type]
    ("depth40", "points[0].depth_mm"),
    ("negative", "points[0].volume_ml"),
    ("deep_no_reason", "points[0].depth_reason"),
])
def test_bad_points_are_refused_by_name_and_nothing_is_saved(cast: Any, point: Any, field: str) -> None:
    session = started(cast)
    good = cheek(1)[0]
    if point == "depth40":
        point = PointSpec(good.map_id, good.x, good.y, Decimal("40"), good.volume_ml)
    elif point == "negative":
        point = PointSpec(good.map_id, good.x, good.y, good.depth_mm, Decimal("-0.1"))
    elif point == "deep_no_reason":
        point = PointSpec(good.map_id, good.x, good.y, Decimal("3.5"), good.volume_ml)
    with pytest.raises(SessionRefused) as refused:
        actions.save_chart(session=session, update=ChartUpdate(points=[point], notes="x"),
                           expected_version=session.version, actor=ACTOR)
    assert refused.value.field.startswith(field.rsplit(".", 1)[0])
    assert refused.value.field == field or field.endswith(".point")
    session.refresh_from_db()
    assert session.notes == ""
    assert session.version == 1
    assert not session.points.exists()


def test_a_depth_outside_the_protocol_is_kept_with_its_reason(cast: Any) -> None:
    session = started(cast)
    good = cheek(1)[0]
    deep = PointSpec(good.map_id, good.x, good.y, Decimal("3.0"), good.volume_ml, "thick skin at the jaw")
    saved = actions.save_chart(session=session, update=ChartUpdate(points=[deep]),
                               expected_version=session.version, actor=ACTOR)
    assert saved.points.get().depth_reason == "thick skin at the jaw"


def test_a_stale_chart_save_is_refused(cast: Any) -> None:
    session = started(cast)
    actions.save_chart(session=session, update=ChartUpdate(notes="first"), expected_version=1, actor=ACTOR)
    with pytest.raises(SessionRefused) as refused:
        actions.save_chart(session=session, update=ChartUpdate(notes="second"), expected_version=1,
                           actor=ACTOR)
    assert refused.value.field == "version"
    assert TreatmentSession.objects.get().notes == "first"


def test_signing_draws_the_stock_and_locks_the_chart(cast: Any) -> None:
    session = started(cast)
    session = actions.save_chart(session=session, update=ChartUpdate(points=cheek(3)),
                                 expected_version=1, actor=ACTOR)
    signed = actions.sign_session(session=session, by=cast.physician, actor=ACTOR)
    assert signed.status == "signed"
    assert signed.signed_by == cast.physician
    assert signed.ended_at
    lot = Lot.objects.get(number="HA-2291")
    assert lot.on_hand == Decimal("8")
    move = StockMove.objects.get(lot=lot, kind="used")
    assert move.quantity == Decimal("-2")
    assert signed.components.get().stock_move == move
    with pytest.raises(SessionRefused) as twice:
        actions.sign_session(session=signed, by=cast.physician, actor=ACTOR)
    assert twice.value.field == "status"
    with pytest.raises(SessionRefused):
        actions.save_chart(session=signed, update=ChartUpdate(notes="late"), expected_version=None,
                           actor=ACTOR)
    assert Lot.objects.get(pk=lot.pk).on_hand == Decimal("8")


def test_signing_with_a_lot_recalled_meanwhile_changes_nothing(cast: Any) -> None:
    session = started(cast)
    session = actions.save_chart(session=session, update=ChartUpdate(points=cheek(2)),
                                 expected_version=1, actor=ACTOR)
    stock.recall(Lot.objects.get(number="HA-2291"), clinic=cast.clinic, reason="contaminated",
                 by=cast.manager, actor=ACTOR)
    with pytest.raises(SessionRefused) as refused:
        actions.sign_session(session=session, by=cast.physician, actor=ACTOR)
    assert refused.value.field.startswith("components[0]")
    session.refresh_from_db()
    assert session.status == "in_progress"
    assert not StockMove.objects.filter(kind="used").exists()


def test_signing_needs_points_for_a_needle_session(cast: Any) -> None:
    session = started(cast)
    with pytest.raises(SessionRefused) as refused:
        actions.sign_session(session=session, by=cast.physician, actor=ACTOR)
    assert refused.value.field == "points"


def test_an_amendment_keeps_the_signed_chart(cast: Any) -> None:
    session = started(cast)
    session = actions.save_chart(session=session, update=ChartUpdate(points=cheek(2), notes="as signed"),
                                 expected_version=1, actor=ACTOR)
    signed = actions.sign_session(session=session, by=cast.physician, actor=ACTOR)
    amendment = actions.amend_session(session=signed, changes={"notes": "corrected"},
                                      reason="wrong cheek named", by=cast.nurse, actor=ACTOR)
    signed.refresh_from_db()
    assert signed.notes == "as signed"  # the original stays
    assert amendment.changes == {"notes": {"from": "as signed", "to": "corrected"}}
    assert actions.effective(signed)["notes"] == "corrected"
    assert amendment.by == cast.nurse


@pytest.mark.parametrize(("changes", "reason", "field"), [
    ({"notes": "x"}, "  ", "reason"),
    ({"performer": "someone"}, "why", "performer"),
    ({"notes": "as signed"}, "why", "changes"),
    ({"ended_at": "yesterday"}, "why", "ended_at"),
])
def test_bad_amendments_are_refused(cast: Any, changes: dict[str, str], reason: str, field: str) -> None:
    session = started(cast)
    session = actions.save_chart(session=session, update=ChartUpdate(points=cheek(1), notes="as signed"),
                                 expected_version=1, actor=ACTOR)
    signed = actions.sign_session(session=session, by=cast.physician, actor=ACTOR)
    with pytest.raises(SessionRefused) as refused:
        actions.amend_session(session=signed, changes=changes, reason=reason, by=cast.physician, actor=ACTOR)
    assert refused.value.field == field
    assert not SessionAmendment.objects.exists()


def test_an_unsigned_chart_is_not_amended(cast: Any) -> None:
    session = started(cast)
    with pytest.raises(SessionRefused) as refused:
        actions.amend_session(session=session, changes={"notes": "x"}, reason="why", by=cast.physician,
                              actor=ACTOR)
    assert refused.value.field == "status"


def test_allergy_test_input_is_checked(cast: Any) -> None:
    with pytest.raises(SessionRefused) as unknown:
        actions.record_allergy_test(clinic=cast.clinic, patient=cast.patient, performed_at=timezone.now(),
                                    ingredients=["unicorn_dust"], reactions=[], note="", by=cast.nurse,
                                    actor=ACTOR)
    assert unknown.value.field == "ingredients"
    with pytest.raises(SessionRefused) as untested:
        actions.record_allergy_test(clinic=cast.clinic, patient=cast.patient, performed_at=timezone.now(),
                                    ingredients=["hyaluronic_acid"], reactions=["lidocaine"], note="",
                                    by=cast.nurse, actor=ACTOR)
    assert untested.value.field == "reactions"
    with pytest.raises(SessionRefused) as ahead:
        actions.record_allergy_test(clinic=cast.clinic, patient=cast.patient,
                                    performed_at=timezone.now() + timedelta(hours=2),
                                    ingredients=["hyaluronic_acid"], reactions=[], note="", by=cast.nurse,
                                    actor=ACTOR)
    assert ahead.value.field == "performed_at"
    assert not cast.patient.allergy_tests.exists()


def test_a_reaction_rules_the_solution_out(cast: Any) -> None:
    state = ready(cast)
    actions.record_allergy_test(clinic=cast.clinic, patient=state.patient,
                                performed_at=timezone.now() - timedelta(days=1, hours=1),
                                ingredients=["hyaluronic_acid"], reactions=["hyaluronic_acid"], note="wheal",
                                by=cast.nurse, actor=ACTOR)
    with pytest.raises(SessionNotReady) as refused:
        started(cast, state)
    assert "ALLERGY_TEST_REACTION" in codes(refused.value)
