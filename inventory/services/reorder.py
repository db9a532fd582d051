"""Reorder alerts from sales velocity.

  velocity       = units shipped in the trailing window ÷ window days
  position       = on hand − reserved + units still open on sent/partial purchase orders
  reorder point  = ⌈velocity × (supplier lead time + cover days)⌉
  alert when position < reorder point; suggested order = ⌈reorder point + velocity × cover days − position⌉
Example: 100/day, 15-day lead time, 5 cover days → reorder point 2,000.
"""
import math
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from inventory.exceptions import InventoryError
from inventory.models import (
    SKU,
    AlertStatus,
    MoveKind,
    POStatus,
    PurchaseOrderLine,
    ReorderAlert,
    ReorderSettings,
    StockMove,
)
from inventory.services.purchasing import purchase_order_create

DEFAULT_LEAD_TIME_DAYS = 15


def reorder_settings() -> ReorderSettings:
    return ReorderSettings.objects.first() or ReorderSettings.objects.create()


def daily_velocities(window_days: int | None = None, *, sku_ids=None) -> dict[int, Decimal]:
    """Units shipped per day over the trailing window (the reorder settings' window by default),
    by SKU id; SKUs that shipped nothing are absent."""
    window_days = window_days or reorder_settings().velocity_window_days
    since = timezone.now() - timedelta(days=window_days)
    shipped = StockMove.objects.filter(kind=MoveKind.SHIP, created_at__gte=since)
    if sku_ids is not None:
        shipped = shipped.filter(sku_id__in=list(sku_ids))
    shipped = shipped.values("sku_id").annotate(units=Sum("on_hand_delta"))
    return {row["sku_id"]: Decimal(-row["units"]) / window_days for row in shipped}


def _on_order() -> dict[int, int]:
    open_lines = PurchaseOrderLine.objects.filter(purchase_order__status__in=[POStatus.SENT, POStatus.PARTIAL])
    totals: dict[int, int] = defaultdict(int)
    for line in open_lines.only("sku_id", "quantity_ordered", "quantity_received"):
        totals[line.sku_id] += line.quantity_open
    return totals


@transaction.atomic
def reorder_alerts_raise() -> dict[str, int]:
    """Raise an alert for each active SKU whose position fell below its reorder point, refresh
    open alerts, and resolve those that recovered. Safe to run any number of times a day."""
    settings = reorder_settings()
    velocity = daily_velocities(settings.velocity_window_days)
    on_order = _on_order()
    open_alerts = {a.sku_id: a for a in ReorderAlert.objects.select_for_update().filter(status=AlertStatus.OPEN)}
    new_alerts, refreshed, recovered = [], [], []
    for sku in SKU.objects.filter(is_active=True).select_related("preferred_supplier"):
        v = velocity.get(sku.pk, Decimal(0))
        lead = sku.preferred_supplier.lead_time_days if sku.preferred_supplier else DEFAULT_LEAD_TIME_DAYS
        point = math.ceil(v * (lead + settings.cover_days))
        position = sku.on_hand - sku.reserved + on_order.get(sku.pk, 0)
        alert = open_alerts.get(sku.pk)
        if v > 0 and position < point:
            suggested = math.ceil(point + v * settings.cover_days - position)
            values = {"daily_velocity": v.quantize(Decimal("0.01")), "reorder_point": point, "position": position, "suggested_quantity": suggested}
            if alert is None:
                new_alerts.append(ReorderAlert(sku=sku, **values))
            else:
                for field, value in values.items():
                    setattr(alert, field, value)
                refreshed.append(alert)
        elif alert is not None:
            recovered.append(alert.pk)
    ReorderAlert.objects.bulk_create(new_alerts)
    ReorderAlert.objects.bulk_update(refreshed, ["daily_velocity", "reorder_point", "position", "suggested_quantity"])
    ReorderAlert.objects.filter(pk__in=recovered).update(status=AlertStatus.RESOLVED)
    return {"raised": len(new_alerts), "resolved": len(recovered)}


@transaction.atomic
def reorder_alerts_to_purchase_orders(*, alert_ids: list[int], warehouse_id: int, actor=None) -> list:
    """One click: turn open alerts into draft POs, one per preferred supplier, at each SKU's
    default unit cost. Alerts of SKUs without a supplier are refused, naming them."""
    alerts = list(ReorderAlert.objects.select_for_update(of=("self",)).filter(pk__in=alert_ids, status=AlertStatus.OPEN)
                  .select_related("sku__preferred_supplier"))
    if not alerts:
        raise InventoryError(_("no open reorder alerts were selected"))
    orphans = sorted(a.sku.code for a in alerts if a.sku.preferred_supplier_id is None)
    if orphans:
        raise InventoryError(_("set a preferred supplier first for: %(codes)s") % {"codes": ", ".join(orphans)})
    by_supplier = defaultdict(list)
    for alert in alerts:
        by_supplier[alert.sku.preferred_supplier_id].append(alert)
    pos = []
    for supplier_id, group in sorted(by_supplier.items()):
        supplier = group[0].sku.preferred_supplier
        po = purchase_order_create(
            supplier_id=supplier_id, warehouse_id=warehouse_id, actor=actor, currency=supplier.currency,
            lines=[(a.sku_id, a.suggested_quantity, _unit_cost_in(a.sku, supplier)) for a in group],
        )
        ReorderAlert.objects.filter(pk__in=[a.pk for a in group]).update(status=AlertStatus.ORDERED, purchase_order=po)
        pos.append(po)
    return pos


def _unit_cost_in(sku, supplier) -> Money:
    """The price to put on a new PO line in the supplier's currency: the SKU's default unit cost
    when it is in that currency, else the last price paid to any supplier in that currency. Never a
    conversion: a supplier's price is what they invoice, not what today's rate makes it."""
    if str(sku.default_unit_cost.currency) == supplier.currency:
        return sku.default_unit_cost
    last = (PurchaseOrderLine.objects.filter(sku=sku, unit_cost_currency=supplier.currency)
            .order_by("-purchase_order__created_at", "-pk").values_list("unit_cost", flat=True).first())
    if last is None:
        raise InventoryError(_("%(sku)s: its default unit cost is in %(found)s but %(supplier)s invoices in %(currency)s; "
                               "set the SKU's cost in %(currency)s first.")
                             % {"sku": sku.code, "found": sku.default_unit_cost.currency, "supplier": supplier.name,
                                "currency": supplier.currency})
    return Money(last, supplier.currency)
