"""The facts of many orders at once, in set-based SQL: the same waterfall as
`commissions.services.waterfall.order_profit` (the definition; read it first), line by line, so a
year of a big seller's orders is built in seconds rather than hours. Tests compare the two on
random orders, to the cent.

Per line: price = unit price × kept units − discount × kept ÷ ordered, half-up to the cent;
platform and payment fees = price × the rate of the fee schedule in force (the category's own,
else the channel's); commission by the same precedence as the waterfall and the accrual (platform
rate, margin plan, creator override, product rate, tier default, all as in force on the order
day); FIFO cost = what the shipped units' lots cost, split over a shipment's lines of that SKU by
kept units; shipping = each live shipment's label cost, else its zone's estimate, else the flat
estimate (one flat estimate when nothing is routed yet), split over its lines by price. Splits give
leftover cents to the largest remainders (ties: the earlier line), like `allocate`. Amounts in
another currency (price and the fees and commission reckoned from it; FIFO cost and shipping are
the seller's own, already in the base currency) are converted at the latest rate on or before the
day, each part half-up; net is then price less the parts, so the parts add up to it. A line whose currency has no rate
is kept with in_base = false and left out of the rollups."""

from commissions.services.rates import terms_ctes

FACTS_SQL = """
WITH o AS (
    SELECT o.id, o.channel, o.creator_id, o.currency, o.order_type, o.platform_pays_commission AS platform,
           o.ship_latitude::float8 AS lat, o.ship_longitude::float8 AS lon, (o.placed_at AT TIME ZONE %(tz)s)::date AS day
    FROM orders_order o WHERE o.id = ANY(%(ids)s) AND o.status <> 'cancelled'
),
l AS (
    SELECT ol.id AS line_id, ol.order_id, ol.sku_id, ol.quantity AS q, ol.quantity_returned AS qr, ol.unit_price, ol.discount,
           ol.commission_rate AS line_rate, s.product_id, p.category_id, s.list_price, s.list_price_currency,
           round(ol.unit_price * (ol.quantity - ol.quantity_returned) - ol.discount * (ol.quantity - ol.quantity_returned) / ol.quantity, 2) AS price,
           o.day, o.channel, o.currency, o.creator_id, o.order_type, o.platform
    FROM orders_orderline ol JOIN o ON o.id = ol.order_id
    JOIN inventory_sku s ON s.id = ol.sku_id JOIN inventory_product p ON p.id = s.product_id
    {only_lines}
),
sched_key AS (SELECT DISTINCT channel, category_id, day FROM l),
sched AS (
    SELECT k.channel, k.category_id, k.day, COALESCE(
        (SELECT f.id FROM commissions_feeschedule f WHERE k.category_id IS NOT NULL AND f.channel = k.channel AND f.category_id = k.category_id
           AND f.valid_from <= k.day AND (f.valid_to IS NULL OR f.valid_to >= k.day) ORDER BY f.valid_from DESC LIMIT 1),
        (SELECT f.id FROM commissions_feeschedule f WHERE f.channel = k.channel AND f.category_id IS NULL
           AND f.valid_from <= k.day AND (f.valid_to IS NULL OR f.valid_to >= k.day) ORDER BY f.valid_from DESC LIMIT 1)) AS schedule_id
    FROM sched_key k
),
ls AS (  -- each line with its schedule, and the order's schedule for shipping (its first line's that has one)
    SELECT l.*, sc.schedule_id,
           first_value(sc.schedule_id) OVER (PARTITION BY l.order_id ORDER BY sc.schedule_id IS NULL, l.line_id
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS order_schedule_id
    FROM l JOIN sched sc ON sc.channel = l.channel AND coalesce(sc.category_id, 0) = coalesce(l.category_id, 0) AND sc.day = l.day
),
sh AS (  -- live shipments' lines
    SELECT s.id AS shipment_id, s.order_id, s.status, s.shipping_cost, s.reservation_reference AS ref, s.warehouse_id,
           w.latitude::float8 AS wlat, w.longitude::float8 AS wlon, sl.id AS sl_id, sl.order_line_id AS line_id, sl.sku_id,
           sl.quantity, sl.quantity_returned
    FROM orders_shipment s JOIN o ON o.id = s.order_id
    JOIN orders_shipmentline sl ON sl.shipment_id = s.id JOIN warehouses_warehouse w ON w.id = s.warehouse_id
    WHERE s.status <> 'cancelled' {only_shipments}
),
-- FIFO cost: each shipped (reference, SKU)'s lots, split over its shipped lines by kept units
lot AS (
    SELECT k.ref, k.sku_id, round(sum(cl.unit_cost * (c.quantity - c.returned)), 2) AS total
    FROM (SELECT DISTINCT ref, sku_id FROM sh) k
    JOIN inventory_lotconsumption c ON c.reference = k.ref || ':' || k.sku_id
    JOIN inventory_costlot cl ON cl.id = c.lot_id
    {only_consumptions}
    GROUP BY k.ref, k.sku_id
),
cost_w AS (
    SELECT sh.line_id, sh.sl_id, lot.ref, lot.sku_id, lot.total, (sh.quantity - sh.quantity_returned)::numeric AS w
    FROM sh JOIN lot ON lot.ref = sh.ref AND lot.sku_id = sh.sku_id WHERE sh.status IN ('shipped', 'delivered')
),
cost_parts AS ({cost_alloc}),
cost AS (SELECT line_id, sum(part) AS cost FROM cost_parts GROUP BY line_id),
shipped AS (SELECT line_id, sum(quantity) AS units FROM sh WHERE status IN ('shipped', 'delivered') GROUP BY line_id),
-- Shipping: per live shipment (or one flat estimate for an order not routed yet), split by price
grp AS (
    SELECT sh.order_id, sh.shipment_id AS g, sh.sl_id AS pos, sh.line_id, sh.shipping_cost, sh.wlat, sh.wlon FROM sh
    UNION ALL
    SELECT l.order_id, 0, l.line_id, l.line_id, NULL, NULL, NULL FROM l WHERE NOT EXISTS (SELECT 1 FROM sh WHERE sh.order_id = l.order_id)
),
grp_cost AS (
    SELECT g.*, ls.price AS w,
           CASE WHEN g.shipping_cost IS NOT NULL THEN g.shipping_cost
                WHEN f.id IS NULL THEN 0
                WHEN cardinality(f.zone_estimates) = 8 AND g.wlat IS NOT NULL AND o.lat IS NOT NULL AND o.lon IS NOT NULL
                     THEN f.zone_estimates[{zone}]
                ELSE f.shipping_estimate END AS total
    FROM grp g JOIN ls ON ls.line_id = g.line_id JOIN o ON o.id = g.order_id
    LEFT JOIN commissions_feeschedule f ON f.id = ls.order_schedule_id
),
ship_parts AS ({ship_alloc}),
shipping AS (SELECT line_id, sum(part) AS shipping FROM ship_parts GROUP BY line_id),
-- Commission terms as in force on the order day
{terms}rated AS (
    SELECT ls.*, t.tier, f.marketplace_fee_rate AS fee_rate, f.payment_fee_rate, f.refund_admin_fee_rate, f.refund_admin_fee_cap,
           CASE WHEN t.discount IS NOT NULL AND ls.list_price IS NOT NULL AND ls.list_price_currency = ls.currency
                THEN round(ls.list_price * (1 - t.discount), 2) END AS plan_price,
           t.discount AS plan_discount, t.override, pr.rate AS product_rate, b.default_rate AS tier_rate
    FROM ls
    LEFT JOIN tier_on t ON t.creator_id = ls.creator_id AND t.day = ls.day
    LEFT JOIN policy_on po ON po.day = ls.day
    LEFT JOIN creators_tierband b ON b.policy_id = po.policy_id AND b.tier = t.tier
    LEFT JOIN product_rate pr ON pr.product_id = ls.product_id AND pr.day = ls.day AND ls.creator_id IS NOT NULL
    LEFT JOIN commissions_feeschedule f ON f.id = ls.schedule_id
),
parts AS (
    SELECT r.line_id, r.order_id, r.day, r.channel, r.creator_id, COALESCE(r.tier, '') AS tier, r.sku_id, r.currency,
           r.q - r.qr AS units, r.qr AS units_returned, r.price,
           CASE WHEN c.line_id IS NOT NULL AND COALESCE(sp.units, 0) >= r.q THEN round(c.cost, 2)
                WHEN r.q = r.qr THEN 0 END AS cost,
           round(r.price * COALESCE(r.fee_rate, 0), 2) AS platform_fee,
           CASE WHEN r.platform AND r.line_rate IS NOT NULL THEN round(r.price * r.line_rate, 2)
                WHEN r.creator_id IS NULL THEN 0
                WHEN r.plan_discount IS NOT NULL AND r.order_type = 'wholesale' THEN 0
                WHEN r.plan_price IS NOT NULL THEN greatest(r.price - r.plan_price * (r.q - r.qr), 0)
                ELSE round(r.price * COALESCE(r.override, r.product_rate, r.tier_rate, 0), 2) END AS commission,
           round(r.price * COALESCE(r.payment_fee_rate, 0), 2) AS payment_fee,
           COALESCE(s.shipping, 0) AS shipping,
           CASE WHEN r.qr > 0 AND r.schedule_id IS NOT NULL AND r.refund_admin_fee_rate <> 0 THEN
                least(round(r.unit_price * r.qr * r.fee_rate * r.refund_admin_fee_rate, 2), COALESCE(r.refund_admin_fee_cap, 'Infinity'::numeric))
                ELSE 0 END AS refund_admin_fee,
           r.line_id = min(r.line_id) OVER (PARTITION BY r.order_id) AS first_line,
           r.line_id = min(r.line_id) OVER (PARTITION BY r.order_id, r.sku_id) AS first_of_sku
    FROM rated r LEFT JOIN cost c ON c.line_id = r.line_id LEFT JOIN shipped sp ON sp.line_id = r.line_id
    LEFT JOIN shipping s ON s.line_id = r.line_id
),
fx AS (
    SELECT k.currency, k.day, CASE WHEN k.currency = %(base)s THEN 1 ELSE
        (SELECT x.rate FROM inventory_exchangerate x WHERE x.currency = k.currency AND x.rate_date <= k.day ORDER BY x.rate_date DESC LIMIT 1) END AS rate
    FROM (SELECT DISTINCT currency, day FROM parts) k
),
conv AS (
    SELECT p.line_id, p.order_id, p.day, p.channel, p.creator_id, p.tier, p.sku_id, p.first_line, p.first_of_sku, p.units, p.units_returned,
           fx.rate IS NOT NULL AS in_base,
           {converted}
    FROM parts p JOIN fx ON fx.currency = p.currency AND fx.day = p.day
),
warehouse AS (  -- where most of each line's units ship from (ties: the lower id)
    SELECT DISTINCT ON (line_id) line_id, warehouse_id FROM (
        SELECT line_id, warehouse_id, sum(quantity) AS units FROM sh GROUP BY line_id, warehouse_id) u
    ORDER BY line_id, units DESC, warehouse_id
)
INSERT INTO bi_orderfact (line_id, order_id, day, channel, creator_id, tier, sku_id, warehouse_id, first_line, first_of_sku, in_base, units,
                          units_returned,
                          gmv, cost, platform_fee, commission, payment_fee, shipping, refund_admin_fee, net, computed_at)
SELECT c.line_id, c.order_id, c.day, c.channel, c.creator_id, c.tier, c.sku_id, w.warehouse_id, c.first_line, c.first_of_sku, c.in_base, c.units,
       c.units_returned,
       c.gmv, c.cost, c.platform_fee, c.commission, c.payment_fee, c.shipping, c.refund_admin_fee,
       c.gmv - c.cost - c.platform_fee - c.commission - c.payment_fee - c.shipping - c.refund_admin_fee, now()
FROM conv c LEFT JOIN warehouse w ON w.line_id = c.line_id
"""


