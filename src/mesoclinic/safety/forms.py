"""Safety forms: they read the input; the actions decide (and name the field when they refuse)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy

from mesoclinic.charting.models import TreatmentSession
from mesoclinic.safety.actions import EventSpec, catalogue
from mesoclinic.safety.models import (
    OTHER_EFFECT,
    ActionTaken,
    AdverseEvent,
    CheckIn,
    ClusterCall,
    EventOutcome,
    Infection,
    Seriousness,
    Severity,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
YES_NO = [("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]


def _session_label(session: TreatmentSession, zone: ZoneInfo) -> str:
    day = session.started_at.astimezone(zone).date().isoformat()
    return str(gettext_lazy("Session %(n)d, %(day)s") % {"n": session.session_number, "day": day})


class EventForm(forms.Form):
    sessions = forms.MultipleChoiceField(
        label=gettext_lazy("After which sessions"), widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Links the event to their lots, technique, area, room and performer."))
    effect = forms.ChoiceField(label=gettext_lazy("Side effect"))
    other_effect = forms.CharField(label=gettext_lazy("Other side effect"), max_length=200, required=False,
                                   help_text=gettext_lazy("When it is not in the list."))
    infection = forms.ChoiceField(label=gettext_lazy("Infection"), required=False,
                                  choices=[("", "—"), *Infection.choices],
                                  help_text=gettext_lazy("For an infection: suspected until confirmed."))
    onset = forms.DateField(label=gettext_lazy("Began on"), widget=DATE)
    severity = forms.ChoiceField(label=gettext_lazy("Severity"), choices=Severity.choices,
                                 widget=forms.RadioSelect)
    seriousness = forms.MultipleChoiceField(
        label=gettext_lazy("Serious because of"), required=False, choices=Seriousness.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Leave empty when none applies: the event is then not serious."))
    description = forms.CharField(label=gettext_lazy("What you see"), required=False, max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    action_taken = forms.ChoiceField(label=gettext_lazy("Action taken"), choices=ActionTaken.choices)
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=EventOutcome.choices)
    resolved_on = forms.DateField(label=gettext_lazy("Resolved on"), required=False, widget=DATE)

    def __init__(self, *args: Any, sessions: list[TreatmentSession], zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(s.public_id), _session_label(s, zone)) for s in sessions]
        self.fields["sessions"].choices = choices  # type: ignore[attr-defined]
        effects = sorted(catalogue().items(), key=lambda item: item[1])
        self.fields["effect"].choices = [("", "—"), *effects,  # type: ignore[attr-defined]
                                         (OTHER_EFFECT, gettext_lazy("Other (name it)"))]

    @classmethod
    def initial_for(cls, event: AdverseEvent) -> dict[str, Any]:
        return {"sessions": [str(s.public_id) for s in event.sessions.all()], "effect": event.effect,
                "other_effect": event.other_effect, "infection": event.infection,
                "onset": event.onset, "severity": event.severity, "seriousness": event.seriousness,
                "description": event.description, "action_taken": event.action_taken,
                "outcome": event.outcome, "resolved_on": event.resolved_on}

    def spec(self) -> EventSpec:
        data = self.cleaned_data
        return EventSpec(effect=data["effect"], other_effect=data.get("other_effect") or "",
                         infection=data.get("infection") or "", description=data.get("description") or "",
                         onset=data["onset"], severity=data["severity"],
                         seriousness=data.get("seriousness") or [], sessions=data["sessions"],
                         action_taken=data["action_taken"], outcome=data["outcome"],
                         resolved_on=data.get("resolved_on"))


class NoteForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class CheckInForm(forms.Form):
    reached = forms.ChoiceField(label=gettext_lazy("Did you reach the patient?"), choices=YES_NO,
                                widget=forms.RadioSelect)
    redness = forms.ChoiceField(label=gettext_lazy("Redness at the injection sites?"), choices=YES_NO,
                                widget=forms.RadioSelect, required=False)
    swelling = forms.ChoiceField(label=gettext_lazy("Swelling?"), choices=YES_NO,
                                 widget=forms.RadioSelect, required=False)
    lumps = forms.ChoiceField(label=gettext_lazy("Lumps or nodules under the skin?"), choices=YES_NO,
                              widget=forms.RadioSelect, required=False)
    pain = forms.ChoiceField(label=gettext_lazy("Pain or tenderness?"), choices=YES_NO,
                             widget=forms.RadioSelect, required=False)
    discharge = forms.ChoiceField(label=gettext_lazy("Discharge or pus?"), choices=YES_NO,
                                  widget=forms.RadioSelect, required=False)
    onset = forms.DateField(label=gettext_lazy("Since when (if any sign)"), required=False, widget=DATE)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=1000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reached") == "yes":
            for question in CheckIn.QUESTIONS:
                if not data.get(question):
                    self.add_error(question, gettext_lazy("Ask this question and record the answer."))
        return data

    def answers(self) -> dict[str, bool]:
        return {q: self.cleaned_data.get(q) == "yes" for q in CheckIn.QUESTIONS
                if self.cleaned_data.get(q)}


class CallForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("How did the call go?"),
                                choices=ClusterCall.Outcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)


class SettingsForm(forms.Form):
    ack_hours = forms.IntegerField(label=gettext_lazy("Hours to acknowledge an alert"), min_value=1,
                                   max_value=72,
                                   help_text=gettext_lazy("Then it goes to the clinic manager too."))
    checkin_weeks = forms.CharField(
        label=gettext_lazy("Check-ins, weeks after each session"), max_length=100,
        help_text=gettext_lazy("Whole weeks, separated by commas, e.g. 1, 3, 6, 12."))

    def clean_checkin_weeks(self) -> list[int]:
        text = self.cleaned_data["checkin_weeks"]
        try:
            return [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(gettext_lazy("Write whole weeks separated by commas.")) from None
