from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from mesoclinic.knowledge.pack import KnowledgePack
from mesoclinic.lib.text import visible_line, visible_text

DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class TreatmentForm(forms.Form):
    """A proposed treatment to screen the patient for; times are in the clinic's time zone."""

    indication = forms.ChoiceField(label=_("Indication"))
    area = forms.ChoiceField(label=_("Area"))
    technique = forms.ChoiceField(label=_("Technique"))
    delivery = forms.ChoiceField(label=_("Delivery"))
    ingredients = forms.CharField(
        label=_("Ingredients"), max_length=500, validators=[visible_line],
        help_text=_("Separate with commas, e.g. hyaluronic acid, vitamin C"),
    )
    first_session_at = forms.DateTimeField(widget=DT, input_formats=["%Y-%m-%dT%H:%M"],
                                           label=_("First session"))
    allergy_test_at = forms.DateTimeField(
        widget=DT, input_formats=["%Y-%m-%dT%H:%M"], required=False, label=_("Allergy test done at"),
        help_text=_("Leave empty if the allergy test has not been done yet."),
    )
    reactive_to = forms.CharField(
        max_length=500, required=False, label=_("Allergy test reacted to"), validators=[visible_line],
        help_text=_("Ingredients the test reacted to, separated by commas; empty if none."),
    )

    def __init__(self, *args: Any, pack: KnowledgePack, tz: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tz = tz
        choices = {
            "indication": [
                (code, f"{ind.label} ({pack.indication_groups[ind.group].label})")
                for code, ind in sorted(pack.indications.items(), key=lambda kv: kv[1].label)
            ],
            "area": [(code, a.label) for code, a in pack.areas.items() if a.parent is None],
            "technique": [(c, t.label) for c, t in pack.techniques.items()],
            "delivery": [(c, d.label) for c, d in pack.deliveries.items()],
        }
        for name, options in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101
            field.choices = options

    def _aware(self, value: datetime | None) -> datetime | None:
        # The browser sends wall-clock time; it means the clinic's time zone, not the server's.
        return None if value is None else value.replace(tzinfo=None).replace(tzinfo=self.tz)

    def treatment(self) -> dict[str, Any]:
        data = self.cleaned_data
        first = self._aware(data["first_session_at"])
        assert first is not None  # noqa: S101 (required field)
        return {
            "area": data["area"],
            "indication": data["indication"],
            "technique": data["technique"],
            "delivery": data["delivery"],
            "ingredients": [i.strip() for i in data["ingredients"].split(",") if i.strip()],
            "first_session_at": first.isoformat(),
        }

    def allergy_test(self) -> dict[str, Any] | None:
        performed = self._aware(self.cleaned_data.get("allergy_test_at"))
        if performed is None:
            return None
        reactive = [i.strip() for i in self.cleaned_data.get("reactive_to", "").split(",") if i.strip()]
        return {"performed_at": performed.isoformat(), "reactive_to": reactive}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("ingredients") is not None and not [
            i for i in data["ingredients"].split(",") if i.strip()
        ]:
            self.add_error("ingredients", _("Name at least one ingredient."))
        if data.get("reactive_to") and not data.get("allergy_test_at"):
            self.add_error("allergy_test_at", _("Give the time of the allergy test that reacted."))
        return data


class AcceptFindingForm(forms.Form):
    code = forms.CharField(max_length=50, widget=forms.HiddenInput)
    reason = forms.CharField(min_length=10, max_length=1000, validators=[visible_text],
                             widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason for accepting"))
