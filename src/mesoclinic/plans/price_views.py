"""The clinic manager's price list: see the one in force, replace it with a new version.

Prices are written one per line ("area, size, grade, kind, price") so that a manager can paste
a whole list; a wrong line is named and nothing is saved.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.models import AuditEvent
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.plans import pricing
from mesoclinic.plans.prices import save_price_list, stored_in_force, to_engine

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


class PriceListForm(forms.Form):
    tax_rate = forms.CharField(label=gettext_lazy("Tax rate"), max_length=10,
                               help_text=gettext_lazy("As a fraction: 0.19 for 19 %."))
    location_factor = forms.CharField(label=gettext_lazy("Location factor"), max_length=10,
                                      help_text=gettext_lazy("1.00 for standard prices; above 1 "
                                                             "where the location costs more."))
    checkup_price = forms.CharField(label=gettext_lazy("Check-up price"), max_length=15)
    prices = forms.CharField(
        label=gettext_lazy("Prices per session"), widget=forms.Textarea(attrs={"rows": 10}),
        max_length=20_000,
        help_text=gettext_lazy("One per line: area, size, grade, kind, price — e.g. "
                               "face, standard, physician, cosmetic, 120.00"))
    discounts = forms.CharField(
        label=gettext_lazy("Package discounts"), widget=forms.Textarea(attrs={"rows": 3}),
        required=False, max_length=2_000,
        help_text=gettext_lazy("One per line: from how many sessions, percent — e.g. 6, 10"))

    def _number(self, name: str, text: str) -> Decimal:
        text = text.strip()
        if not _DECIMAL.fullmatch(text):
            raise forms.ValidationError(_("%(value)s is not a number such as 0.19 or 120.00.")
                                        % {"value": text or "—"})
        try:
            return Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(_("Not a number.")) from None

    def engine_list(self, currency: str) -> pricing.PriceList:
        data = self.cleaned_data
        entries = []
        for n, line in enumerate(data["prices"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != 5:
                raise pricing.PricingError("prices", _("line %(n)d: write area, size, grade, kind, "
                                                       "price") % {"n": n})
            try:
                value = self._number("prices", parts[4])
            except forms.ValidationError as exc:
                raise pricing.PricingError("prices", _("line %(n)d: %(e)s")
                                           % {"n": n, "e": exc.messages[0]}) from None
            entries.append(pricing.PriceEntry(parts[0], parts[1], parts[2], parts[3], value))
        tiers = []
        for n, line in enumerate((data.get("discounts") or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != 2 or not parts[0].isdigit():
                raise pricing.PricingError("discounts", _("line %(n)d: write sessions, percent")
                                           % {"n": n})
            tiers.append(pricing.PackageDiscount(int(parts[0]), self._number("discounts", parts[1])))
        if not entries:
            raise pricing.PricingError("prices", _("give at least one price"))
        return pricing.PriceList(
            currency=currency, tax_rate=self._number("tax_rate", data["tax_rate"]),
            location_factor=self._number("location_factor", data["location_factor"]),
            entries=tuple(entries), package_discounts=tuple(tiers),
            checkup_price=self._number("checkup_price", data["checkup_price"]))


def _initial(stored: object) -> dict[str, str]:
    if stored is None:
        return {"tax_rate": "0.00", "location_factor": "1.00", "checkup_price": "0.00"}
    pl = to_engine(stored)  # type: ignore[arg-type]
    described = pricing.describe(pl)
    return {
        "tax_rate": str(described["tax_rate"]), "location_factor": str(described["location_factor"]),
        "checkup_price": str(described["checkup_price"]),
        "prices": "\n".join(f"{e['area']}, {e['size']}, {e['grade']}, {e['kind']}, "
                            f"{e['price_per_session']}"
                            for e in described["price_list"]),  # type: ignore[attr-defined]
        "discounts": "\n".join(f"{t['min_sessions']}, {t['percent']}"
                               for t in described["package_discounts"]),  # type: ignore[attr-defined]
    }


_FIELD_OF = {"prices": "prices", "discounts": "discounts", "tax_rate": "tax_rate",
             "location_factor": "location_factor", "checkup_price": "checkup_price"}


def _form_field(path: str) -> str | None:
    head = path.split("[")[0].split(".")[0]
    if head == "price_list":
        return "prices"
    if head == "package_discounts":
        return "discounts"
    return _FIELD_OF.get(head)


@clinic_view(Perm.MANAGE_PRICES, object_type="price_list")
def price_list(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    clinic = access.clinic
    stored = stored_in_force(clinic)
    form = PriceListForm(request.POST if request.method == "POST" else None, initial=_initial(stored))
    if request.method == "POST" and form.is_valid():
        try:
            save_price_list(clinic=clinic, price_list=form.engine_list(clinic.currency),
                            by=access.user, actor=access.actor)
        except pricing.PricingError as exc:
            field = _form_field(exc.field)
            line = ""
            m = re.match(r"(price_list|package_discounts)\[(\d+)\]", exc.field)
            if m:
                line = _("line %(n)d: ") % {"n": int(m[2]) + 1}
            form.add_error(field, line + exc.message)
        else:
            messages.success(request, _("Price list saved; new quotes use it."))
            return redirect("clinic-prices")
    else:
        access.audit(AuditEvent.Action.VIEW, object_type="price_list",
                     detail=f"price list {stored.pk if stored else 'none'}")
    return render(request, "plans/prices.html",
                  {"form": form, "clinic": clinic, "stored": stored},
                  status=422 if form.errors else 200)
