"""Quotes for a plan: priced by the pure engine over the clinic's price list, then accepted.

An accepted quote fixes what the plan's sessions cost: later price-list changes do not touch it.
Reception and physicians quote (Perm.QUOTE); the views check that.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.knowledge.store import active_pack
from mesoclinic.plans import pricing
from mesoclinic.plans.models import Grade, Kind, Quote, TreatmentPlan

VALID_DAYS = 30


class QuoteRefused(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def clinic_today(plan: TreatmentPlan) -> date:
    return timezone.now().astimezone(ZoneInfo(plan.clinic.timezone)).date()


def kind_of(plan: TreatmentPlan) -> str:
    """Cosmetic or medical, from the plan's indication (F-COST: cosmetic work costs more)."""
    indication = active_pack().indications.get(plan.current.indication)
    return Kind.COSMETIC if indication is None or indication.cosmetic else Kind.MEDICAL


def issue_quote(*, plan: TreatmentPlan, grade: str, extra_checkups: int, by: User,
                actor: Actor) -> Quote:
    if not plan.is_open:
        raise QuoteRefused("plan", f"a {plan.status} plan is not quoted")
    if grade not in Grade.values:
        raise QuoteRefused("grade", f"unknown grade {grade!r}")
    if not 0 <= extra_checkups <= 40:
        raise QuoteRefused("extra_checkups", "between 0 and 40")
    from mesoclinic.plans.prices import price_list_in_force

    price_list = price_list_in_force(plan.clinic)
    if price_list is None:
        raise QuoteRefused("price_list", "the clinic has no price list yet; the manager sets one")
    if price_list.currency != plan.clinic.currency:
        raise QuoteRefused("currency", f"the price list is in {price_list.currency}, the clinic "
                                       f"bills in {plan.clinic.currency}")
    version = plan.current
    work = pricing.PlanWork(area=version.area, size=version.area_size, grade=grade,
                            kind=kind_of(plan), sessions=version.sessions,
                            extra_checkups=extra_checkups)
    today = clinic_today(plan)
    try:
        priced = pricing.price(work, price_list, date=today, valid_days=VALID_DAYS)
    except pricing.PricingError as exc:
        raise QuoteRefused(exc.field, str(exc)) from None
    with transaction.atomic():
        quote = Quote.objects.create(
            plan=plan, plan_version=plan.version, clinic=plan.clinic, grade=grade, kind=work.kind,
            sessions=work.sessions, extra_checkups=extra_checkups,
            request={"date": today.isoformat(), "valid_days": VALID_DAYS,
                     "plan": {"area": work.area, "size": work.size, "grade": grade,
                              "kind": work.kind, "sessions": work.sessions,
                              "extra_checkups": extra_checkups},
                     "price_list": pricing.describe(price_list)},
            lines=[{"code": ln.code, "quantity": ln.quantity, "unit_price": str(ln.unit_price),
                    "amount": str(ln.amount)} for ln in priced.lines],
            subtotal=priced.subtotal, tax=priced.tax, total=priced.total, currency=priced.currency,
            valid_until=priced.valid_until, issued_by=by)
        _audit(actor, quote, AuditEvent.Action.CREATE,
               detail=f"{quote.total} {quote.currency} for version {quote.plan_version}")
    return quote


def accept_quote(*, quote: Quote, by: User, actor: Actor) -> Quote:
    """The patient accepts: refused when expired, for an older plan version, or already done."""
    with transaction.atomic():
        plan = TreatmentPlan.objects.select_for_update().get(pk=quote.plan_id)
        quote = Quote.objects.select_for_update().get(pk=quote.pk)
        if quote.accepted_at is not None:
            raise QuoteRefused("quote", "this quote is already accepted")
        if not plan.is_open:
            raise QuoteRefused("plan", f"the plan is {plan.status}")
        if quote.plan_version != plan.version:
            raise QuoteRefused("plan_version", f"the quote prices version {quote.plan_version}; "
                                               f"the plan is at version {plan.version}: quote again")
        if quote.valid_until < clinic_today(plan):
            raise QuoteRefused("valid_until", f"the quote expired on {quote.valid_until.isoformat()}")
        quote.accepted_at, quote.accepted_by = timezone.now(), by
        try:
            with transaction.atomic():
                quote.save(update_fields=["accepted_at", "accepted_by"])
        except IntegrityError:
            raise QuoteRefused("quote", "another quote of this plan is already accepted") from None
        _audit(actor, quote, AuditEvent.Action.UPDATE, changes={"accepted": [None, True]},
               detail=f"accepted {quote.total} {quote.currency}")
    return quote


def accepted_quote(plan: TreatmentPlan) -> Quote | None:
    return Quote.objects.filter(plan=plan, plan_version=plan.version, accepted_at__isnull=False).first()


def _audit(actor: Actor, quote: Quote, action: AuditEvent.Action, **fields: Any) -> None:
    plan = quote.plan
    record(actor, action=action, object_type="quote", object_id=str(quote.public_id),
           clinic_id=str(plan.clinic.public_id), patient_id=str(plan.patient.public_id), **fields)
