"""Order intake from every channel into one `order_upsert`.

A channel order is identified by (channel, external id): a replay or duplicate delivery updates
the same order, never a second one (unique constraint; concurrent duplicates meet it and fall
back to the update). Updates older than what was last applied are ignored, so out-of-order
deliveries cannot undo a later state. Lines that cannot be matched (unknown SKU, zero or
negative quantity) do not lose the order: it is kept with its lines as received and parked in
the exceptions queue until someone fixes the catalogue and retries."""
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from erp.ids import whole
from inventory.models import SKU
from orders.exceptions import IntakeRejected
from orders.models import Channel, ExceptionReason, Order, OrderLine, OrderStatus, OrderType
from orders.services.address import state_code
from orders.services.pipeline import note, order_cancel, order_deliver, park, pipeline_later, transition
from orders.services.sla import deadlines_set, sla_state_of

ADDRESS_FIELDS = ("ship_name", "ship_phone", "ship_line1", "ship_line2", "ship_city", "ship_state", "ship_zip", "ship_country")


@dataclass
class IntakeLine:
    sku: str  # our SKU code, or the channel's item id when the order came from a connected shop
    quantity: object
    unit_price: object
    discount: object = 0
    commission_rate: Decimal | None = None


@dataclass
class Intake:
    channel: str
    external_id: str
    lines: list[IntakeLine]
    placed_at: datetime | None = None
    paid_at: datetime | None = None
    ship_by: datetime | None = None
    currency: str = "USD"
    address: dict = field(default_factory=dict)  # keys of ADDRESS_FIELDS
    order_type: str = OrderType.RETAIL
    creator_id: int | None = None
    platform_pays_commission: bool = False
    account_id: int | None = None
    # "cancelled" / "delivered" / "" (open) as the channel says now, and its own update time.
    state: str = ""
    external_status: str = ""
    external_updated_at: datetime | None = None
    external_data: dict = field(default_factory=dict)


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def lines_match(*, lines: list[IntakeLine], account_id: int | None) -> tuple[list[dict], list[str]]:
    """Resolve each line to our SKU: through the shop's listings when the order came from a
    connected shop, else by SKU code (case-insensitive). Returns (matched, problems)."""
    from connectors.models import ChannelListing

    refs = [str(line.sku).strip() for line in lines]
    by_listing = {}
    if account_id:
        by_listing = dict(ChannelListing.objects.filter(account_id=account_id, external_sku_id__in=refs).values_list("external_sku_id", "sku_id"))
    wanted = sorted({r.lower() for r in refs if r and r not in by_listing})  # by code only what the listings did not match
    by_code = {code.lower(): pk for pk, code in SKU.objects.annotate(lc=Lower("code")).filter(lc__in=wanted).values_list("pk", "code")} if wanted else {}
    matched, problems = [], []
    for i, (line, ref) in enumerate(zip(lines, refs), start=1):
        sku_id = by_listing.get(ref) or by_code.get(ref.lower())
        if not ref:
            problems.append(_("line %(n)s: the SKU is missing") % {"n": i})
        elif sku_id is None:
            problems.append(_("line %(n)s: unknown SKU %(sku)s") % {"n": i, "sku": ref})
        qty = line.quantity
        if isinstance(qty, str) and whole(qty.strip().removeprefix("-")) is not None:
            qty = int(qty.strip())
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            problems.append(_("line %(n)s: quantity must be a whole number above zero, got %(q)s") % {"n": i, "q": line.quantity})
        price, discount = _decimal(line.unit_price), _decimal(line.discount or 0)
        if price is None or price < 0:
            problems.append(_("line %(n)s: unit price must be an amount of zero or more, got %(p)s") % {"n": i, "p": line.unit_price})
        if discount is None or discount < 0:
            problems.append(_("line %(n)s: discount must be an amount of zero or more, got %(p)s") % {"n": i, "p": line.discount})
        matched.append({"sku_id": sku_id, "quantity": qty, "unit_price": price, "discount": discount, "commission_rate": line.commission_rate})
    if not lines:
        problems.append(_("the order has no lines"))
    return matched, problems


def _total(matched: list[dict]) -> Decimal:
    return sum((m["unit_price"] * m["quantity"] - m["discount"] for m in matched), Decimal(0))


