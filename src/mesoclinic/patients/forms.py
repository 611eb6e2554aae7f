from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.kernel.versions import BasedOnField
from mesoclinic.lib.text import visible_line, visible_text
from mesoclinic.patients.models import (
    Allergy,
    LabResult,
    MedicalHistory,
    Medication,
    Patient,
    Workup,
)

DATE = forms.DateInput(attrs={"type": "date"})


def _not_future(value: date | None, label: object) -> None:
    if value is not None and value > timezone.localdate():
        raise forms.ValidationError(_("%(label)s cannot be in the future."),
                                    params={"label": label})


class PatientForm(forms.ModelForm[Patient]):
    class Meta:
        model = Patient
        fields = [
            "given_name", "family_name", "birth_date", "sex", "phone", "email", "address",
            "national_id", "emergency_contact_name", "emergency_contact_phone",
            "preferred_language",
        ]
        widgets = {"birth_date": DATE, "address": forms.Textarea(attrs={"rows": 2})}
        labels = {"national_id": _("National id (optional)")}

    def clean_birth_date(self) -> date:
        value: date = self.cleaned_data["birth_date"]
        _not_future(value, _("Date of birth"))
        if value.year < 1900:
            raise forms.ValidationError(_("Date of birth must be after 1900."))
        return value


class PatientEditForm(PatientForm):
    """Editing demographics: carries the version the form was opened at (stale saves: 409)."""

    based_on = BasedOnField()


class HistoryForm(forms.ModelForm[MedicalHistory]):
    based_on = BasedOnField()

    class Meta:
        model = MedicalHistory
        fields = list(MedicalHistory.CLINICAL_FIELDS)
        widgets = {
            name: forms.RadioSelect for name in MedicalHistory.CLINICAL_FIELDS
            if name != "other_conditions"
        } | {"other_conditions": forms.Textarea(attrs={"rows": 3})}
        labels = {
            "pregnant": _("Pregnant"),
            "breastfeeding": _("Breastfeeding"),
            "insulin": _("Uses insulin"),
            "multi_drug_therapy": _("On multi-drug therapy"),
            "stroke_history": _("Has had a stroke"),
            "liver_disorder": _("Liver disorder"),
            "kidney_disorder": _("Kidney disorder"),
        }


class MedicationForm(forms.ModelForm[Medication]):
    class Meta:
        model = Medication
        fields = ["name", "atc_code", "dose", "started_on", "last_dose_on"]
        widgets = {"started_on": DATE, "last_dose_on": DATE}
        labels = {"atc_code": _("ATC code (if known)"), "last_dose_on": _("Last dose on")}

    def clean_atc_code(self) -> str:
        code = str(self.cleaned_data.get("atc_code") or "").strip().upper()
        # Issue 7: a code must start with one of the 14 ATC anatomical main groups (WHO), or the
        # screening contract refuses it later; X01AB01 has the right shape but is not a code.
        if code and code[0] not in "ABCDGHJLMNPRSV":
            raise forms.ValidationError(_("Enter an ATC code such as N02BA01."))
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _not_future(data.get("started_on"), _("Started"))
        started, last = data.get("started_on"), data.get("last_dose_on")
        if started and last and last < started:
            self.add_error("last_dose_on", _("The last dose cannot be before the start."))
        return data


class StopMedicationForm(forms.Form):
    last_dose_on = forms.DateField(widget=DATE, label=_("Last dose on"))

    def clean_last_dose_on(self) -> date:
        value: date = self.cleaned_data["last_dose_on"]
        _not_future(value, _("Last dose"))
        return value


class AllergyForm(forms.ModelForm[Allergy]):
    class Meta:
        model = Allergy
        fields = ["substance", "reaction", "severity"]


class LabResultForm(forms.ModelForm[LabResult]):
    class Meta:
        model = LabResult
        fields = ["kind", "taken_on", "values", "abnormal"]
        widgets = {"taken_on": DATE, "values": forms.Textarea(attrs={"rows": 3})}
        labels = {"values": _("Values"), "abnormal": _("Outside the normal range")}
        help_texts = {"values": _("e.g. Hb 13.5 g/dL; glucose 92 mg/dL")}

    def clean_taken_on(self) -> date:
        value: date = self.cleaned_data["taken_on"]
        _not_future(value, _("Test date"))
        return value


class WorkupForm(forms.ModelForm[Workup]):
    based_on = BasedOnField()

    class Meta:
        model = Workup
        fields = ["physical_exam_on", "physical_exam_note", "history_reviewed_on"]
        widgets = {
            "physical_exam_on": DATE,
            "history_reviewed_on": DATE,
            "physical_exam_note": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {"physical_exam_on": _("Examined on"), "physical_exam_note": _("Examination note"),
                  "history_reviewed_on": _("History reviewed on")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("physical_exam_on", "history_reviewed_on"):
            try:
                _not_future(data.get(name), self.fields[name].label or name)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        return data


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        min_length=10,
        max_length=500,
        validators=[visible_text],
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Reason"),
        help_text=_("Why you need this record now. The access is flagged for the auditor."),
    )


class RetractForm(forms.Form):
    reason = forms.CharField(
        min_length=5, max_length=500, label=_("Why is this entry wrong?"), validators=[visible_line],
        help_text=_("The entry stays on record, marked as entered in error, and is no longer used."),
    )


class RegisterPatientForm(PatientForm):
    """Registration: the patient form, plus "register anyway" once possible duplicates were shown."""

    confirm_new = forms.BooleanField(
        required=False, label=_("None of these is this patient: register a new patient"))
