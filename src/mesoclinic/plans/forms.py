"""The plan editor's forms: protocol first (indication, area, size), then the plan itself."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mesoclinic.knowledge.pack import KnowledgePack
from mesoclinic.lib.text import visible_text
from mesoclinic.plans import rules
from mesoclinic.plans.actions import PlanDraft, SolutionItem
from mesoclinic.plans.models import MAX_SESSIONS, AreaSize, ConcentrationUnit

SOLUTION_ROWS = 8
JUSTIFY = "justify__"
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _choices(field: forms.Field, options: list[tuple[str, Any]]) -> None:
    assert isinstance(field, forms.ChoiceField)  # noqa: S101
    field.choices = options


class ProtocolForm(forms.Form):
    """Step one: what is treated where; the protocol follows from it."""

    indication = forms.ChoiceField(label=_("Indication"))
    area = forms.ChoiceField(label=_("Area"))
    area_size = forms.ChoiceField(label=_("Size of the area"), choices=AreaSize.choices,
                                  initial=AreaSize.STANDARD)

    def __init__(self, *args: Any, pack: KnowledgePack, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pack = pack
        _choices(self.fields["indication"], [
            (code, f"{ind.label} ({pack.indication_groups[ind.group].label})")
            for code, ind in sorted(pack.indications.items(), key=lambda kv: kv[1].label)])
        _choices(self.fields["area"], [(c, a.label) for c, a in pack.areas.items() if a.parent is None])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        indication, area = data.get("indication"), data.get("area")
        if indication and area:
            if area not in self.pack.indications[indication].areas:
                self.add_error("area", _("This indication is not treated on this area."))
            elif self.pack.protocol_for(area, indication) is None:
                self.add_error("indication", _("The knowledge pack has no protocol for this "
                                               "indication on this area."))
        return data


class PlanForm(forms.Form):
    """The plan: prefilled from the protocol, every value editable, deviations justified."""

    indication = forms.CharField(widget=forms.HiddenInput)
    area = forms.CharField(widget=forms.HiddenInput)
    area_size = forms.ChoiceField(label=_("Size of the area"), choices=AreaSize.choices)
    technique = forms.ChoiceField(label=_("Technique"))
    delivery = forms.ChoiceField(label=_("Delivery"))
    sessions = forms.IntegerField(label=_("Sessions"), min_value=1, max_value=MAX_SESSIONS)
    session_minutes = forms.IntegerField(label=_("Minutes per session"), min_value=1, max_value=240)
    depth_mm = forms.DecimalField(label=_("Depth (mm)"), min_value=Decimal("0.1"),
                                  max_value=Decimal("10"), decimal_places=1)
    anaesthetic_cream = forms.ChoiceField(
        label=_("Anaesthetic cream"), required=False,
        help_text=_("Applied 30–40 minutes before the session where the patient needs it "
                    "(F-ANAESTHESIA)."))
    checkups = forms.CharField(
        label=_("Check-ups after sessions"), required=False, max_length=100,
        help_text=_("Session numbers separated by commas, e.g. 3, 6."))
    outcome_measures = forms.MultipleChoiceField(label=_("Outcome measures"), required=False,
                                                 widget=forms.CheckboxSelectMultiple)
    planned_start = forms.DateField(label=_("Planned first session"), required=False, widget=DATE)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}), validators=[visible_text])

    def __init__(self, *args: Any, pack: KnowledgePack, protocol: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pack, self.protocol = pack, protocol
        _choices(self.fields["technique"], [(c, t.label) for c, t in pack.techniques.items()])
        _choices(self.fields["delivery"], [(c, d.label) for c, d in pack.deliveries.items()])
        creams = [(c, i.name) for c, i in pack.ingredients.items()
                  if "local_anaesthetic" in i.classes and i.contains]
        _choices(self.fields["anaesthetic_cream"], [("", _("None")), *creams])
        _choices(self.fields["outcome_measures"],
                 [(m.code, m.label) for m in protocol.outcome_measures])
        for i, phase in enumerate(protocol.phases):
            self.fields[f"phase_{i}_sessions"] = forms.IntegerField(
                label=_("%(phase)s: sessions") % {"phase": phase.label}, min_value=0,
                max_value=MAX_SESSIONS)
            self.fields[f"phase_{i}_interval"] = forms.IntegerField(
                label=_("%(phase)s: days between sessions") % {"phase": phase.label},
                min_value=1, max_value=365)
        ingredients = sorted(((c, i.name) for c, i in pack.ingredients.items()),
                             key=lambda kv: kv[1].lower())
        for i in range(SOLUTION_ROWS):
            self.fields[f"ingredient_{i}"] = forms.ChoiceField(
                label=_("Ingredient"), required=False, choices=[("", "—"), *ingredients])
            self.fields[f"concentration_{i}"] = forms.DecimalField(
                label=_("Concentration"), required=False, min_value=Decimal("0.001"),
                max_digits=8, decimal_places=3)
            self.fields[f"unit_{i}"] = forms.ChoiceField(label=_("Unit"), required=False,
                                                         choices=ConcentrationUnit.choices)
            self.fields[f"volume_{i}"] = forms.DecimalField(
                label=_("ml per session"), required=False, min_value=Decimal("0.01"),
                max_value=Decimal("100"), max_digits=5, decimal_places=2)

    @classmethod
    def initial_for(cls, draft: PlanDraft) -> dict[str, Any]:
        v = draft.values
        initial: dict[str, Any] = {
            "indication": v.indication, "area": v.area, "area_size": v.area_size,
            "technique": v.technique, "delivery": v.delivery, "sessions": v.sessions,
            "session_minutes": v.session_minutes, "depth_mm": v.depth_mm,
            "anaesthetic_cream": draft.anaesthetic_cream,
            "checkups": ", ".join(str(n) for n in v.checkups),
            "outcome_measures": list(v.outcome_measures), "planned_start": draft.planned_start,
            "note": draft.note,
        }
        for i, phase in enumerate(v.phases):
            initial[f"phase_{i}_sessions"] = phase.sessions
            initial[f"phase_{i}_interval"] = phase.interval_days
        for i, item in enumerate(draft.solution):
            initial.update({f"ingredient_{i}": item.ingredient, f"concentration_{i}": item.concentration,
                            f"unit_{i}": item.unit, f"volume_{i}": item.volume_ml})
        for key, reason in draft.justifications.items():
            initial[JUSTIFY + key] = reason
        return initial

    def phase_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"phase_{i}_sessions"], self[f"phase_{i}_interval"])
                for i in range(len(self.protocol.phases))]

    def solution_rows(self) -> list[list[forms.BoundField]]:
        return [[self[f"{name}_{i}"] for name in ("ingredient", "concentration", "unit", "volume")]
                for i in range(SOLUTION_ROWS)]

    def clean_checkups(self) -> tuple[int, ...]:
        text = self.cleaned_data.get("checkups") or ""
        parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
        if not all(p.isdigit() for p in parts):
            raise forms.ValidationError(_("Write session numbers separated by commas, e.g. 3, 6."))
        return tuple(sorted({int(p) for p in parts}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for i in range(SOLUTION_ROWS):
            row = [data.get(f"{n}_{i}") for n in ("ingredient", "concentration", "volume")]
            if row[0] and (row[1] is None or row[2] is None):
                self.add_error(f"concentration_{i}" if row[1] is None else f"volume_{i}",
                               _("Give the concentration and the volume of each ingredient."))
            elif not row[0] and (row[1] is not None or row[2] is not None):
                self.add_error(f"ingredient_{i}", _("Choose the ingredient for this row."))
        return data

    def justifications(self) -> dict[str, str]:
        source = self.data if self.is_bound else self.initial
        return {k[len(JUSTIFY):]: str(v)[:1000] for k, v in source.items()
                if k.startswith(JUSTIFY) and str(v).strip()}

    @staticmethod
    def is_solution_field(name: str) -> bool:
        return re.fullmatch(r"(ingredient|concentration|unit|volume)_\d+", name) is not None

    def values_are_clean(self) -> bool:
        """After is_valid(): the protocol's values (everything but the solution) have no error,
        so the live check can compare them with the protocol while a solution row is unfinished."""
        return all(self.is_solution_field(name) or name in ("note", "planned_start")
                   for name in self.errors)

    def values(self) -> rules.PlanValues:
        """The protocol's values from cleaned data (call when values_are_clean())."""
        d = self.cleaned_data
        phases = tuple(
            rules.Phase(p.code, d[f"phase_{i}_sessions"], d[f"phase_{i}_interval"])
            for i, p in enumerate(self.protocol.phases))
        return rules.PlanValues(
            area=d["area"], area_size=d["area_size"], indication=d["indication"],
            technique=d["technique"], delivery=d["delivery"], sessions=d["sessions"],
            phases=phases, session_minutes=d["session_minutes"], depth_mm=d["depth_mm"],
            anaesthetic_cream=bool(d.get("anaesthetic_cream")), checkups=d["checkups"],
            outcome_measures=tuple(d.get("outcome_measures") or ()))

    def draft(self) -> PlanDraft:
        """The draft from valid data (call after is_valid())."""
        d = self.cleaned_data
        solution = tuple(
            SolutionItem(d[f"ingredient_{i}"], d[f"concentration_{i}"],
                         d[f"unit_{i}"] or ConcentrationUnit.PERCENT, d[f"volume_{i}"])
            for i in range(SOLUTION_ROWS) if d.get(f"ingredient_{i}"))
        return PlanDraft(values=self.values(), solution=solution,
                         anaesthetic_cream=d.get("anaesthetic_cream") or "",
                         justifications=self.justifications(), planned_start=d.get("planned_start"),
                         note=d.get("note") or "")

    def field_for(self, path: str) -> str | None:
        """The form field an engine path names (`phases[1].interval_days` → phase_1_interval)."""
        m = re.fullmatch(r"phases\[(\d+)\]\.(sessions|interval_days)", path)
        if m:
            return f"phase_{m[1]}_{'sessions' if m[2] == 'sessions' else 'interval'}"
        m = re.fullmatch(r"solution\[(\d+)\]\.(ingredient|concentration|unit|volume_ml)", path)
        if m:
            # Rows are renumbered without the empty ones: map back to the n-th filled row.
            filled = [i for i in range(SOLUTION_ROWS) if self.cleaned_data.get(f"ingredient_{i}")]
            n = int(m[1])
            if n < len(filled):
                return f"{m[2].replace('volume_ml', 'volume')}_{filled[n]}"
        return path if path in self.fields else None
