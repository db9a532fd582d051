from decimal import Decimal

from djmoney.money import Money

from inventory.models import SKU, Category, Product
from inventory.services import stock_receive
from inventory.services.movements import ReceiptLine
from warehouses.services import warehouse_create


def usd(amount) -> Money:
    return Money(Decimal(str(amount)), "USD")


def make_warehouses():
    return {
        "LA": warehouse_create(code="LA", name="Los Angeles", zip_code="90021", storage_cost_per_unit_month=usd("0.45")),
        "CHI": warehouse_create(code="CHI", name="Chicago", zip_code="60607", storage_cost_per_unit_month=usd("0.40")),
        "NJ": warehouse_create(code="NJ", name="New Jersey", zip_code="07094", storage_cost_per_unit_month=usd("0.50")),
    }


def make_sku(code: str, *, safety_units: int = 0, safety_percent: str = "0", cost: str = "15.00") -> SKU:
    category, _ = Category.objects.get_or_create(name="Beauty", defaults={"marketplace_fee_rate": Decimal("0.05")})
    product = Product.objects.create(title=f"Product {code}", category=category)
    return SKU.objects.create(
        code=code, product=product, title=f"{code} title", default_unit_cost=usd(cost),
        safety_stock_units=safety_units, safety_stock_percent=Decimal(safety_percent),
    )


def receive(sku, warehouse, quantity: int, unit_cost: str = "15.00", reference: str = "PO-1", landed=None):
    return stock_receive(warehouse_id=warehouse.pk, lines=[ReceiptLine(sku.pk, quantity, usd(unit_cost))], reference=reference,
                         landed_cost=usd(landed) if landed else None)
