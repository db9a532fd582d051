from inventory.services.allocations import allocation_set
from inventory.services.movements import stock_adjust, stock_receive, stock_return, stock_transfer
from inventory.services.reservations import reservation_consume, reservation_create, reservation_release

__all__ = [
    "allocation_set", "reservation_consume", "reservation_create", "reservation_release",
    "stock_adjust", "stock_receive", "stock_return", "stock_transfer",
]
