"""Fee schedules: which one is in force, and saving one without overlapping another."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from djmoney.money import Money

from commissions.models import FeeSchedule


def fee_schedule_in_force(*, channel: str, category_id: int | None, on: date) -> FeeSchedule | None:
    """The category's own schedule on that day, else the channel-wide one, else None."""
    dated = FeeSchedule.objects.filter(channel=channel, valid_from__lte=on).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
    if category_id:
        own = dated.filter(category_id=category_id).order_by("-valid_from").first()
        if own is not None:
            return own
    return dated.filter(category__isnull=True).order_by("-valid_from").first()


@dataclass
class FeeInput:
    channel: str
    category_id: int | None
    valid_from: date
    valid_to: date | None
    marketplace_fee_rate: Decimal
    payment_fee_rate: Decimal
    refund_admin_fee_rate: Decimal
    refund_admin_fee_cap: Decimal | None
    shipping_estimate: Decimal
    currency: str = "USD"
    zone_estimates: list[Decimal] | None = None


def _rate_problem(value: Decimal, field: str) -> dict:
    if value is None or not (Decimal(0) <= value <= Decimal(1)):
        shown = f"{value * 100:.2f}%" if value is not None else "—"
        return {field: _("a rate must be between 0%% and 100%%, got %(rate)s") % {"rate": shown}}
    return {}


def percent(rate) -> str:
    """A rate (a fraction) as the audit log and pages name it: 0.0650 → "6.5%"."""
    return f"{format((Decimal(rate) * 100).normalize(), 'f')}%"


def _schedule_facts(schedule: FeeSchedule) -> dict:
    return {"channel": schedule.get_channel_display(), "category": schedule.category.name if schedule.category_id else "",
            "valid_from": schedule.valid_from.isoformat(), "valid_to": schedule.valid_to.isoformat() if schedule.valid_to else "",
            "marketplace": percent(schedule.marketplace_fee_rate), "payment": percent(schedule.payment_fee_rate),
            "refund_admin": percent(schedule.refund_admin_fee_rate), "shipping": str(schedule.shipping_estimate)}


@transaction.atomic
def fee_schedule_save(data: FeeInput, *, actor=None) -> FeeSchedule:
    """Add a dated schedule, audited with the actor. Refused, with nothing saved, when a rate is
    outside 0–100%, the dates are backwards, or it overlaps a schedule of the same channel and
    category."""
    from accounts.services import audit_record

    errors = {}
    for field in ("marketplace_fee_rate", "payment_fee_rate", "refund_admin_fee_rate"):
        errors |= _rate_problem(getattr(data, field), field)
    if data.valid_to and data.valid_to < data.valid_from:
        errors["valid_to"] = _("the last day is before the first day")
    if data.shipping_estimate is None or data.shipping_estimate < 0:
        errors["shipping_estimate"] = _("shipping cannot be negative")
    zones = list(data.zone_estimates or [])
    if zones and (len(zones) != 8 or any(z < 0 for z in zones)):
        errors["zone_estimates"] = _("give eight amounts, one per zone 1–8, none negative; or leave it empty")
    if data.refund_admin_fee_cap is not None and data.refund_admin_fee_cap < 0:
        errors["refund_admin_fee_cap"] = _("the cap cannot be negative")
    if errors:
        raise ValidationError(errors)
    with connection.cursor() as cursor:  # one writer per channel at a time, so two overlapping saves cannot both pass
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:fees:{data.channel}"])
    clash = first_overlap(FeeSchedule.objects.filter(channel=data.channel, category_id=data.category_id), data.valid_from, data.valid_to)
    if clash is not None:
        until = clash.valid_to.isoformat() if clash.valid_to else _("until further notice")
        raise ValidationError({"valid_from": _("overlaps the schedule from %(start)s to %(end)s; end that one first or pick other dates") % {
            "start": clash.valid_from.isoformat(), "end": until}})
    schedule = FeeSchedule(
        channel=data.channel, category_id=data.category_id, valid_from=data.valid_from, valid_to=data.valid_to,
        marketplace_fee_rate=data.marketplace_fee_rate, payment_fee_rate=data.payment_fee_rate, refund_admin_fee_rate=data.refund_admin_fee_rate,
        refund_admin_fee_cap=Money(data.refund_admin_fee_cap, data.currency) if data.refund_admin_fee_cap is not None else None,
        shipping_estimate=Money(data.shipping_estimate, data.currency), zone_estimates=zones,
    )
    schedule.full_clean()
    schedule.save()
    audit_record(actor=actor, verb="fee_schedule.created", target=schedule, data=_schedule_facts(schedule))
    return schedule


@transaction.atomic
def fee_schedule_end(*, schedule_id: int, last_day: date, actor=None) -> FeeSchedule:
    from accounts.services import audit_record

    schedule = dated_end(FeeSchedule.objects.select_for_update(of=("self",)).select_related("category").get(pk=schedule_id), last_day)
    audit_record(actor=actor, verb="fee_schedule.ended", target=schedule, data=_schedule_facts(schedule))
    return schedule


def first_overlap(dated, valid_from: date, valid_to: date | None):
    """The earliest row of `dated` (rows with valid_from / valid_to, open-ended when None) whose
    days overlap valid_from..valid_to, or None."""
    overlapping = dated.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from))
    if valid_to:
        overlapping = overlapping.filter(valid_from__lte=valid_to)
    return overlapping.order_by("valid_from").first()


def dated_end(row, last_day: date):
    """End a dated row (locked by the caller) on `last_day`: not before it starts, never later
    than it already ends (that could overlap the next one)."""
    if last_day < row.valid_from:
        raise ValidationError({"valid_to": _("the last day is before the first day")})
    if row.valid_to is not None and last_day > row.valid_to:
        raise ValidationError({"valid_to": _("It already ends on %(end)s.") % {"end": row.valid_to.isoformat()}})
    row.valid_to = last_day
    row.save(update_fields=["valid_to"])
    return row
