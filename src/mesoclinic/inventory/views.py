"""Stock pages: the overview, the lots with their ledger, and the forms that change stock.

Stock pages carry no patient data: Perm.VIEW_STOCK reads them (physicians, nurses, managers);
changes need Perm.MANAGE_STOCK, a recall Perm.RECALL. Another clinic's lot is not found (404).
Each page view is one audited read; each change is audited by its action.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.models import AuditEvent
from mesoclinic.inventory import actions, queries
from mesoclinic.inventory.access import lot_of, product_of
from mesoclinic.inventory.actions import StockRefused
from mesoclinic.inventory.forms import (
    LOT_FILTERS,
    CorrectForm,
    ProductForm,
    RecallForm,
    ReceiveForm,
    TransferForm,
)
from mesoclinic.inventory.models import Lot, MoveKind, StockMove, quantity_text
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view

EXPIRING_DAYS = 30
# The action's field names that are not the form's.
FORM_FIELDS = {"delta": "quantity"}


def _lot(access: ClinicAccess, lot_id: UUID) -> Lot:
    found = lot_of(access.clinic, lot_id)
    if found is None:
        access.audit(AuditEvent.Action.VIEW, object_type="lot", object_id=str(lot_id),
                     outcome=AuditEvent.Outcome.DENIED, detail="no such lot at this clinic")
        raise Http404("No such lot")
    return found


def _refuse(form: forms.Form, exc: StockRefused) -> None:
    field = FORM_FIELDS.get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


@require_GET
@clinic_view(Perm.VIEW_STOCK, object_type="product")
def overview(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """Every product with its usable and total stock; low stock flagged."""
    today = queries.clinic_today(access.clinic)
    levels = queries.stock_levels(access.clinic, today)
    expiring = queries.expiring_soon(access.clinic, EXPIRING_DAYS, today).count()
    recalled = Lot.objects.for_clinic(access.clinic).filter(recalled_at__isnull=False,
                                                            on_hand__gt=0).count()
    access.audit(AuditEvent.Action.VIEW, object_type="product",
                 detail=f"stock overview: {len(levels)} products, "
                        f"{sum(1 for x in levels if x.low)} low")
    return render(request, "inventory/overview.html", {
        "levels": levels, "low": [x for x in levels if x.low], "expiring": expiring,
        "recalled": recalled, "days": EXPIRING_DAYS, "today": today,
        "can_manage": access.can(Perm.MANAGE_STOCK)})


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.MANAGE_STOCK, object_type="product", action=AuditEvent.Action.CREATE)
def product_new(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    form = ProductForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            product = actions.add_product(
                access.clinic, name=data["name"], kind=data["kind"], unit=data["unit"],
                ingredients=form.codes(), multi_dose=data["multi_dose"],
                in_use_days=data["in_use_days"], low_stock_threshold=data["low_stock_threshold"],
                by=access.user, actor=access.actor)
        except StockRefused as exc:
            _refuse(form, exc)
        else:
            messages.success(request, _("%(name)s added: receive its first delivery.")
                             % {"name": product.name})
            return redirect(f"{reverse('inventory:receive')}?product={product.public_id}")
    return render(request, "inventory/product_new.html", {"form": form},
                  status=422 if request.method == "POST" else 200)


@require_GET
@clinic_view(Perm.VIEW_STOCK, object_type="lot")
def lots(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """The clinic's lots: in stock (default), expiring soon, recalled, or all; one product's."""
    show = request.GET.get("show", "in_stock")
    if show not in LOT_FILTERS:
        show = "in_stock"
    today = queries.clinic_today(access.clinic)
    found = Lot.objects.for_clinic(access.clinic).select_related("product")
    if show == "in_stock":
        found = found.in_stock()
    elif show == "expiring":
        found = queries.expiring_soon(access.clinic, EXPIRING_DAYS, today)
    elif show == "recalled":
        found = found.filter(recalled_at__isnull=False)
    product = None
    wanted = request.GET.get("product", "")
    if wanted:
        try:
            product = product_of(access.clinic, UUID(wanted))
        except ValueError:
            product = None
        if product is None:
            raise Http404("No such product")
        found = found.filter(product=product)
    rows = [{"lot": lot, "state": queries.lot_state(lot, today, EXPIRING_DAYS)}
            for lot in found.order_by("expires_on", "product__name", "number")[:500]]
    access.audit(AuditEvent.Action.VIEW, object_type="lot",
                 detail=f"lots {show}{f' of product {product.public_id}' if product else ''}: "
                        f"{len(rows)} lots")
    return render(request, "inventory/lots.html", {
        "rows": rows, "show": show, "filters": LOT_FILTERS, "product": product, "today": today,
        "days": EXPIRING_DAYS})


@require_GET
@clinic_view(Perm.VIEW_STOCK, object_type="lot")
def lot_detail(request: ClinicRequest, access: ClinicAccess, lot_id: UUID) -> HttpResponse:
    """One lot: its facts, state and its ledger."""
    lot = _lot(access, lot_id)
    access.audit(AuditEvent.Action.VIEW, object_type="lot", object_id=str(lot.public_id))
    return render(request, "inventory/lot.html", _lot_context(access, lot))


def _lot_context(access: ClinicAccess, lot: Lot) -> dict[str, Any]:
    today = queries.clinic_today(access.clinic)
    moves = list(StockMove.objects.filter(lot=lot).select_related("by", "counterpart__clinic")
                 .order_by("at", "id"))
    batch = queries.batch_of(lot).exclude(pk=lot.pk).values("clinic__name").annotate(n=Count("id"))
    return {"lot": lot, "moves": moves, "today": today,
            "state": queries.lot_state(lot, today, EXPIRING_DAYS),
            "in_use_until": lot.in_use_until, "batch_elsewhere": [b["clinic__name"] for b in batch],
            "can_manage": access.can(Perm.MANAGE_STOCK), "can_recall": access.can(Perm.RECALL),
            "kinds": MoveKind}


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.MANAGE_STOCK, object_type="lot", action=AuditEvent.Action.CREATE)
def receive(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """Take a delivery into stock."""
    initial = {"product": request.GET.get("product") or None}
    form = ReceiveForm(request.POST if request.method == "POST" else None, clinic=access.clinic,
                       initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            lot = actions.receive(access.clinic, product=data["product"], number=data["number"],
                                  expires_on=data["expires_on"], supplier=data["supplier"],
                                  quantity=data["quantity"], by=access.user, actor=access.actor)
        except StockRefused as exc:
            _refuse(form, exc)
        else:
            messages.success(request, _("Received: lot %(lot)s now holds %(n)s.")
                             % {"lot": lot.number, "n": quantity_text(lot.on_hand, lot.product.unit)})
            return redirect("inventory:lot", lot_id=lot.public_id)
    if request.method == "GET":
        access.audit(AuditEvent.Action.VIEW, object_type="product", detail="delivery form")
    return render(request, "inventory/receive.html", {"form": form},
                  status=422 if request.method == "POST" else 200)


def _lot_form_page(request: ClinicRequest, access: ClinicAccess, lot: Lot, template: str,
                   form: forms.Form, **extra: Any) -> HttpResponse:
    if request.method == "GET":
        access.audit(AuditEvent.Action.VIEW, object_type="lot", object_id=str(lot.public_id),
                     detail=template.removeprefix("inventory/").removesuffix(".html") + " form")
    return render(request, template, {**_lot_context(access, lot), "form": form, **extra},
                  status=422 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.MANAGE_STOCK, object_type="stock_move", action=AuditEvent.Action.CREATE)
def correct(request: ClinicRequest, access: ClinicAccess, lot_id: UUID) -> HttpResponse:
    """Record stock wasted, or correct the count."""
    lot = _lot(access, lot_id)
    form = CorrectForm(request.POST if request.method == "POST" else None,
                       initial={"kind": MoveKind.WASTED})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["kind"] == MoveKind.WASTED:
                actions.draw(lot, data["quantity"], clinic=access.clinic, kind=MoveKind.WASTED,
                             by=access.user, actor=access.actor, reason=data["reason"])
            else:
                actions.adjust(lot, data["quantity"], clinic=access.clinic, by=access.user,
                               actor=access.actor, reason=data["reason"])
        except StockRefused as exc:
            _refuse(form, exc)
        else:
            messages.success(request, _("Recorded."))
            return redirect("inventory:lot", lot_id=lot.public_id)
    return _lot_form_page(request, access, lot, "inventory/correct.html", form)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.MANAGE_STOCK, object_type="stock_move", action=AuditEvent.Action.CREATE)
def transfer(request: ClinicRequest, access: ClinicAccess, lot_id: UUID) -> HttpResponse:
    """Send part of the lot to another clinic of the organisation."""
    lot = _lot(access, lot_id)
    form = TransferForm(request.POST if request.method == "POST" else None, clinic=access.clinic)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            target = actions.transfer(lot, data["to_clinic"], data["quantity"], clinic=access.clinic,
                                      by=access.user, actor=access.actor)
        except StockRefused as exc:
            _refuse(form, exc)
        else:
            messages.success(request, _("Sent %(n)s of lot %(lot)s to %(clinic)s.")
                             % {"n": quantity_text(data["quantity"], lot.product.unit), "lot": lot.number,
                                "clinic": target.clinic.name})
            return redirect("inventory:lot", lot_id=lot.public_id)
    return _lot_form_page(request, access, lot, "inventory/transfer.html", form)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.RECALL, object_type="lot", action=AuditEvent.Action.UPDATE)
def recall(request: ClinicRequest, access: ClinicAccess, lot_id: UUID) -> HttpResponse:
    """Recall the lot's batch in every clinic of the organisation; a reason is required."""
    lot = _lot(access, lot_id)
    form = RecallForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            marked = actions.recall(lot, clinic=access.clinic, reason=form.cleaned_data["reason"],
                                    by=access.user, actor=access.actor)
        except StockRefused as exc:
            _refuse(form, exc)
        else:
            clinics = len({m.clinic_id for m in marked})
            messages.warning(request, ngettext(
                "Lot %(lot)s recalled: %(n)d lot marked in %(clinics)d clinic.",
                "Lot %(lot)s recalled: %(n)d lots marked in %(clinics)d clinics.", len(marked))
                % {"lot": lot.number, "n": len(marked), "clinics": clinics})
            return redirect("inventory:lot", lot_id=lot.public_id)
    pending = list(queries.batch_of(lot).filter(recalled_at__isnull=True)
                   .select_related("clinic").order_by("clinic__name"))
    return _lot_form_page(request, access, lot, "inventory/recall.html", form,
                          pending=pending, pending_clinics=sorted({p.clinic.name for p in pending}))
