"""fanout_reserve(): the whole reservation in one statement, so a hot SKU's row lock is held for
microseconds and a reservation costs one round trip. Same rules and lock order as
inventory/services (allocations by id → SKU pool rows by id → stock rows); every counter change
is a conditional UPDATE, and CheckConstraints back them up. On any short line it raises
'fanout_insufficient_stock' with the short SKU ids in DETAIL, which rolls everything back."""
from django.db import migrations

from inventory.services.levels import POOL_FREE_SQL

CREATE = f"""
CREATE OR REPLACE FUNCTION fanout_reserve(
    p_reference text, p_warehouse bigint, p_kind text, p_ref text, p_skus bigint[], p_qty int[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_res bigint;
    v_now timestamptz := now();
    v_taken int[];
    v_short bigint[] := '{{}}';
    v_i int;
    v_n int;
    v_t int;
    v_hit int;
BEGIN
    PERFORM 1 FROM warehouses_warehouse WHERE id = p_warehouse AND is_active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'fanout_bad_warehouse' USING DETAIL = p_warehouse::text;
    END IF;

    INSERT INTO inventory_reservation (reference, warehouse_id, holder_kind, holder_ref, status, created_at)
    VALUES (p_reference, p_warehouse, p_kind, p_ref, 'active', v_now)
    ON CONFLICT (reference) DO NOTHING RETURNING id INTO v_res;
    IF v_res IS NULL THEN
        SELECT id INTO v_res FROM inventory_reservation WHERE reference = p_reference;
        RETURN -v_res;  -- a replay: nothing changed
    END IF;

    -- Quota first (allocation rows in id order), then the counters, SKU by SKU in id order.
    v_taken := array_fill(0, ARRAY[cardinality(p_skus)]);
    IF EXISTS (SELECT 1 FROM inventory_allocation WHERE sku_id = ANY(p_skus) AND holder_kind = p_kind AND holder_ref = p_ref) THEN
    WITH v AS (SELECT s.sku_id, s.n, s.ord FROM unnest(p_skus, p_qty) WITH ORDINALITY AS s(sku_id, n, ord)),
    old AS (
        SELECT a.id, a.used, a.quota, v.n, v.ord FROM inventory_allocation a JOIN v ON v.sku_id = a.sku_id
        WHERE a.holder_kind = p_kind AND a.holder_ref = p_ref ORDER BY a.id FOR UPDATE OF a
    ), upd AS (
        UPDATE inventory_allocation a SET used = old.used + LEAST(old.n, old.quota - old.used)
        FROM old WHERE a.id = old.id RETURNING old.ord, LEAST(old.n, old.quota - old.used) AS taken
    )
    SELECT array_agg(COALESCE(upd.taken, 0) ORDER BY g.i) INTO v_taken
    FROM generate_series(1, cardinality(p_skus)) AS g(i) LEFT JOIN upd ON upd.ord = g.i;
    END IF;

    -- Rows nobody else touches go in before the hot counters, so their locks are held only for
    -- the counter updates and the commit. A short line rolls these back with everything else.
    INSERT INTO inventory_reservationline (reservation_id, sku_id, quantity, from_quota)
    SELECT v_res, s.sku_id, s.n, v_taken[s.ord] FROM unnest(p_skus, p_qty) WITH ORDINALITY AS s(sku_id, n, ord);
    INSERT INTO inventory_stockmove (sku_id, warehouse_id, kind, on_hand_delta, reserved_delta, reference, reason, created_at)
    SELECT s.sku_id, p_warehouse, 'reserve', 0, s.n, p_reference, '', v_now FROM unnest(p_skus, p_qty) AS s(sku_id, n);

    FOR v_i IN 1 .. cardinality(p_skus) LOOP
        v_n := p_qty[v_i];
        v_t := v_taken[v_i];
        WITH p AS (
            UPDATE inventory_sku SET reserved = reserved + v_n, quota_open = quota_open - v_t
            WHERE id = p_skus[v_i] AND is_active AND {POOL_FREE_SQL} >= v_n
              AND ({POOL_FREE_SQL} - v_n >= quota_open - v_t OR v_t = v_n)
            RETURNING id
        ), s AS (
            UPDATE inventory_stock SET reserved = reserved + v_n
            WHERE sku_id IN (SELECT id FROM p) AND warehouse_id = p_warehouse AND on_hand - reserved >= v_n
            RETURNING id
        )
        SELECT count(*) INTO v_hit FROM s;
        IF v_hit = 0 THEN
            v_short := v_short || p_skus[v_i];
        END IF;
    END LOOP;
    IF cardinality(v_short) > 0 THEN
        RAISE EXCEPTION 'fanout_insufficient_stock' USING DETAIL = array_to_string(v_short, ',');
    END IF;

    RETURN v_res;
END
$$;
"""

DROP = "DROP FUNCTION IF EXISTS fanout_reserve(text, bigint, text, text, bigint[], int[]);"


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