def _lines_create(order: Order, matched: list[dict], *, total_saved: bool = False) -> None:
    OrderLine.objects.bulk_create([
        OrderLine(order=order, sku_id=m["sku_id"], quantity=m["quantity"], unit_price=Money(m["unit_price"], order.currency),
                  discount=Money(m["discount"], order.currency), commission_rate=m["commission_rate"],
                  commission=Money(((m["unit_price"] * m["quantity"] - m["discount"]) * (m["commission_rate"] or 0)).quantize(Decimal("0.01")), order.currency))
        for m in matched
    ])
    if not total_saved:
        order.total = _total(matched)
        order.save(update_fields=["total"])


def _raw_lines(lines: list[IntakeLine]) -> list[dict]:
    return [{"sku": str(line.sku), "quantity": str(line.quantity), "unit_price": str(line.unit_price), "discount": str(line.discount or 0),
             "commission_rate": str(line.commission_rate) if line.commission_rate is not None else None} for line in lines]


def lines_rematch(order: Order) -> str:
    """Try the parked lines again (after the SKU was added or mapped). '' when they now match."""
    lines = [IntakeLine(sku=r["sku"], quantity=r["quantity"], unit_price=r["unit_price"], discount=r["discount"],
                        commission_rate=Decimal(r["commission_rate"]) if r.get("commission_rate") else None) for r in order.intake_lines]
    matched, problems = lines_match(lines=lines, account_id=order.account_id)
    if problems:
        return "; ".join(problems)
    _lines_create(order, matched)
    order.intake_lines = []
    order.save(update_fields=["intake_lines"])
    return ""


@transaction.atomic
def order_upsert(intake: Intake, *, actor=None) -> tuple[Order, bool]:
    """Create or update one order from a channel. Returns (order, created). The order's intake failures,
    if an earlier attempt left one, are resolved: it has arrived."""
    from orders.services.intake_failures import intake_failures_resolve

    order = Order.objects.select_for_update().filter(channel=intake.channel, external_id=intake.external_id).first()
    if order is None:
        try:
            with transaction.atomic():
                order, created = _create(intake, actor=actor), True
        except IntegrityError:  # a concurrent duplicate created it first
            order = Order.objects.select_for_update().get(channel=intake.channel, external_id=intake.external_id)
            _update(order, intake, actor=actor)
            created = False
    else:
        _update(order, intake, actor=actor)
        created = False
    intake_failures_resolve(channel=intake.channel, external_ids=[order.external_id])
    return order, created


def _create(intake: Intake, *, actor=None) -> Order:
    now = timezone.now()
    order = Order(channel=intake.channel, external_id=intake.external_id[:64], order_type=intake.order_type, creator_id=intake.creator_id,
                  platform_pays_commission=intake.platform_pays_commission, currency=(intake.currency or "USD").upper()[:3],
                  placed_at=intake.placed_at or now, created_at=now, paid_at=intake.paid_at, ship_by=intake.ship_by,
                  account_id=intake.account_id, external_status=intake.external_status[:40], external_updated_at=intake.external_updated_at,
                  external_data=intake.external_data, status_changed_at=now, handled_by=actor)
    for name in ADDRESS_FIELDS:
        value = str(intake.address.get(name) or "").strip()
        setattr(order, name, value[: Order._meta.get_field(name).max_length])
    order.ship_country = (order.ship_country or "US").upper()[:2]
    deadlines_set(order)
    order.sla_state = sla_state_of(order, now=now)
    matched, problems = lines_match(lines=intake.lines, account_id=intake.account_id)
    if problems:
        order.intake_lines = _raw_lines(intake.lines)  # kept as received until the catalogue is fixed
        # The total as the channel sold it, from the lines whose amounts are readable.
        order.total = _total([m for m in matched if isinstance(m["quantity"], int) and not isinstance(m["quantity"], bool)
                              and m["quantity"] > 0 and m["unit_price"] is not None and m["discount"] is not None])
    else:
        order.total = _total(matched)
    order.save()
    from orders.models import OrderEvent

    OrderEvent.objects.create(order=order, at=now, to_status=OrderStatus.RECEIVED, actor=actor,
                              message=_("Received from %(channel)s") % {"channel": order.get_channel_display()})
    if problems:
        unknown = any(m["sku_id"] is None for m in matched)
        park(order, ExceptionReason.UNKNOWN_SKU if unknown else ExceptionReason.BAD_LINES, "; ".join(problems))
        return order
    _lines_create(order, matched, total_saved=True)
    if intake.state == "cancelled":
        transition(order, OrderStatus.CANCELLED, message=_("Cancelled on %(channel)s before it reached us") % {"channel": order.get_channel_display()})
        return order
    pipeline_later(order.pk, here=True)
    return order


