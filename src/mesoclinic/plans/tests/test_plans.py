"""Writing, versioning and approving treatment plans (issue 8, item 2)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.knowledge.store import active_pack
from mesoclinic.patients.models import MedicalHistory
from mesoclinic.plans import actions
from mesoclinic.plans.actions import ApprovalRefused, PlanDraft, PlanRefused, SolutionItem
from mesoclinic.plans.models import PlanVersion, TreatmentPlan
from mesoclinic.plans.tests.helpers import HA, draft, with_sessions
from mesoclinic.screening.actions import accept_review_finding
from mesoclinic.screening.models import Screening


def _actor(cast: Any) -> Actor:
    return Actor(user_id=str(cast.physician.public_id), username=cast.physician.username,
                 role="physician", via="web")


def _new(cast: Any, d: PlanDraft | None = None) -> TreatmentPlan:
    return actions.create_plan(patient=cast.patient, draft=d or draft(), by=cast.physician,
                               actor=_actor(cast))


def _history(cast: Any, **answers: str) -> None:
    """A new history version for the cast's patient, answering as given (the rest "no")."""
    latest = cast.patient.histories.order_by("-version").first()
    fields = {f: getattr(latest, f) for f in latest.values()}
    fields.update(answers)
    MedicalHistory.objects.create(patient=cast.patient, version=latest.version + 1,
                                  recorded_by=cast.physician, **fields)


@pytest.mark.django_db
def test_a_plan_from_the_protocol_defaults_is_a_draft_with_its_solution(cast):
    plan = _new(cast)
    assert plan.status == TreatmentPlan.Status.DRAFT
    assert plan.version == 1
    version = plan.current
    assert [i.ingredient for i in version.ingredients.all()] == ["hyaluronic_acid", "vitamin_c"]
    assert version.deviations == []
    assert AuditEvent.objects.filter(object_type="treatment_plan", action="create",
                                     object_id=str(plan.public_id)).count() == 1


@pytest.mark.django_db
def test_an_ingredient_not_in_the_catalogue_is_refused_and_nothing_saved(cast):
    bad = SolutionItem("unicorn_extract", HA.concentration, "%", HA.volume_ml)
    with pytest.raises(PlanRefused) as caught:
        _new(cast, draft(solution=(HA, bad)))
    assert caught.value.field == "solution[1].ingredient"
    assert "catalogue" in caught.value.message
    assert not TreatmentPlan.objects.exists()
    assert not PlanVersion.objects.exists()


@pytest.mark.django_db
def test_sessions_outside_the_protocol_need_a_written_reason(cast):
    too_many = with_sessions(draft(), 14)
    with pytest.raises(PlanRefused) as caught:
        _new(cast, too_many)
    assert caught.value.field == "justifications.sessions"
    assert not TreatmentPlan.objects.exists()
    reasoned = dataclasses.replace(too_many, justifications={
        "sessions": "Deep acne scarring; the dermatologist expects slow progress."})
    plan = _new(cast, reasoned)
    version = plan.current
    assert [d["field"] for d in version.deviations] == ["sessions"]
    assert version.justifications == {
        "sessions": "Deep acne scarring; the dermatologist expects slow progress."}


@pytest.mark.django_db
def test_approval_screens_and_links_the_screening(cast):
    plan = _new(cast)
    approved = actions.approve_plan(plan=plan, by=cast.physician, actor=_actor(cast))
    assert approved.status == TreatmentPlan.Status.PROPOSED
    version = approved.current
    assert version.approved_by == cast.physician
    assert version.screening is not None
    pack = active_pack()
    names = list(version.screening.input["treatment"]["ingredients"])
    screened = sorted(str(pack.resolve_ingredient(n)) for n in names)
    assert screened == ["hyaluronic_acid", "vitamin_c"]


