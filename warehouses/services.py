from decimal import Decimal

import zipcodes
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from djmoney.money import Money

from warehouses.models import Warehouse


def zip_location(zip_code: str) -> dict:
    """City, state and coordinates of a US ZIP code from the offline `zipcodes` data set."""
    try:
        matches = zipcodes.matching(zip_code.strip()[:5])
    except (TypeError, ValueError):
        matches = []
    if not matches:
        raise ValidationError({"zip_code": _("unknown US ZIP code %(zip)s") % {"zip": repr(zip_code)}})
    m = matches[0]
    return {"city": m["city"], "state": m["state"], "latitude": Decimal(m["lat"]), "longitude": Decimal(m["long"])}


@transaction.atomic
def warehouse_create(*, code: str, name: str, zip_code: str, address_line: str = "", storage_cost_per_unit_month: Money | None = None) -> Warehouse:
    location = zip_location(zip_code)
    warehouse = Warehouse(
        code=code.strip().upper(), name=name.strip(), zip_code=zip_code.strip(), address_line=address_line,
        storage_cost_per_unit_month=storage_cost_per_unit_month or Money(0, "USD"), **location,
    )
    warehouse.full_clean()
    warehouse.save()
    return warehouse


@transaction.atomic
def warehouse_delete(*, warehouse_id: int) -> None:
    """Delete a warehouse that never held stock; one that holds stock must be emptied first,
    and one with history is deactivated instead (the ledger keeps pointing at it)."""
    from inventory.models import Stock, StockMove

    warehouse = Warehouse.objects.select_for_update().get(pk=warehouse_id)
    held = Stock.objects.filter(warehouse=warehouse).exclude(on_hand=0, reserved=0)
    if held.exists():
        units = sum(s.on_hand for s in held)
        raise ValidationError(
            _("%(warehouse)s still holds %(units)s unit(s); transfer or adjust them out first")
            % {"warehouse": warehouse.code, "units": units}
        )
    if StockMove.objects.filter(warehouse=warehouse).exists():
        warehouse.is_active = False
        warehouse.save(update_fields=["is_active"])
        return
    Stock.objects.filter(warehouse=warehouse).delete()
    warehouse.delete()
