"""SKU CSV export and import. Import is two steps: parse (a preview that names every bad row,
column and reason) and apply (all rows or none, validated again)."""
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from djmoney.money import Money

from erp.csvutil import RowError, csv_reader
from erp.l10n import seller_base_currency
from inventory.events import sellable_changed_on_commit
from inventory.exceptions import InventoryError
from inventory.models import SKU, Category, Product, Supplier

COLUMNS = ["code", "title", "product", "category", "weight_grams", "default_unit_cost", "cost_currency", "safety_stock_units",
           "safety_stock_percent", "is_active", "preferred_supplier", "list_price"]  # list_price: retail, in the seller's currency
REQUIRED = ["code", "title", "product", "category"]
MAX_ROWS = 20_000
_TRUE, _FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n"}


@dataclass
class ImportPreview:
    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    creates: int = 0
    updates: int = 0


def sku_csv_export() -> Iterator[list]:
    """The catalogue as rows under COLUMNS (read lazily, for erp.csvutil.csv_response); imports back as is."""
    for sku in SKU.objects.select_related("product__category", "preferred_supplier").order_by("code").iterator(chunk_size=2000):
        yield [
            sku.code, sku.title, sku.product.title, sku.product.category.name, sku.weight_grams, sku.default_unit_cost.amount, sku.default_unit_cost.currency,
            sku.safety_stock_units, sku.safety_stock_percent, "true" if sku.is_active else "false",
            sku.preferred_supplier.name if sku.preferred_supplier else "", sku.list_price.amount if sku.list_price is not None else "",
        ]


INT_MAX = 2_147_483_647  # PositiveIntegerField
TEXT_LIMITS = {"title": SKU._meta.get_field("title").max_length, "product": Product._meta.get_field("title").max_length,
               "category": Category._meta.get_field("name").max_length}


def _int(value: str, *, minimum: int = 0, maximum: int = INT_MAX) -> int:
    if not value.strip().lstrip("-").isdecimal():
        raise ValueError(_("must be a whole number"))
    number = int(value)
    if number < minimum:
        raise ValueError(_("must be %(minimum)s or more") % {"minimum": minimum})
    if number > maximum:
        raise ValueError(_("must be at most %(maximum)s") % {"maximum": maximum})
    return number


def _decimal(value: str, *, places: int, maximum: Decimal | None = None) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(_("must be a number like 12.50")) from None
    if not number.is_finite() or number < 0:
        raise ValueError(_("must be zero or more"))
    if -number.as_tuple().exponent > places:
        raise ValueError(_("at most %(places)s decimal places") % {"places": places})
    if maximum is not None and number > maximum:
        raise ValueError(_("must be at most %(maximum)s") % {"maximum": maximum})
    return number


def _may_set_prices(actor) -> bool:
    from accounts.modules import Duty

    return actor is None or actor.has_duty(Duty.MONEY_SETTINGS)