@pytest.mark.django_db
def test_a_screening_block_refuses_approval_and_the_plan_stays_a_draft(cast):
    plan = _new(cast)
    _history(cast, stroke_history="yes")
    with pytest.raises(ApprovalRefused) as caught:
        actions.approve_plan(plan=plan, by=cast.physician, actor=_actor(cast))
    assert "STROKE" in caught.value.message
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.DRAFT
    assert plan.current.approved_at is None
    # The screening itself is on the record, blocked.
    assert caught.value.screening.decision == Screening.Decision.NOT_ELIGIBLE


@pytest.mark.django_db
def test_a_review_finding_refuses_until_accepted_then_that_screening_approves(cast):
    plan = _new(cast)
    _history(cast, heart_disease="yes")
    with pytest.raises(ApprovalRefused) as caught:
        actions.approve_plan(plan=plan, by=cast.physician, actor=_actor(cast))
    screening = caught.value.screening
    review = [f["code"] for f in screening.output["findings"] if f["severity"] == "review"]
    assert review
    for code in review:
        accept_review_finding(screening=screening, code=code, by=cast.physician, actor=_actor(cast),
                              reason="Cardiologist cleared mesotherapy of the face in writing.")
    approved = actions.approve_plan(plan=plan, by=cast.physician, actor=_actor(cast),
                                    screening=screening)
    assert approved.status == TreatmentPlan.Status.PROPOSED
    assert approved.current.screening == screening


@pytest.mark.django_db
def test_a_material_change_makes_a_new_version_and_needs_approval_again(cast):
    plan = actions.approve_plan(plan=_new(cast), by=cast.physician, actor=_actor(cast))
    changed = draft(solution=(HA,))
    revised = actions.revise_plan(plan=plan, draft=changed, based_on=1, by=cast.physician,
                                  actor=_actor(cast))
    assert revised.version == 2
    assert revised.status == TreatmentPlan.Status.DRAFT
    assert revised.current.approved_at is None
    # Version 1 stays as it was approved.
    first = revised.versions.get(number=1)
    assert first.approved_at is not None
    assert first.ingredients.count() == 2


@pytest.mark.django_db
def test_a_note_is_edited_in_place_and_keeps_the_approval(cast):
    plan = actions.approve_plan(plan=_new(cast), by=cast.physician, actor=_actor(cast))
    noted = dataclasses.replace(draft(), note="Patient prefers mornings.")
    revised = actions.revise_plan(plan=plan, draft=noted, based_on=1, by=cast.physician,
                                  actor=_actor(cast))
    assert revised.version == 1
    assert revised.status == TreatmentPlan.Status.PROPOSED
    assert revised.current.note == "Patient prefers mornings."


@pytest.mark.django_db
def test_an_edit_based_on_an_old_version_is_refused(cast):
    plan = _new(cast)
    actions.revise_plan(plan=plan, draft=draft(solution=(HA,)), based_on=1, by=cast.physician,
                        actor=_actor(cast))
    with pytest.raises(PlanRefused) as caught:
        actions.revise_plan(plan=plan, draft=draft(), based_on=1, by=cast.physician,
                            actor=_actor(cast))
    assert caught.value.field == "based_on"
    plan.refresh_from_db()
    assert plan.version == 2


@pytest.mark.django_db
def test_stopping_needs_a_reason_and_a_stopped_plan_cannot_change(cast):
    plan = _new(cast)
    with pytest.raises(PlanRefused, match="reason"):
        actions.stop_plan(plan=plan, reason="no", actor=_actor(cast))
    stopped = actions.stop_plan(plan=plan, reason="Patient moved to another city.",
                                actor=_actor(cast))
    assert stopped.status == TreatmentPlan.Status.STOPPED
    assert stopped.closed_at is not None
    with pytest.raises(PlanRefused, match="stopped"):
        actions.revise_plan(plan=stopped, draft=draft(), based_on=1, by=cast.physician,
                            actor=_actor(cast))


@pytest.mark.django_db
def test_a_plan_cannot_become_active_without_consent(cast):
    plan = _new(cast)
    with pytest.raises(PlanRefused, match="cannot activate"):
        actions.activate_plan(plan=plan, actor=_actor(cast))
