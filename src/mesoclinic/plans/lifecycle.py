"""A treatment plan's states and the changes between them (pure).

draft → proposed (a physician approved it on a screening) → accepted (the patient signed consent to
this version) → active (sessions may be booked and given) → completed; any open state → stopped,
with a reason. A change of the solution, areas, delivery or session count makes a new version and
takes the plan back to draft: what was approved and consented to is no longer what will be done.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    ACTIVE = "active"
    COMPLETED = "completed"
    STOPPED = "stopped"


class Step(StrEnum):
    """The audited actions that move a plan; each is one state change."""

    APPROVE = "approve"  # draft → proposed, on a screening that does not block
    ACCEPT = "accept"  # proposed → accepted, when consent to the current version is signed
    ACTIVATE = "activate"  # accepted → active, with a valid consent
    COMPLETE = "complete"  # active → completed
    STOP = "stop"  # any open state → stopped, with a reason
    AMEND = "amend"  # proposed/accepted/active → draft, when a new version is written
    WITHDRAW = "withdraw"  # accepted → proposed, active → stopped: the patient withdrew consent


OPEN = frozenset({Status.DRAFT, Status.PROPOSED, Status.ACCEPTED, Status.ACTIVE})
CLOSED = frozenset({Status.COMPLETED, Status.STOPPED})

# (step, from) → to. Anything not listed is refused.
TRANSITIONS: dict[tuple[Step, Status], Status] = {
    (Step.APPROVE, Status.DRAFT): Status.PROPOSED,
    (Step.ACCEPT, Status.PROPOSED): Status.ACCEPTED,
    (Step.ACTIVATE, Status.ACCEPTED): Status.ACTIVE,
    (Step.COMPLETE, Status.ACTIVE): Status.COMPLETED,
    **{(Step.STOP, s): Status.STOPPED for s in OPEN},
    (Step.AMEND, Status.DRAFT): Status.DRAFT,
    (Step.AMEND, Status.PROPOSED): Status.DRAFT,
    (Step.AMEND, Status.ACCEPTED): Status.DRAFT,
    (Step.AMEND, Status.ACTIVE): Status.DRAFT,
    (Step.WITHDRAW, Status.ACCEPTED): Status.PROPOSED,
    (Step.WITHDRAW, Status.ACTIVE): Status.STOPPED,
}

_WHY_NOT = {
    Status.COMPLETED: "the plan is completed",
    Status.STOPPED: "the plan is stopped",
}


class TransitionRefused(ValueError):
    """The step is not allowed from the plan's state; the message says why."""


def next_status(step: Step | str, current: Status | str) -> Status:
    """The state after `step`, or TransitionRefused naming the state that forbids it."""
    step, current = Step(step), Status(current)
    try:
        return TRANSITIONS[(step, current)]
    except KeyError:
        why = _WHY_NOT.get(current, f"the plan is {current.value}")
        raise TransitionRefused(f"cannot {step.value}: {why}") from None


def allowed_steps(current: Status | str) -> list[Step]:
    """The steps the state allows, in the order a page offers them."""
    current = Status(current)
    return [step for step in Step if (step, current) in TRANSITIONS]
