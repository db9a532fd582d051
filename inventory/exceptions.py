from dataclasses import dataclass

from django.utils.translation import gettext as _


class InventoryError(Exception):
    """A refused stock operation; the message names what was wrong and is shown as is."""


@dataclass(frozen=True)
class Shortage:
    sku_code: str
    requested: int
    available: int


class InsufficientStock(InventoryError):
    """Raised once per operation with every short line, so nothing is half-reserved."""

    def __init__(self, shortages: list[Shortage]):
        self.shortages = shortages
        parts = [
            _("%(sku)s: asked %(requested)s, %(available)s available") % {"sku": s.sku_code, "requested": s.requested, "available": s.available}
            for s in shortages
        ]
        super().__init__(_("Not enough stock. ") + "; ".join(parts))
