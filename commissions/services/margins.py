"""Distributors' and wholesale buyers' margin plans: which plan is in force, what it prices a
SKU at, and saving one without overlapping another.

Pricing rule: plan price = the SKU's list price × (1 − discount), rounded half-up to the cent per
unit. A SKU without a list price (or with one in another currency) has no plan price: a wholesale
order must then carry its own price, and a dropship line falls back to the commission rates.
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from commissions.models import MarginPlan
from commissions.services.fees import dated_end, first_overlap
from inventory.services.levels import money_round_cents

MARGIN_KINDS = ("distributor", "wholesale")


def margin_plan_in_force(*, creator_id: int | None, on: date) -> MarginPlan | None:
    if creator_id is None:
        return None
    return (MarginPlan.objects.filter(creator_id=creator_id, valid_from__lte=on).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
            .order_by("-valid_from").first())


def plan_unit_price(plan: MarginPlan | None, sku, currency: str) -> Decimal | None:
    """What the plan's buyer pays per unit of `sku`, or None when the plan cannot price it."""
    if plan is None or sku is None or sku.list_price is None or str(sku.list_price.currency) != currency:
        return None
    return money_round_cents(Decimal(sku.list_price.amount) * (1 - plan.discount_rate))


@dataclass
class PlanInput:
    creator: object
    discount_rate: Decimal  # a fraction: 0.35 = 35% off list
    valid_from: date
    valid_to: date | None = None
    note: str = ""


def _plan_facts(plan: MarginPlan) -> dict:
    from commissions.services.fees import percent

    return {"handle": plan.creator.handle, "discount": percent(plan.discount_rate), "valid_from": plan.valid_from.isoformat(),
            "valid_to": plan.valid_to.isoformat() if plan.valid_to else ""}


@transaction.atomic
def margin_plan_save(data: PlanInput, *, actor=None) -> MarginPlan:
    """Add a dated plan. Refused, with nothing saved, for a buyer who is not a distributor or
    wholesale buyer, a discount outside 0–100%, backwards dates, or an overlap with the buyer's
    other plans (checked under a lock, so two overlapping saves cannot both pass). Audited with
    the actor."""
    from accounts.services import audit_record

    errors = {}
    if data.creator is None:
        errors["creator"] = _("choose a distributor")
    elif data.creator.kind not in MARGIN_KINDS:
        errors["creator"] = _("@%(handle)s is a creator, not a distributor or wholesale buyer; creators earn commission rates") % {
            "handle": data.creator.handle}
    if data.discount_rate is None or not (Decimal(0) <= data.discount_rate <= Decimal(1)):
        shown = f"{data.discount_rate * 100:.2f}%" if data.discount_rate is not None else "—"
        errors["discount_rate"] = _("a discount must be between 0%% and 100%%, got %(rate)s") % {"rate": shown}
    if data.valid_from and data.valid_to and data.valid_to < data.valid_from:
        errors["valid_to"] = _("the last day is before the first day")
    if errors:
        raise ValidationError(errors)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:margin:{data.creator.pk}"])
    clash = first_overlap(MarginPlan.objects.filter(creator=data.creator), data.valid_from, data.valid_to)
    if clash is not None:
        until = clash.valid_to.isoformat() if clash.valid_to else _("until further notice")
        raise ValidationError({"valid_from": _("overlaps @%(handle)s's plan from %(start)s to %(end)s; end that one first or pick other dates") % {
            "handle": data.creator.handle, "start": clash.valid_from.isoformat(), "end": until}})
    plan = MarginPlan.objects.create(creator=data.creator, discount_rate=data.discount_rate, valid_from=data.valid_from,
                                     valid_to=data.valid_to, note=data.note)
    audit_record(actor=actor, verb="margin_plan.created", target=plan, data=_plan_facts(plan))
    return plan


@transaction.atomic
def margin_plan_end(*, plan_id: int, last_day: date, actor=None) -> MarginPlan:
    from accounts.services import audit_record

    plan = dated_end(MarginPlan.objects.select_for_update(of=("self",)).select_related("creator").get(pk=plan_id), last_day)
    audit_record(actor=actor, verb="margin_plan.ended", target=plan, data=_plan_facts(plan))
    return plan


def plan_prices(*, creator, codes: list[str], currency: str, on: date) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Price wholesale lines that came without a unit price: {code (lower case): plan price} for
    the SKUs the buyer's plan in force on `on` prices, and {code: why not} for the others."""
    from django.db.models.functions import Lower

    from inventory.models import SKU

    plan = margin_plan_in_force(creator_id=creator.pk, on=on) if creator is not None and creator.kind in MARGIN_KINDS else None
    wanted = {c.lower() for c in codes if c}
    skus = {s.lc: s for s in SKU.objects.annotate(lc=Lower("code")).filter(lc__in=wanted)}
    prices, reasons = {}, {}
    for code in wanted:
        price = plan_unit_price(plan, skus.get(code), currency)
        if price is not None:
            prices[code] = price
        elif creator is None:
            reasons[code] = _("no unit price, and no buyer whose margin plan could price it")
        elif plan is None:
            reasons[code] = _("no unit price, and @%(handle)s has no margin plan in force to price it") % {"handle": creator.handle}
        elif code in skus:
            reasons[code] = _("no unit price, and %(sku)s has no list price in %(currency)s for @%(handle)s's margin plan") % {
                "sku": skus[code].code, "currency": currency, "handle": creator.handle}
    return prices, reasons