def _update(order: Order, intake: Intake, *, actor=None) -> None:
    if intake.external_updated_at and order.external_updated_at and intake.external_updated_at < order.external_updated_at:
        return  # an older state arriving late
    changed_address = {name: str(intake.address.get(name) or "").strip() for name in ADDRESS_FIELDS
                       if name in intake.address and str(intake.address.get(name) or "").strip() != getattr(order, name)}
    if changed_address.get("ship_state") and order.ship_state and state_code(changed_address["ship_state"]) == order.ship_state:
        changed_address.pop("ship_state")  # "California" vs the "CA" we normalised it to
    if "ship_city" in changed_address and not changed_address["ship_city"]:
        changed_address.pop("ship_city")  # we filled the city in from the ZIP code
    fields = []
    if intake.external_updated_at:
        order.external_updated_at = intake.external_updated_at
        fields.append("external_updated_at")
    if intake.external_status and intake.external_status != order.external_status:
        order.external_status = intake.external_status[:40]
        fields.append("external_status")
    if intake.external_data and intake.external_data != order.external_data:
        order.external_data = {**order.external_data, **intake.external_data}
        fields.append("external_data")
    if intake.ship_by and intake.ship_by != order.ship_by:
        order.ship_by = intake.ship_by
        fields.append("ship_by")
    if fields:
        order.save(update_fields=fields + ["updated_at"])
    if changed_address and order.status in (OrderStatus.RECEIVED, OrderStatus.ON_HOLD, OrderStatus.ADDRESS_INVALID, OrderStatus.BACKORDERED,
                                            OrderStatus.RESERVED, OrderStatus.ROUTED, OrderStatus.AWAITING_SUPPLY, OrderStatus.PACKING):
        for name, value in changed_address.items():
            setattr(order, name, value[: Order._meta.get_field(name).max_length])
        order.save(update_fields=list(changed_address) + ["updated_at"])
        note(order, _("Ship-to address changed by %(channel)s: %(fields)s") % {
            "channel": order.get_channel_display(), "fields": ", ".join(str(Order._meta.get_field(n).verbose_name) for n in changed_address)}, actor=actor)
        if order.status == OrderStatus.ADDRESS_INVALID:
            order.exception_reason, order.exception_detail, order.exception_at = "", "", None
            order.save(update_fields=["exception_reason", "exception_detail", "exception_at"])
            transition(order, OrderStatus.RECEIVED, message=_("Address corrected; checking again"), actor=actor)
            pipeline_later(order.pk)
    elif changed_address and order.status not in (OrderStatus.CANCELLED,):
        note(order, _("The channel changed the address after the parcel left; it was not applied."), actor=actor)
    if intake.state == "cancelled" and order.status != OrderStatus.CANCELLED:
        order_cancel(order_id=order.pk, actor=actor, reason=_("Cancelled on %(channel)s") % {"channel": order.get_channel_display()})
    elif intake.state == "delivered" and order.status == OrderStatus.SHIPPED:
        order_deliver(order_id=order.pk, actor=actor)


# ---------------------------------------------------------------------------- channel shapes
def _unix(value) -> datetime | None:
    from datetime import timezone as dt_timezone

    try:
        return datetime.fromtimestamp(int(value), tz=dt_timezone.utc) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


TIKTOK_STATE = {"CANCELLED": "cancelled", "DELIVERED": "delivered", "COMPLETED": "delivered"}