def sku_csv_parse(*, text: str, actor=None) -> ImportPreview:
    """The preview. A row that would change a list price (or give a new SKU one) is an error
    for an actor without the money-settings duty (accounts.modules.Duty): Operations and
    Warehouse import SKUs, but only Finance, Managers and Owners set prices. `actor` None: the
    system (demo seeding, tests)."""
    from accounts.modules import Duty, duty_holders_label

    preview = ImportPreview()
    may_set_prices = _may_set_prices(actor)
    reader = csv_reader(text)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        preview.errors.append(RowError(1, ", ".join(missing), _("required column missing")))
        return preview
    # An empty header cell (a trailing comma) is named by its position, so the message says where it is.
    unknown = [h or _("column %(n)s has no name") % {"n": i + 1} for i, h in enumerate(header) if h not in COLUMNS]
    if unknown:
        reason = _("unknown column; expected some of %(columns)s") % {"columns": ", ".join(COLUMNS)}
        preview.errors.append(RowError(1, ", ".join(unknown), reason))
        return preview
    suppliers = {s.name.lower(): s.pk for s in Supplier.objects.all()}
    existing = {code: (price, str(currency)) for code, price, currency in SKU.objects.values_list("code", "list_price", "list_price_currency")}
    base = seller_base_currency()
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            preview.errors.append(RowError(number, "-", _("more than %(max)s rows; split the file") % {"max": MAX_ROWS}))
            break
        values = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        row = {"row": number}
        for column in REQUIRED:
            if not values.get(column):
                preview.errors.append(RowError(number, column, _("required")))
        code = values.get("code", "")
        if code:
            if len(code) > 64:
                preview.errors.append(RowError(number, "code", _("at most 64 characters")))
            if code in seen:
                preview.errors.append(RowError(number, "code", _("duplicate of row %(row)s") % {"row": seen[code]}))
            seen[code] = number
        for column, limit in TEXT_LIMITS.items():
            if len(values.get(column, "")) > limit:
                preview.errors.append(RowError(number, column, _("at most %(n)s characters") % {"n": limit}))
        row.update({k: values.get(k, "") for k in ("code", "title", "product", "category")})
        checks = {
            "weight_grams": lambda v: _int(v), "safety_stock_units": lambda v: _int(v),
            "default_unit_cost": lambda v: _decimal(v, places=4, maximum=Decimal("99999999.9999")),
            "safety_stock_percent": lambda v: _decimal(v, places=2, maximum=Decimal(100)),
            "list_price": lambda v: _decimal(v, places=2, maximum=Decimal("9999999999.99")),
        }
        for column, check in checks.items():
            if values.get(column):
                try:
                    row[column] = check(values[column])
                except ValueError as exc:
                    reason = _("%(reason)s, got “%(value)s”") % {"reason": exc, "value": values[column]}
                    preview.errors.append(RowError(number, column, reason))
        if "list_price" in row and not may_set_prices and _price_changes(existing.get(code), row["list_price"], base):
            preview.errors.append(RowError(number, "list_price", _("only %(roles)s may change list prices; leave the column as exported") % {
                "roles": duty_holders_label(Duty.MONEY_SETTINGS)}))
        currency = values.get("cost_currency", "").upper()
        if currency and currency not in settings.CURRENCIES:
            preview.errors.append(RowError(number, "cost_currency", _("must be one of %(choices)s") % {"choices": ", ".join(settings.CURRENCIES)}))
        row["cost_currency"] = currency or seller_base_currency()
        active = values.get("is_active", "").lower()
        if active and active not in _TRUE | _FALSE:
            preview.errors.append(RowError(number, "is_active", _("use true or false, got “%(value)s”") % {"value": values["is_active"]}))
        row["is_active"] = active not in _FALSE
        supplier = values.get("preferred_supplier", "")
        if supplier and supplier.lower() not in suppliers:
            preview.errors.append(RowError(number, "preferred_supplier", _("no supplier named “%(supplier)s”") % {"supplier": supplier}))
        row["supplier_id"] = suppliers.get(supplier.lower()) if supplier else None
        preview.rows.append(row)
        if code in existing:
            preview.updates += 1
        else:
            preview.creates += 1
    if not preview.rows and not preview.errors:
        preview.errors.append(RowError(2, "-", _("the file has no data rows")))
    return preview


def _price_changes(current: tuple | None, new: Decimal, base: str) -> bool:
    """Whether a list price of `new` (in the base currency) changes the stored (amount, currency)."""
    return current is None or current[0] is None or Decimal(current[0]) != new or current[1] != base


@transaction.atomic
def sku_csv_apply(*, text: str, actor=None, progress=None) -> ImportPreview:
    """Create or update every SKU in the file, or none: any error raises InventoryError with
    the first errors named, and nothing is written. Each list price it changes is audited with
    the actor. `progress(done, total)` is told every 100 rows (the worker's progress page)."""
    from accounts.services import audit_record_many

    preview = sku_csv_parse(text=text, actor=actor)
    if preview.errors:
        raise InventoryError("; ".join(str(e) for e in preview.errors[:10]))
    prices_before = {code: (price, str(currency)) for code, price, currency in
                     SKU.objects.filter(code__in=[r["code"] for r in preview.rows if "list_price" in r])
                     .values_list("code", "list_price", "list_price_currency")}  # for the audit
    base = seller_base_currency()
    price_changes = []
    categories = {c.name: c for c in Category.objects.all()}
    products = {(p.category_id, p.title): p for p in Product.objects.all()}
    changed = []
    for done, row in enumerate(preview.rows, start=1):
        if progress and done % 100 == 0:
            progress(done, len(preview.rows))
        category = categories.get(row["category"]) or Category.objects.create(name=row["category"])
        categories[category.name] = category
        product = products.get((category.pk, row["product"])) or Product.objects.create(title=row["product"], category=category)
        products[(category.pk, product.title)] = product
        defaults = {"title": row["title"], "product": product, "is_active": row["is_active"], "preferred_supplier_id": row["supplier_id"]}
        for column in ("weight_grams", "safety_stock_units", "safety_stock_percent"):
            if column in row:
                defaults[column] = row[column]
        if "default_unit_cost" in row:
            defaults["default_unit_cost"] = Money(row["default_unit_cost"], row["cost_currency"])
        if "list_price" in row:
            defaults["list_price"] = Money(row["list_price"], seller_base_currency())
        sku, _created = SKU.objects.update_or_create(code=row["code"], defaults=defaults)
        changed.append(sku.pk)
        if "list_price" in row and _price_changes(prices_before.get(row["code"]), row["list_price"], base):
            old_amount, old_currency = prices_before.get(row["code"], (None, base))
            price_changes.append((sku, {"sku": sku.code, "to": f"{row['list_price']} {base}",
                                        "from": f"{old_amount} {old_currency}" if old_amount is not None else "—"}))
    audit_record_many(actor=actor, verb="sku.list_price_changed", items=price_changes)
    sellable_changed_on_commit(changed)
    return preview
