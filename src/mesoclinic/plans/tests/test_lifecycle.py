"""Every plan transition, allowed and refused (issue 8: tests that must be in the suite)."""

from __future__ import annotations

import pytest

from mesoclinic.plans.lifecycle import (
    CLOSED,
    OPEN,
    Status,
    Step,
    TransitionRefused,
    allowed_steps,
    next_status,
)

ALLOWED = {
    (Step.APPROVE, Status.DRAFT): Status.PROPOSED,
    (Step.ACCEPT, Status.PROPOSED): Status.ACCEPTED,
    (Step.ACTIVATE, Status.ACCEPTED): Status.ACTIVE,
    (Step.COMPLETE, Status.ACTIVE): Status.COMPLETED,
    (Step.STOP, Status.DRAFT): Status.STOPPED,
    (Step.STOP, Status.PROPOSED): Status.STOPPED,
    (Step.STOP, Status.ACCEPTED): Status.STOPPED,
    (Step.STOP, Status.ACTIVE): Status.STOPPED,
    (Step.AMEND, Status.DRAFT): Status.DRAFT,
    (Step.AMEND, Status.PROPOSED): Status.DRAFT,
    (Step.AMEND, Status.ACCEPTED): Status.DRAFT,
    (Step.AMEND, Status.ACTIVE): Status.DRAFT,
    (Step.WITHDRAW, Status.ACCEPTED): Status.PROPOSED,
    (Step.WITHDRAW, Status.ACTIVE): Status.STOPPED,
}


@pytest.mark.parametrize(("step", "current"), list(ALLOWED))
def test_each_allowed_transition_lands_where_the_journey_says(step, current):
    assert next_status(step, current) == ALLOWED[(step, current)]


REFUSED = [(step, status) for step in Step for status in Status if (step, status) not in ALLOWED]


@pytest.mark.parametrize(("step", "current"), REFUSED)
def test_every_other_transition_is_refused_naming_the_state(step, current):
    with pytest.raises(TransitionRefused, match=f"cannot {step.value}"):
        next_status(step, current)


def test_a_plan_cannot_skip_consent_or_approval():
    with pytest.raises(TransitionRefused):
        next_status(Step.ACTIVATE, Status.PROPOSED)  # no consent yet
    with pytest.raises(TransitionRefused):
        next_status(Step.ACCEPT, Status.DRAFT)  # not approved yet


@pytest.mark.parametrize("closed", sorted(CLOSED))
def test_closed_plans_allow_nothing(closed):
    assert allowed_steps(closed) == []
    with pytest.raises(TransitionRefused, match=f"the plan is {closed.value}"):
        next_status(Step.AMEND, closed)


def test_every_open_state_can_be_stopped():
    assert all(Step.STOP in allowed_steps(s) for s in OPEN)


def test_unknown_names_are_refused_as_values():
    with pytest.raises(ValueError, match="'fly'"):
        next_status("fly", Status.DRAFT)
