"""Recompute stock from the ledger and lots and list every difference (there must be none)."""
from django.db import connection


def stock_audit_differences() -> list[str]:
    problems = []
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT st.sku_id, st.warehouse_id, st.on_hand, st.reserved, COALESCE(m.on_hand, 0), COALESCE(m.reserved, 0)
            FROM inventory_stock st
            FULL OUTER JOIN (
                SELECT sku_id, warehouse_id, SUM(on_hand_delta) AS on_hand, SUM(reserved_delta) AS reserved
                FROM inventory_stockmove GROUP BY sku_id, warehouse_id
            ) m ON m.sku_id = st.sku_id AND m.warehouse_id = st.warehouse_id
            WHERE COALESCE(st.on_hand, 0) <> COALESCE(m.on_hand, 0) OR COALESCE(st.reserved, 0) <> COALESCE(m.reserved, 0)
        """)
        for sku, wh, on_hand, reserved, l_on_hand, l_reserved in cursor.fetchall():
            problems.append(f"stock sku={sku} warehouse={wh}: level {on_hand}/{reserved} but ledger says {l_on_hand}/{l_reserved} (on hand/reserved)")
        cursor.execute("""
            SELECT s.id, s.code, s.on_hand, s.reserved, COALESCE(SUM(st.on_hand), 0), COALESCE(SUM(st.reserved), 0)
            FROM inventory_sku s LEFT JOIN inventory_stock st ON st.sku_id = s.id
            GROUP BY s.id HAVING s.on_hand <> COALESCE(SUM(st.on_hand), 0) OR s.reserved <> COALESCE(SUM(st.reserved), 0)
        """)
        for _id, code, on_hand, reserved, w_on_hand, w_reserved in cursor.fetchall():
            problems.append(f"pool {code}: {on_hand}/{reserved} but warehouses add up to {w_on_hand}/{w_reserved}")
        cursor.execute("""
            SELECT st.sku_id, st.warehouse_id, st.on_hand, COALESCE(SUM(l.quantity_remaining), 0)
            FROM inventory_stock st LEFT JOIN inventory_costlot l ON l.sku_id = st.sku_id AND l.warehouse_id = st.warehouse_id
            GROUP BY st.sku_id, st.warehouse_id, st.on_hand HAVING st.on_hand <> COALESCE(SUM(l.quantity_remaining), 0)
        """)
        for sku, wh, on_hand, lots in cursor.fetchall():
            problems.append(f"lots sku={sku} warehouse={wh}: {on_hand} on hand but lots hold {lots}")
        cursor.execute("""
            SELECT s.code, s.quota_open, COALESCE(SUM(a.quota - a.used), 0) FROM inventory_sku s
            LEFT JOIN inventory_allocation a ON a.sku_id = s.id GROUP BY s.id HAVING s.quota_open <> COALESCE(SUM(a.quota - a.used), 0)
        """)
        for code, open_, alloc in cursor.fetchall():
            problems.append(f"quota {code}: pool says {open_} open, allocations say {alloc}")
        cursor.execute("""
            SELECT st.sku_id, st.warehouse_id, st.reserved, COALESCE(r.q, 0) FROM inventory_stock st
            LEFT JOIN (SELECT l.sku_id, r.warehouse_id, SUM(l.quantity) AS q FROM inventory_reservationline l
                       JOIN inventory_reservation r ON r.id = l.reservation_id WHERE r.status = 'active'
                       GROUP BY l.sku_id, r.warehouse_id) r ON r.sku_id = st.sku_id AND r.warehouse_id = st.warehouse_id
            WHERE st.reserved <> COALESCE(r.q, 0)
        """)
        for sku, wh, reserved, active in cursor.fetchall():
            problems.append(f"reservations sku={sku} warehouse={wh}: {reserved} reserved but active reservations hold {active}")
    return problems
