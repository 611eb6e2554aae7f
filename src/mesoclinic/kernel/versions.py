"""Edits carry the version they were based on; a stale one is refused (409), nothing saved.

Two people open the same form; the second to save would silently undo the first one's change
(a pregnancy recorded, then reverted by a form opened before it). Each edit form carries
`based_on`, the action locks the row and compares inside its transaction, and a refusal shows
what changed since, by whom and when, with the user's input kept to re-submit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Change:
    """One field changed since the version an edit was based on."""

    field: str
    value: Any  # the value now
    by: str
    at: datetime


class StaleEdit(Exception):
    """The edit was based on an older version than the one stored; nothing was saved."""

    def __init__(self, *, based_on: int, current: int, changes: Sequence[Change]) -> None:
        super().__init__(f"based on version {based_on}, but the record is at version {current}")
        self.based_on = based_on
        self.current = current
        self.changes = list(changes)


def stale_detail(based_on: int, current: int) -> str:
    """The audit detail of a refused stale edit."""
    return f"refused stale edit: based on version {based_on}, now version {current}"


class BasedOnField(forms.IntegerField):
    """The hidden version an edit form was opened at (0: nothing recorded yet)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("error_messages", {
            "required": _("This form is missing the version it was opened at; open it again."),
            "invalid": _("This form is missing the version it was opened at; open it again."),
        })
        super().__init__(**kwargs)


@dataclass(frozen=True)
class ConflictRow:
    label: str
    value: str
    by: str
    at: datetime


def conflict_rows(fields: Mapping[str, forms.Field], stale: StaleEdit) -> list[ConflictRow]:
    """What changed since, with the form's labels and choice names."""
    rows = []
    for change in stale.changes:
        field = fields.get(change.field)
        label = str(field.label) if field is not None and field.label else change.field
        rows.append(ConflictRow(label=label, value=_display(field, change.value), by=change.by,
                                at=change.at))
    return rows


def show_conflict(form: forms.BaseForm, stale: StaleEdit) -> list[ConflictRow]:
    """Mark the fields changed since the (validated) form was opened, and re-base it on the
    version now stored, so that the user's input, once checked, can be submitted again."""
    data = form.data.copy()  # type: ignore[attr-defined]
    data["based_on"] = str(stale.current)
    form.data = data
    rows = conflict_rows(form.fields, stale)
    for change, row in zip(stale.changes, rows, strict=True):
        if change.field in form.fields:
            form.add_error(change.field, _("Changed to “%(value)s” by %(by)s since you opened "
                                           "this form.") % {"value": row.value, "by": row.by})
    form.add_error(None, _("Someone else saved this record since you opened it. Nothing of yours "
                           "was saved: check the changes shown, correct your entry and save again."))
    return rows


def _display(field: forms.Field | None, value: Any) -> str:
    if value is None or value == "":
        return "—"
    choices = getattr(field, "choices", None)
    if choices:
        for code, label in choices:
            if str(code) == str(value):
                return str(label)
    return str(value)
