from datetime import date, timedelta
from decimal import Decimal

from djmoney.money import Money

from creators.models import CreatorStatus
from creators.services.records import creator_save
from erp.l10n import business_day_start
from orders.models import Channel, Order, OrderLine


def make_creator(handle: str, *, tier: str = "", status: str = CreatorStatus.ACTIVE, start: date | None = None, **data):
    data.setdefault("followers", 1000)
    data["handle"] = handle
    if start is not None:
        data["start_date"] = start
    return creator_save(data=data, initial_tier=tier, initial_status=status)


def add_orders(creator, sku, *, month: date, count: int, price: str = "20.00", quantity: int = 1, commission: str = "3.00",
               returned: int = 0, channel: str = Channel.TIKTOK_SHOP, prefix: str = "") -> list[Order]:
    """`count` orders of one line placed on the 10th of `month` (business time zone)."""
    placed = business_day_start(month.replace(day=10)) + timedelta(hours=12)
    orders = Order.objects.bulk_create([
        Order(channel=channel, external_id=f"{prefix or creator.handle}-{month:%Y%m}-{i}", creator=creator, placed_at=placed, currency="USD")
        for i in range(count)
    ])
    OrderLine.objects.bulk_create([
        OrderLine(order=o, sku=sku, quantity=quantity, unit_price=Money(Decimal(price), "USD"), commission=Money(Decimal(commission), "USD"),
                  quantity_returned=returned if i == 0 else 0)
        for i, o in enumerate(orders)
    ])
    return orders
