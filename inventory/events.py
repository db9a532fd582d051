"""What other apps may listen to. `sellable_changed` is sent after commit with the ids of SKUs
whose sellable quantity may have changed (reservations, releases, shipments, receipts,
adjustments, returns, allocation and safety-stock changes), so the channel stock sync can push
the new numbers without inventory knowing that channels exist."""
from functools import partial

from django.db import transaction
from django.dispatch import Signal

sellable_changed = Signal()  # kwargs: sku_ids (sorted list of int), fell (bool: it can only have gone down)


def sellable_changed_on_commit(sku_ids, *, fell: bool = False) -> None:
    """`fell=True` when the change can only have lowered the sellable quantity (a new
    reservation): listeners waiting for stock to free up have nothing to do then."""
    ids = sorted(set(sku_ids))
    if ids:
        transaction.on_commit(partial(sellable_changed.send, sender="inventory", sku_ids=ids, fell=fell))
