"""Forms of the manager's staff pages (HTML only; the rules live in accounts.actions)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Credential
from mesoclinic.accounts.permissions import Role

DATE = forms.DateInput(attrs={"type": "date"})
ROLE_CHOICES = [(r.value, r.label) for r in Role]


class AddStaffForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150,
                               validators=[UnicodeUsernameValidator()],
                               widget=forms.TextInput(attrs={"autocomplete": "off"}),
                               help_text=_("What they type to sign in, e.g. nurse.kaya."))
    display_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("Email (optional)"), required=False, max_length=254)
    password = forms.CharField(
        label=_("Initial password"), strip=False, max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Give it to them in person. At their first sign-in they set up an "
                    "authenticator app before they can open any page."))
    roles = forms.MultipleChoiceField(label=_("Roles at this clinic"), choices=ROLE_CHOICES,
                                      widget=forms.CheckboxSelectMultiple)


class RolesForm(forms.Form):
    clinic = forms.UUIDField(widget=forms.HiddenInput)
    roles = forms.MultipleChoiceField(label=_("Roles"), choices=ROLE_CHOICES, required=False,
                                      widget=forms.CheckboxSelectMultiple)


class CredentialForm(forms.ModelForm[Credential]):
    class Meta:
        model = Credential
        fields = ["licence_type", "number", "issuing_body", "specialisation", "valid_from",
                  "valid_until"]
        widgets = {"valid_from": DATE, "valid_until": DATE}
        labels = {"licence_type": _("Kind"), "number": _("Number"),
                  "issuing_body": _("Issued by"), "specialisation": _("Specialisation"),
                  "valid_from": _("Valid from"), "valid_until": _("Valid until")}
        help_texts = {"valid_until": _("Leave empty if it does not expire.")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: date | None = data.get("valid_from")
        end: date | None = data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The end is before the start."))
        return data