def _alloc_sql(source: str, key_cols: tuple[str, ...], pos: str) -> str:
    """Largest-remainder split of each group's `total` (rounded to the cent first) by `w`, in order of `pos`,
    as `waterfall.allocate`: shares rounded down, leftover cents to the largest remainders, ties to the earlier."""
    key = ", ".join(key_cols)
    return f"""
    SELECT line_id, part0 + CASE WHEN rk <= abs(lft) THEN (CASE WHEN lft > 0 THEN 0.01 ELSE -0.01 END) ELSE 0 END AS part FROM (
        SELECT line_id, part0, row_number() OVER (PARTITION BY {key} ORDER BY exact - part0 DESC, pos) AS rk,
               round((total - sum(part0) OVER (PARTITION BY {key})) / 0.01)::int AS lft
        FROM (
            SELECT line_id, pos, total, {key}, total * ww / wsum AS exact, trunc(total * ww / wsum, 2) AS part0
            FROM (
                SELECT line_id, {pos} AS pos, round(total, 2) AS total, {key},
                       CASE WHEN sum(w) OVER k = 0 THEN 1 ELSE w END AS ww,
                       CASE WHEN sum(w) OVER k = 0 THEN count(*) OVER k ELSE sum(w) OVER k END AS wsum
                FROM {source} WINDOW k AS (PARTITION BY {key})
            ) y
        ) z
    ) a"""


