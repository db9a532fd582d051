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
def warehouse_fulfilment_set(*, warehouse_id: int, fulfilment: str, threepl_url: str = "", threepl_api_key: str = "",
                             actor=None) -> Warehouse:
    """Who works this warehouse's shipments: our team in Fanout's queue, or a 3PL through its API
    (address and key required). The address must pass the outbound guard (erp/outbound.py). An
    empty key keeps the stored one only while the address stays on the host the key was entered
    for: a key never goes to a host it was not entered for. Shipments already created stay where
    they are; new ones follow the new setting. Audited with the actor (never the key)."""
    from accounts.services import audit_record
    from erp.outbound import endpoint_host, outbound_url_problem
    from warehouses.models import Fulfilment

    warehouse = Warehouse.objects.select_for_update().get(pk=warehouse_id)
    before = {"fulfilment": warehouse.fulfilment, "url": warehouse.threepl_url, "key_host": warehouse.threepl_key_host}
    warehouse.fulfilment = fulfilment
    key_entered = bool((threepl_api_key or "").strip())
    if fulfilment == Fulfilment.THREEPL:
        warehouse.threepl_url = (threepl_url or warehouse.threepl_url).strip()
        host = endpoint_host(warehouse.threepl_url)
        errors = {}
        if not warehouse.threepl_url:
            errors["threepl_url"] = _("enter the 3PL's API address")
        elif problem := outbound_url_problem(warehouse.threepl_url):
            errors["threepl_url"] = problem
        if key_entered:
            warehouse.threepl_api_key, warehouse.threepl_key_host = threepl_api_key.strip(), host
        elif not warehouse.threepl_api_key:
            errors["threepl_api_key"] = _("enter the 3PL's API key")
        elif warehouse.threepl_key_host != host and "threepl_url" not in errors:
            errors["threepl_api_key"] = _("the address is on a new host (%(host)s); enter the 3PL's API key for it again "
                                          "(the stored key was entered for %(old)s and is never sent anywhere else)") % {
                "host": host, "old": warehouse.threepl_key_host or _("another address")}
        if errors:
            raise ValidationError(errors)
    warehouse.full_clean()
    warehouse.save(update_fields=["fulfilment", "threepl_url", "threepl_api_key", "threepl_key_host"])
    after = {"fulfilment": warehouse.fulfilment, "url": warehouse.threepl_url, "key_host": warehouse.threepl_key_host}
    if after != before or key_entered:
        audit_record(actor=actor, verb="warehouse.fulfilment_changed", target=warehouse, data={
            "code": warehouse.code, "fulfilment": warehouse.fulfilment, "from_url": before["url"], "to_url": warehouse.threepl_url,
            "key": "replaced" if key_entered else "kept"})
    return warehouse
