"""Stock forms: they read the input; the actions decide (and name the field when they refuse)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from mesoclinic.accounts.models import Clinic
from mesoclinic.inventory.models import DIGITS, PLACES, MoveKind, Product, ProductKind, Unit

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NUMBER = forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"})


def _quantity(label: Any, **extra: Any) -> forms.DecimalField:
    return forms.DecimalField(label=label, max_digits=DIGITS, decimal_places=PLACES, widget=NUMBER,
                              **extra)


class ProductForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ProductKind.choices)
    unit = forms.ChoiceField(label=gettext_lazy("Unit"), choices=Unit.choices)
    ingredients = forms.CharField(
        label=gettext_lazy("Ingredient codes"), required=False, max_length=500,
        help_text=gettext_lazy("The knowledge pack's codes, separated by commas, e.g. "
                               "hyaluronic_acid, vitamin_c. A needle has none."))
    multi_dose = forms.BooleanField(label=gettext_lazy("Multi-dose vial (used for several patients "
                                                       "once opened)"), required=False)
    in_use_days = forms.IntegerField(label=gettext_lazy("Days usable after opening"), required=False,
                                     min_value=1, max_value=365,
                                     help_text=gettext_lazy("Required for a multi-dose vial."))
    low_stock_threshold = _quantity(gettext_lazy("Warn when usable stock falls to"), required=False,
                                    min_value=0)

    def codes(self) -> list[str]:
        text = self.cleaned_data.get("ingredients") or ""
        return [c for c in re.split(r"[\s,;]+", text) if c]


class ReceiveForm(forms.Form):
    product = forms.ModelChoiceField(label=gettext_lazy("Product"), queryset=Product.objects.none(),
                                     to_field_name="public_id")
    number = forms.CharField(label=gettext_lazy("Lot number"), max_length=64,
                             help_text=gettext_lazy("As printed on the box."))
    expires_on = forms.DateField(label=gettext_lazy("Expires on"), widget=DATE)
    supplier = forms.CharField(label=gettext_lazy("Supplier"), max_length=200, required=False)
    quantity = _quantity(gettext_lazy("Quantity received"))

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["product"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101
        field.queryset = Product.objects.filter(clinic=clinic, active=True).order_by("name")


class CorrectForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What happened"), widget=forms.RadioSelect,
        choices=[(MoveKind.WASTED.value, gettext_lazy("Wasted (broken, spilt, expired, discarded)")),
                 (MoveKind.ADJUSTED.value, gettext_lazy("Count corrected"))])
    quantity = _quantity(
        gettext_lazy("Quantity"),
        help_text=gettext_lazy("Wasted: how much was thrown away. Count corrected: the difference "
                               "to the record, e.g. -2 for two fewer, 1 for one more."))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class TransferForm(forms.Form):
    to_clinic = forms.ModelChoiceField(label=gettext_lazy("To clinic"), queryset=Clinic.objects.none(),
                                       to_field_name="public_id")
    quantity = _quantity(gettext_lazy("Quantity to send"))

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_clinic"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101
        field.queryset = Clinic.objects.filter(organisation_id=clinic.organisation_id).exclude(
            pk=clinic.pk).order_by("name")


class RecallForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason for the recall"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=gettext_lazy("E.g. the supplier's or authority's notice and "
                                                    "its reference."))


LOT_FILTERS = {
    "in_stock": gettext_lazy("In stock"),
    "expiring": gettext_lazy("Expiring soon"),
    "recalled": gettext_lazy("Recalled"),
    "all": gettext_lazy("All"),
}