def zone_sql(lat: str, lon: str, wlat: str, wlon: str) -> str:
    """The shipping zone (1–8) from the great-circle distance between two points given as float8 SQL
    expressions, as waterfall.shipping_zone: miles = km ÷ 1.609344; zone 1 to 50, … 8 beyond 1,800."""
    km = (f"2 * 6371.0088 * asin(sqrt(power(sin(radians({lat} - {wlat}) / 2), 2) + "
          f"cos(radians({wlat})) * cos(radians({lat})) * power(sin(radians({lon} - {wlon}) / 2), 2)))")
    # width_bucket counts the limits L with −miles ≥ −L, i.e. miles ≤ L: 7 of them in zone 1, none in zone 8.
    return f"(8 - width_bucket(-({km}) / 1.609344, ARRAY[-1800, -1400, -1000, -600, -300, -150, -50]::float8[]))"


# Price and what is reckoned from it are in the order's currency; FIFO cost (landed, per lot) and
# shipping (label cost, fee schedule) are the seller's own, already in the base currency.
_CONVERTED = ",\n           ".join(
    [f"CASE WHEN fx.rate IS NULL OR fx.rate = 1 THEN p.{name} ELSE round(p.{name} / fx.rate, 2) END AS {alias}"
     for name, alias in (("price", "gmv"), ("platform_fee", "platform_fee"), ("commission", "commission"), ("payment_fee", "payment_fee"),
                         ("refund_admin_fee", "refund_admin_fee"))] + ["p.cost AS cost", "p.shipping AS shipping"])

