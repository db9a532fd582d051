"""Realistic demo stock for the demo seller: idempotent (skipped once warehouses exist)."""
import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from djmoney.money import Money

from erp.l10n import business_date_of, business_today
from inventory.exceptions import InsufficientStock
from inventory.models import SKU, Category, ExchangeRate, Product, StockMove, Supplier
from inventory.selectors import Holder
from inventory.services import allocation_set, reservation_consume, reservation_create, stock_receive
from inventory.services.movements import ReceiptLine
from inventory.services.reorder import reorder_alerts_raise
from warehouses.models import Warehouse
from warehouses.services import warehouse_create

CATALOGUE = [
    ("Lip", "0.0600", ["Velvet Lip Tint", "Glossy Lip Oil", "Matte Lip Crayon", "Lip Sleeping Mask"]),
    ("Skin care", "0.0500", ["Snail Essence 100ml", "Vitamin C Serum", "Sunscreen SPF50", "Hydrating Toner", "Clay Mask"]),
    ("Eyes", "0.0600", ["Waterproof Mascara", "Brow Pencil", "Glitter Eyeshadow Palette"]),
    ("Tools", "0.0800", ["Jade Roller", "Gua Sha Stone", "Makeup Sponge 4-pack"]),
]
SHADES = ["Rose", "Coral", "Berry", "Nude"]


def demo_inventory_seed(*, seed: int = 7) -> bool:
    if Warehouse.objects.exists():
        return False
    rng = random.Random(seed)
    warehouses = [
        warehouse_create(code="LA", name="Los Angeles", zip_code="90021", storage_cost_per_unit_month=Money("0.45", "USD")),
        warehouse_create(code="CHI", name="Chicago", zip_code="60607", storage_cost_per_unit_month=Money("0.38", "USD")),
        warehouse_create(code="NJ", name="New Jersey", zip_code="07094", storage_cost_per_unit_month=Money("0.52", "USD")),
    ]
    suppliers = [Supplier.objects.create(name="Guangzhou Cosmetics Co.", lead_time_days=15, email="sales@gz-cosmetics.example"),
                 Supplier.objects.create(name="Yiwu Tools Ltd.", lead_time_days=21, email="orders@yiwu-tools.example", currency="CNY")]
    # Yiwu invoices in CNY: a dated rate for every day of the last four months (about 7.10 CNY per USD).
    today = business_today()
    rate = Decimal("7.12")
    for back in range(120, -1, -1):
        rate = min(max(rate + Decimal(rng.randrange(-3, 4)) / 100, Decimal("7.02")), Decimal("7.22"))
        ExchangeRate.objects.create(currency="CNY", rate_date=today - timedelta(days=back), rate=rate, source="demo")
    skus = []
    for category_name, fee, titles in CATALOGUE:
        category = Category.objects.create(name=category_name, marketplace_fee_rate=Decimal(fee))
        for title in titles:
            product = Product.objects.create(title=title, category=category)
            variants = SHADES if category_name == "Lip" else [""]
            for shade in variants:
                code = f"{category_name[:3].upper()}-{product.pk:03d}{('-' + shade[:3].upper()) if shade else ''}"
                cost = Decimal(rng.randrange(180, 900)) / 100
                cost_money = Money((cost * 7).quantize(Decimal("0.1")), "CNY") if category_name == "Tools" else Money(cost, "USD")
                skus.append(SKU.objects.create(
                    code=code, product=product, title=f"{title} {shade}".strip(), weight_grams=rng.randrange(30, 400),
                    default_unit_cost=cost_money, safety_stock_units=rng.choice([0, 10, 20]),
                    list_price=Money((cost * Decimal("2.6")).quantize(Decimal("0.01")) + Decimal("4.99"), "USD"),
                    preferred_supplier=suppliers[1] if category_name == "Tools" else suppliers[0],
                ))
    ninety_days_ago = timezone.now() - timedelta(days=90)
    for wh in warehouses:
        lines = [ReceiptLine(s.pk, rng.randrange(25, 70) if i < 8 else rng.randrange(60, 400), s.default_unit_cost) for i, s in enumerate(skus)]
        for lot in stock_receive(warehouse_id=wh.pk, lines=lines, reference=f"PO-OPENING-{wh.code}", landed_cost=Money("480.00", "USD"),
                                 received_on=business_date_of(ninety_days_ago)):
            lot.received_at = ninety_days_ago
            lot.save(update_fields=["received_at"])
        StockMove.objects.filter(reference=f"PO-OPENING-{wh.code}").update(created_at=ninety_days_ago)
    allocation_set(sku_id=skus[0].pk, holder=Holder.creator("distributor-a"), quota=50)
    allocation_set(sku_id=skus[0].pk, holder=Holder.creator("distributor-b"), quota=30)
    # Four weeks of sales, heavier on the best sellers, so velocity and reorder alerts are real.
    holders = [Holder.channel("tiktok_shop")] * 6 + [Holder.channel("shopify")] * 2 + [Holder.channel("amazon")]
    for day in range(28, 0, -1):
        for n in range(rng.randrange(6, 12)):
            sku = rng.choice(skus[:8]) if rng.random() < 0.6 else rng.choice(skus)
            wh = rng.choice(warehouses)
            ref = f"DEMO-{day:02d}-{n:02d}"
            try:
                reservation_create(reference=ref, warehouse_id=wh.pk, holder=rng.choice(holders), lines=[(sku.pk, rng.randrange(1, 12))])
            except InsufficientStock:  # short at that warehouse: a real day has those too
                continue
            if day > 1:
                reservation_consume(reference=ref)
                StockMove.objects.filter(reference=ref).update(created_at=timezone.now() - timedelta(days=day))
    reorder_alerts_raise()
    return True
