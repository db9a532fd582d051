from decimal import Decimal

import zipcodes
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from djmoney.money import Money

from warehouses.models import Warehouse


def zip_location(zip_code: str) -> dict:
    """City, state and coordinates of a US ZIP code from the offline `zipcodes` data set."""
    code = zip_code.strip()[:5]
    # The library panics (a Rust PanicException, not a ValueError) on text that is not ASCII.
    matches = zipcodes.matching(code) if len(code) == 5 and code.isascii() and code.isdigit() else []
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


@transaction.atomic
def warehouse_fulfilment_set(*, warehouse_id: int, fulfilment: str, threepl_url: str = "", threepl_api_key: str = "") -> Warehouse:
    """Who works this warehouse's shipments: our team in Fanout's queue, or a 3PL through its API
    (address and key required; an empty key keeps the stored one). Shipments already created
    stay where they are; new ones follow the new setting."""
    from warehouses.models import Fulfilment

    warehouse = Warehouse.objects.select_for_update().get(pk=warehouse_id)
    warehouse.fulfilment = fulfilment
    if fulfilment == Fulfilment.THREEPL:
        warehouse.threepl_url = (threepl_url or warehouse.threepl_url).strip()
        warehouse.threepl_api_key = (threepl_api_key or warehouse.threepl_api_key).strip()
        errors = {}
        if not warehouse.threepl_url:
            errors["threepl_url"] = _("enter the 3PL's API address")
        if not warehouse.threepl_api_key:
            errors["threepl_api_key"] = _("enter the 3PL's API key")
        if errors:
            raise ValidationError(errors)
    warehouse.full_clean()
    warehouse.save(update_fields=["fulfilment", "threepl_url", "threepl_api_key"])
    return warehouse
