"""Nearest-warehouse routing. Distance is great-circle (haversine) from the ship-to ZIP code to
each active warehouse. The nearest warehouse that can fill every line wins; if none can, the
order is split across the fewest warehouses (ties: the smallest total distance), each SKU taken
from the nearest of them first; if even all of them together are short, there is no plan."""
import math
from dataclasses import dataclass, field
from itertools import combinations

from inventory.models import Stock
from warehouses.models import Warehouse

EARTH_RADIUS_KM = 6371.0088
MAX_SPLIT = 4  # never split one order over more warehouses than this


def great_circle_km(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lon2) - float(lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@dataclass
class Part:
    warehouse: Warehouse
    distance_km: float
    lines: dict[int, int] = field(default_factory=dict)  # sku_id -> quantity


def warehouses_by_distance(latitude, longitude) -> list[tuple[Warehouse, float]]:
    found = [(w, great_circle_km(latitude, longitude, w.latitude, w.longitude)) for w in Warehouse.objects.filter(is_active=True)]
    return sorted(found, key=lambda pair: (pair[1], pair[0].code))


def route_plan(*, lines: dict[int, int], latitude=None, longitude=None, ranked: list[tuple[Warehouse, float]] | None = None,
               exclude: set[int] = frozenset()) -> list[Part] | None:
    """The shipments that would fill `lines` (sku_id -> quantity) best, or None when stock is short.
    `ranked` (from warehouses_by_distance) saves looking the warehouses up again."""
    if ranked is None:
        ranked = warehouses_by_distance(latitude, longitude)
    ranked = [(w, d) for w, d in ranked if w.pk not in exclude]
    free = {(s.sku_id, s.warehouse_id): s.on_hand - s.reserved
            for s in Stock.objects.filter(sku_id__in=list(lines), warehouse_id__in=[w.pk for w, _d in ranked])}
    for warehouse, distance in ranked:
        if all(free.get((sku, warehouse.pk), 0) >= qty for sku, qty in lines.items()):
            return [Part(warehouse, distance, dict(lines))]
    useful = [(w, d) for w, d in ranked if any(free.get((sku, w.pk), 0) > 0 for sku in lines)]
    for size in range(2, min(len(useful), MAX_SPLIT) + 1):
        best = None
        for combo in combinations(useful, size):
            if not all(sum(free.get((sku, w.pk), 0) for w, _d in combo) >= qty for sku, qty in lines.items()):
                continue
            parts = _split(lines, combo, free)
            if len(parts) < size:
                continue  # a smaller combination covers it; it was tried already
            total = sum(p.distance_km for p in parts)
            if best is None or total < best[0]:
                best = (total, parts)
        if best:
            return best[1]
    return None


def _split(lines: dict[int, int], combo, free) -> list[Part]:
    parts = {w.pk: Part(w, d) for w, d in combo}
    for sku, qty in lines.items():
        left = qty
        for w, _d in combo:  # nearest first
            take = min(left, free.get((sku, w.pk), 0))
            if take > 0:
                parts[w.pk].lines[sku] = take
                left -= take
            if not left:
                break
    return [p for p in parts.values() if p.lines]
