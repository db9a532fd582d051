"""Wholesale orders from CSV: one row per order line, rows with the same `order_number` form one
order. A line without `unit_price` is priced by the buyer's margin plan in force today. A preview names every bad row and column; then every order is created, or none. Order
numbers already imported are skipped (a re-uploaded file creates nothing twice)."""
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from creators.models import Creator
from erp.csvutil import RowError, csv_reader
from erp.l10n import business_today, seller_base_currency
from inventory.models import SKU
from orders.exceptions import OrderError
from orders.models import Channel, Order, OrderType
from orders.services.address import address_check
from orders.services.intake import Intake, IntakeLine, order_upsert

COLUMNS = ["order_number", "creator_handle", "sku", "quantity", "unit_price", "discount", "ship_name", "ship_line1", "ship_line2",
           "ship_city", "ship_state", "ship_zip", "ship_country", "ship_phone"]
REQUIRED = ["order_number", "sku", "quantity", "ship_name", "ship_line1", "ship_zip"]  # no unit_price: the buyer's margin plan prices it
MAX_ROWS = 20_000
MAX_QUANTITY = 1_000_000
MAX_LINE_AMOUNT = Decimal("9999999999.99")  # the widest amount an order line's columns hold


@dataclass
class WholesaleImport:
    orders: "OrderedDict[str, dict]" = field(default_factory=OrderedDict)
    errors: list[RowError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[dict]:  # for the preview table
        return [{"order_number": k, "creator": v["creator_handle"] or "—", "lines": len(v["lines"]),
                 "units": sum(q for _s, q, _p, _d in v["lines"]), "ship_to": f"{v['address']['ship_city']} {v['address']['ship_state']} {v['address']['ship_zip']}".strip()}
                for k, v in self.orders.items()]


def wholesale_csv_parse(*, text: str) -> WholesaleImport:
    result = WholesaleImport()
    reader = csv_reader(text)
    header = [(h or "").strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        result.errors.append(RowError(1, ", ".join(missing), _("required column missing")))
        return result
    skus = dict(SKU.objects.annotate(c=Lower("code")).values_list("c", "code"))
    creators = dict(Creator.objects.annotate(h=Lower("handle")).values_list("h", "pk"))
    existing = set()
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            result.errors.append(RowError(number, "-", _("more than %(max)s rows; split the file") % {"max": MAX_ROWS}))
            break
        v = {(k or "").strip(): (val or "").strip() for k, val in raw.items() if k}
        for column in REQUIRED:
            if not v.get(column):
                result.errors.append(RowError(number, column, _("required")))
        code = skus.get(v.get("sku", "").lower())
        if v.get("sku") and code is None:
            result.errors.append(RowError(number, "sku", _("unknown SKU %(sku)s") % {"sku": v["sku"]}))
        quantity = None
        if v.get("quantity"):
            if v["quantity"].isdecimal() and 0 < int(v["quantity"]) <= MAX_QUANTITY:
                quantity = int(v["quantity"])
            else:
                result.errors.append(RowError(number, "quantity", _("must be a whole number above zero, got %(q)s") % {"q": v["quantity"]}))
        amounts = {}
        for column in ("unit_price", "discount"):
            if not v.get(column):
                amounts[column] = None if column == "unit_price" else Decimal(0)
                continue
            try:
                amount = Decimal(v[column])
            except InvalidOperation:
                amount = None
            if (amount is None or not amount.is_finite() or amount < 0 or amount > MAX_LINE_AMOUNT
                    or amount != amount.quantize(Decimal("0.01"))):
                result.errors.append(RowError(number, column, _("must be an amount of zero or more with at most 2 decimals, got %(v)s") % {"v": v[column]}))
            else:
                amounts[column] = amount
        if quantity and amounts.get("unit_price") and quantity * amounts["unit_price"] > MAX_LINE_AMOUNT:
            result.errors.append(RowError(number, "unit_price", _("quantity × unit price is more than %(max)s") % {"max": MAX_LINE_AMOUNT}))
        handle = v.get("creator_handle", "").lstrip("@")
        if handle and handle.lower() not in creators:
            result.errors.append(RowError(number, "creator_handle", _("no creator with the handle @%(handle)s") % {"handle": handle}))
        address = {c: v.get(c, "") for c in COLUMNS if c.startswith("ship_")}
        address["ship_country"] = address["ship_country"] or "US"
        number_key = v.get("order_number", "")
        entry = result.orders.get(number_key)
        if entry is None and number_key:
            checked = address_check(name=address["ship_name"], line1=address["ship_line1"], zip_code=address["ship_zip"], state=address["ship_state"],
                                    country=address["ship_country"])
            for column, problems in checked.by_field.items():
                for problem in problems:
                    result.errors.append(RowError(number, column, problem))
            entry = result.orders[number_key] = {"creator_handle": handle, "creator_id": creators.get(handle.lower()), "address": address, "lines": [],
                                                 "row": number, "unpriced": []}
            existing.add(number_key)
        elif entry is not None and (entry["address"] != address or entry["creator_handle"] != handle):
            result.errors.append(RowError(number, "order_number", _("order %(n)s already started on row %(row)s with another address or creator") % {"n": number_key, "row": entry["row"]}))
        if entry is not None and code and quantity and "unit_price" in amounts:
            if amounts["unit_price"] is None:
                entry["unpriced"].append((number, len(entry["lines"])))
            entry["lines"].append((code, quantity, amounts["unit_price"], amounts.get("discount", Decimal(0))))
    _price_from_plans(result)
    done = set(Order.objects.filter(channel=Channel.WHOLESALE, external_id__in=list(existing)).values_list("external_id", flat=True))
    for key in sorted(done):
        result.skipped.append(key)
        result.orders.pop(key, None)
    if not result.orders and not result.errors and not result.skipped:
        result.errors.append(RowError(2, "-", _("the file has no rows")))
    return result


def _price_from_plans(result: WholesaleImport) -> None:
    """Lines without a unit price take the buyer's margin-plan price (as in force today)."""
    from commissions.services.margins import plan_prices

    waiting = [entry for entry in result.orders.values() if entry["unpriced"]]
    buyers = Creator.objects.in_bulk({entry["creator_id"] for entry in waiting if entry["creator_id"]})
    for entry in waiting:
        codes = [entry["lines"][i][0] for _row, i in entry["unpriced"]]
        prices, reasons = plan_prices(creator=buyers.get(entry["creator_id"]), codes=codes, currency=seller_base_currency(), on=business_today())
        for row, i in entry["unpriced"]:
            code, quantity, _none, discount = entry["lines"][i]
            if code.lower() in prices:
                entry["lines"][i] = (code, quantity, prices[code.lower()], discount)
            else:
                result.errors.append(RowError(row, "unit_price", reasons.get(code.lower(), _("required"))))


@transaction.atomic
def wholesale_csv_apply(*, text: str, actor=None, progress=None) -> WholesaleImport:
    """Every order of the file, or none (OrderError names the count of problems). `progress(done, total)`
    is told every 50 orders (the worker's progress page)."""
    result = wholesale_csv_parse(text=text)
    if result.errors:
        raise OrderError(_("The file has %(n)s problem(s); nothing was imported.") % {"n": len(result.errors)})
    for done, (number, entry) in enumerate(result.orders.items()):
        if progress and done % 50 == 0:
            progress(done, len(result.orders))
        order_upsert(Intake(
            channel=Channel.WHOLESALE, external_id=number, order_type=OrderType.WHOLESALE, currency=seller_base_currency(), creator_id=entry["creator_id"], address=entry["address"],
            lines=[IntakeLine(sku=code, quantity=q, unit_price=price, discount=discount) for code, q, price, discount in entry["lines"]],
        ), actor=actor)
    return result