# For a batch of orders, every big table is reached through an index on the batch's own keys (the
# planner runs the statement with hash joins, which would otherwise read those tables whole); a
# rebuild of everything reads them whole on purpose.
_BATCH_FILTERS = {
    "{only_lines}": "WHERE ol.order_id = ANY(%(ids)s)",
    "{only_shipments}": ("AND s.order_id = ANY(%(ids)s) "
                         "AND sl.shipment_id = ANY(ARRAY(SELECT id FROM orders_shipment WHERE order_id = ANY(%(ids)s)))"),
    "{only_consumptions}": "WHERE c.reference = ANY(ARRAY(SELECT DISTINCT ref || ':' || sku_id FROM sh))",
}


def facts_sql(*, batch: bool) -> str:
    sql = SQL
    for placeholder, condition in _BATCH_FILTERS.items():
        sql = sql.replace(placeholder, condition if batch else "")
    return sql


SQL = (FACTS_SQL
       .replace("{cost_alloc}", _alloc_sql("cost_w", ("ref", "sku_id"), "sl_id"))
       .replace("{ship_alloc}", _alloc_sql("grp_cost", ("order_id", "g"), "pos"))
       .replace("{zone}", zone_sql("o.lat", "o.lon", "g.wlat", "g.wlon"))
       .replace("{terms}", terms_ctes("l"))
       .replace("{converted}", _CONVERTED))