def intake_from_tiktok(data: dict, *, account) -> Intake:
    """An order as GET /order/202309/orders returns it."""
    address = data.get("recipient_address") or {}
    districts = {d.get("address_level_name", "").lower(): d.get("address_name", "") for d in address.get("district_info") or []}
    creator_id = None
    if data.get("creator_username"):
        from creators.models import Creator

        creator_id = Creator.objects.filter(handle__iexact=str(data["creator_username"]).lstrip("@")).values_list("pk", flat=True).first()
    rate = _tiktok_rate(data.get("commission_rate"))
    return Intake(
        channel=Channel.TIKTOK_SHOP, external_id=str(data["id"]), account_id=account.pk, currency=(data.get("payment") or {}).get("currency", "USD"),
        placed_at=_unix(data.get("create_time")), paid_at=_unix(data.get("paid_time")), ship_by=_unix(data.get("shipping_due_time") or data.get("rts_sla_time")),
        lines=[IntakeLine(sku=str(li.get("sku_id", "")), quantity=li.get("quantity", 1), unit_price=li.get("sale_price", "0"),
                          discount=li.get("seller_discount", 0), commission_rate=rate)
               for li in data.get("line_items") or []],
        address={"ship_name": address.get("name", ""), "ship_phone": address.get("phone_number", ""),
                 "ship_line1": address.get("address_line1") or address.get("full_address", ""), "ship_line2": address.get("address_line2", ""),
                 "ship_city": districts.get("city", ""), "ship_state": districts.get("state", ""), "ship_zip": address.get("postal_code", ""),
                 "ship_country": address.get("region_code", "US")},
        # TikTok pays the creator only on affiliate orders it takes a commission on (a rate on the
        # order); a creator tagged without one has a direct deal with the seller, who pays them.
        order_type=OrderType.DROPSHIP if creator_id else OrderType.RETAIL, creator_id=creator_id,
        platform_pays_commission=bool(creator_id and rate),
        state=TIKTOK_STATE.get(data.get("status", ""), ""), external_status=data.get("status", ""), external_updated_at=_unix(data.get("update_time")),
        external_data={"package_id": str((data.get("packages") or [{}])[0].get("id", ""))} if data.get("packages") else {},
    )


TIKTOK_RATE_UNIT = Decimal(10_000)  # TikTok's affiliate rates are in hundredths of a percent: 1500 = 15.00%


def _tiktok_rate(value) -> Decimal | None:
    """A TikTok commission rate (hundredths of a percent) as a fraction: 1500 -> 0.15; None for none or 0.
    Anything that is not a whole number from 0 to 10000 (100%) is refused, naming the value."""
    if value in (None, "", 0, "0"):
        return None
    number = _decimal(value)
    if number is None or number != number.to_integral_value() or not 0 <= number <= TIKTOK_RATE_UNIT:
        raise IntakeRejected(_("commission_rate %(value)s is not a TikTok rate (hundredths of a percent, 0 to 10000).") % {"value": str(value)[:40]})
    return (number / TIKTOK_RATE_UNIT).quantize(Decimal("0.0001")) or None


def intake_from_amazon(data: dict, *, account) -> Intake:
    """An order as the Orders API (v0) returns it; lines come as `OrderItems` when present."""
    address = data.get("ShippingAddress") or {}
    status = data.get("OrderStatus", "")
    return Intake(
        channel=Channel.AMAZON, external_id=str(data["AmazonOrderId"]), account_id=account.pk,
        currency=(data.get("OrderTotal") or {}).get("CurrencyCode", "USD"),
        placed_at=_iso(data.get("PurchaseDate")), paid_at=_iso(data.get("PurchaseDate")), ship_by=_iso(data.get("LatestShipDate")),
        lines=[IntakeLine(sku=item.get("SellerSKU", ""), quantity=item.get("QuantityOrdered", 1),
                          unit_price=(item.get("ItemPrice") or {}).get("Amount", "0")) for item in data.get("OrderItems") or []],
        address={"ship_name": address.get("Name", ""), "ship_line1": address.get("AddressLine1", ""), "ship_line2": address.get("AddressLine2", ""),
                 "ship_city": address.get("City", ""), "ship_state": address.get("StateOrRegion", ""), "ship_zip": address.get("PostalCode", ""),
                 "ship_country": address.get("CountryCode", "US"), "ship_phone": address.get("Phone", "")},
        state={"Canceled": "cancelled"}.get(status, ""), external_status=status, external_updated_at=_iso(data.get("LastUpdateDate")),
        # Amazon's id of each line, needed to confirm the shipment: {SellerSKU: OrderItemId}.
        external_data={"order_items": {str(i.get("SellerSKU")): str(i["OrderItemId"]) for i in data.get("OrderItems") or [] if i.get("OrderItemId")}},
    )


def _iso(value) -> datetime | None:
    from django.utils.dateparse import parse_datetime

    return parse_datetime(value) if value else None
