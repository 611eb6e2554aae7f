"""The chart is a frame; each app contributes its sections.

The record must not import the stages built on it, yet the chart shows their results (the
screening). Each app registers its sections in AppConfig.ready(); the chart renders those the
caller's rights allow, in order. A section is a template included with `data`, the mapping its
context function returns (besides the frame's `patient`, `access` and `can`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mesoclinic.accounts.permissions import Perm
from mesoclinic.patients.access import PatientAccess


@dataclass(frozen=True)
class ChartSection:
    """One part of the chart: its template, its place, the right it needs, what it shows."""

    name: str
    template: str
    order: int
    perm: Perm
    context: Callable[[PatientAccess], Mapping[str, Any]]


@dataclass(frozen=True)
class RenderedSection:
    name: str
    template: str
    data: Mapping[str, Any]


_sections: dict[str, ChartSection] = {}


def register(section: ChartSection) -> None:
    """Add a section to every chart (registering the same name again replaces it)."""
    _sections[section.name] = section


def registered() -> list[ChartSection]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.name))


def sections_for(access: PatientAccess) -> list[RenderedSection]:
    """The sections the caller may see for this patient, with their data, in order."""
    return [RenderedSection(s.name, s.template, s.context(access))
            for s in registered() if access.can(s.perm)]
