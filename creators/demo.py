"""Demo creators: 48 creators and distributors with a year of attributed orders, content stats,
samples, contacts, last month's tier review waiting for decisions, and a supply queue on a scarce
SKU. Idempotent (skipped once creators exist). Orders are written with COPY: about 100k rows."""
import random
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.utils import timezone

from accounts.models import User
from creators.models import ContactMethod, ContentStats, Creator, CreatorKind, CreatorStatus, TierChange
from creators.selectors import this_month
from creators.services.care import contact_log_add, sample_send
from creators.services.metrics import add_months, metrics_refresh, month_end
from creators.services.records import creator_save
from creators.services.supply import supply_request_submit
from creators.services.tiers import tier_review_run
from erp.l10n import business_day_start, business_today

NICHES = ["Skincare", "Makeup", "Haircare", "Lifestyle", "Wellness"]
FIRST = ["Mia", "Zoe", "Lily", "Ava", "Chloe", "Emma", "Ruby", "Nora", "Ivy", "Luna", "Jade", "Cora", "Ella", "Maya", "Aria", "Hana"]
LAST = ["Glow", "Beauty", "Skin", "Looks", "Daily", "Lab", "Vibes", "Studio"]
MONTHS = 12


def _plan(rng):
    """(tier, status, kind, monthly orders for the last 12 months, oldest first)."""
    plans = []
    for i in range(3):  # S: big and growing
        base = rng.randrange(900, 1200)
        plans.append(("S", CreatorStatus.ACTIVE, CreatorKind.CREATOR, [int(base * (0.85 + 0.03 * m) + rng.randrange(-40, 40)) for m in range(MONTHS)]))
    for i in range(9):  # A: two of them are crossing 1,000 (promotion proposals)
        base = rng.randrange(520, 820)
        growth = 0.09 if i < 2 else 0.0
        plans.append(("A", CreatorStatus.ACTIVE, CreatorKind.DISTRIBUTOR if i % 4 == 0 else CreatorKind.CREATOR,
                      [int(base * (1 + growth * m) + rng.randrange(-30, 30)) for m in range(MONTHS)]))
    for i in range(32):  # B: most small; a few fading (probation/retirement proposals)
        fading = i < 3
        base = rng.randrange(40, 380)
        series = [max(int(base * (1 - 0.05 * m)) if fading else base + rng.randrange(-60, 60), 0) for m in range(MONTHS)]
        if fading:
            series[-4:] = [series[-4], series[-4], series[-4] - 3, series[-4] - 5]
        status = CreatorStatus.PROBATION if i == 0 else CreatorStatus.ACTIVE
        plans.append(("B", status, CreatorKind.WHOLESALE if i % 9 == 5 else CreatorKind.CREATOR, series))
    for i in range(4):  # prospects: no orders yet
        plans.append(("", CreatorStatus.PROSPECT, CreatorKind.CREATOR, [0] * MONTHS))
    return plans


def _copy_orders(rows_orders, rows_lines) -> None:
    with connection.cursor() as cursor:
        with cursor.copy("COPY orders_order (id, channel, external_id, order_type, creator_id, platform_pays_commission, status, currency, "
                         "placed_at, created_at) FROM STDIN") as copy:
            for row in rows_orders:
                copy.write_row(row)
        with cursor.copy("COPY orders_orderline (order_id, sku_id, quantity, unit_price, unit_price_currency, discount, discount_currency, "
                         "quantity_returned, commission_rate, commission, commission_currency) FROM STDIN") as copy:
            for row in rows_lines:
                copy.write_row(row)


def demo_creators_seed(*, seed: int = 11) -> bool:
    from commissions.models import MarginPlan
    from inventory.models import SKU
    from warehouses.models import Warehouse

    if Creator.objects.exists():
        return False
    rng = random.Random(seed)
    owners = list(User.objects.filter(role__in=["creator_manager", "manager"]).order_by("pk"))
    skus = list(SKU.objects.filter(is_active=True).order_by("pk"))
    if not skus:
        return False
    prices = {s.pk: Decimal(s.list_price.amount) if s.list_price is not None else
              (Decimal(s.default_unit_cost.amount) * Decimal("2.6")).quantize(Decimal("0.01")) + Decimal("4.99") for s in skus}
    this = this_month()
    months = [add_months(this, -(MONTHS - 1 - i)) for i in range(MONTHS)]
    today = business_today()
    start_of_history = months[0]
    creators = []
    used = set()
    bands = {"S": (20, 25), "A": (15, 20), "B": (10, 15), "": (10, 10)}
    for n, (tier, status, kind, series) in enumerate(_plan(rng)):
        low, high = bands[tier]
        # A third of the creators negotiated their own rate within their band.
        override = (Decimal(rng.randrange(low * 2, high * 2 + 1)) / 200).quantize(Decimal("0.0001")) if tier and rng.random() < 0.35 else None
        while True:
            handle = f"{rng.choice(FIRST).lower()}{rng.choice(['.', '_', ''])}{rng.choice(LAST).lower()}"
            if handle not in used:
                used.add(handle)
                break
        followers = int(rng.lognormvariate(11, 1.1))  # from a few thousand to a few million: more followers ≠ more sales
        creator = creator_save(data={
            "handle": handle, "display_name": handle.replace(".", " ").replace("_", " ").title(), "kind": kind, "niche": rng.choice(NICHES),
            "followers": followers, "country": "US", "email": f"{handle.replace('_', '.')}@creators.example",
            "phone": f"+1 555 01{n:02d}", "messaging_handle": f"Instagram @{handle}", "start_date": start_of_history - timedelta(days=rng.randrange(0, 200)),
            "owner": owners[n % len(owners)] if owners else None, "tags": rng.sample(["live", "video", "unboxing", "tutorial", "LA", "NY"], 2),
            "platform_creator_id": f"7{rng.randrange(10**17, 10**18)}" if kind == CreatorKind.CREATOR else "",
            "commission_rate_override": override,
        }, initial_tier=tier, initial_status=status)
        # The creator has worked with the seller since their start date: their first tier dates from then, so
        # the year of orders below earns that tier's commission (a tier dated today would leave the history with none).
        TierChange.objects.filter(creator=creator, effective_from__gt=creator.start_date).update(effective_from=creator.start_date)
        if kind != CreatorKind.CREATOR:  # distributors buy at 30% off list (their wholesale orders below are priced so)
            MarginPlan.objects.create(creator=creator, discount_rate=Decimal("0.30"), valid_from=creator.start_date, note="Distributor agreement")
        creators.append((creator, series))
    with connection.cursor() as cursor:
        total = sum(sum(series) for _c, series in creators)
        cursor.execute("SELECT nextval(pg_get_serial_sequence('orders_order', 'id')) FROM generate_series(1, %s)", [total])
        ids = [r[0] for r in cursor.fetchall()]
    rows_orders, rows_lines = [], []
    now = timezone.now()
    popular = skus[:8]
    next_id = iter(ids)
    rates = {"S": Decimal("0.20"), "A": Decimal("0.15"), "B": Decimal("0.10"), "": Decimal("0.10")}
    for creator, series in creators:
        # Distributors earn their margin by buying at the plan price, not a commission.
        rate = (creator.commission_rate_override or rates[creator.tier]) if creator.kind == CreatorKind.CREATOR else Decimal(0)
        platform_paid = creator.kind == CreatorKind.CREATOR
        for month, count in zip(months, series):
            last_day = min(month_end(month), today)
            days = (last_day - month).days + 1
            for k in range(count):
                order_id = next(next_id)
                day = month + timedelta(days=rng.randrange(days))
                placed = business_day_start(day) + timedelta(seconds=rng.randrange(86400))
                if placed > now:
                    placed = now - timedelta(minutes=rng.randrange(1, 600))
                age = (now - placed).days
                status = "completed" if age > 20 else ("delivered" if age > 7 else rng.choice(["shipped", "packed", "reserved"]))
                if rng.random() < 0.015:
                    status = "cancelled"
                channel = "tiktok_shop" if creator.kind == CreatorKind.CREATOR else "wholesale"
                rows_orders.append((order_id, channel, f"{channel[:2].upper()}{order_id:09d}", "retail" if channel == "tiktok_shop" else "wholesale",
                                    creator.pk, platform_paid, status, "USD", placed, placed))
                sku = rng.choice(popular) if rng.random() < 0.7 else rng.choice(skus)
                qty = 1 if channel == "tiktok_shop" else rng.randrange(6, 24)
                price = prices[sku.pk] if channel == "tiktok_shop" else (prices[sku.pk] * Decimal("0.7")).quantize(Decimal("0.01"), ROUND_HALF_UP)
                discount = Decimal("0.00") if rng.random() < 0.8 else Decimal("2.00")
                commission = ((price * qty - discount) * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
                returned = 1 if status == "completed" and rng.random() < 0.04 else 0
                rows_lines.append((order_id, sku.pk, qty, price, "USD", discount, "USD", returned, rate, commission, "USD"))
    _copy_orders(rows_orders, rows_lines)
    # Content stats: conversion between about 3% and 15%, not tied to followers.
    stats = []
    for creator, series in creators:
        conversion = Decimal(rng.randrange(30, 150)) / 1000
        for month, count in zip(months, series):
            if count:
                clicks = int(Decimal(count) / conversion)
                stats.append(ContentStats(creator=creator, month=month, videos=rng.randrange(2, 30), views=clicks * rng.randrange(15, 60), clicks=clicks))
    ContentStats.objects.bulk_create(stats, batch_size=2000)
    # Samples (through the stock ledger) and contacts for the top creators.
    warehouse = Warehouse.objects.filter(is_active=True).order_by("code").first()
    for creator, _series in creators[:12]:
        try:
            sample_send(creator_id=creator.pk, sku_id=rng.choice(skus[8:]).pk, warehouse_id=warehouse.pk, quantity=rng.randrange(1, 4),
                        sent_on=today - timedelta(days=rng.randrange(0, 40)), content_url=f"https://www.tiktok.com/@{creator.handle}/video/{rng.randrange(10**18, 10**19)}")
        except Exception:  # noqa: BLE001 — a demo sample that does not fit the stock is simply not sent
            pass
    manager = owners[0] if owners else None
    for creator, _series in creators[1:10]:
        for back in sorted(rng.sample(range(2, 40), 3), reverse=True):
            contact_log_add(creator_id=creator.pk, method=rng.choice(ContactMethod.values), actor=manager,
                            summary=rng.choice(["Planned next week's live", "Shared the new shade launch", "Agreed on a bundle promo",
                                                "Checked sample feedback", "Talked about a holiday campaign"]),
                            contacted_at=now - timedelta(days=back))
    metrics_refresh(months=months)
    tier_review_run(month=add_months(this, -1))
    # A scarce SKU with creators waiting by priority.
    unallocated = [s for s in SKU.objects.filter(pk__in=[p.pk for p in popular], quota_open=0).order_by("on_hand", "pk")]
    scarce = unallocated[0] if unallocated else popular[0]
    stock_at = scarce.stocks.filter(on_hand__gt=0).order_by("-on_hand").first()
    if stock_at is not None:
        by_tier = {}
        for creator, _s in creators:
            by_tier.setdefault(creator.tier, []).append(creator)
        free = max(stock_at.on_hand - stock_at.reserved, 0)
        plan = [("B", 6), ("B", 4), ("S", free + 20), ("A", 10), ("B", 8)]
        for i, (tier, qty) in enumerate(plan):
            if by_tier.get(tier):
                supply_request_submit(reference=f"WS-DEMO-{i + 1:03d}", creator_id=by_tier[tier][i % len(by_tier[tier])].pk,
                                      warehouse_id=stock_at.warehouse_id, lines=[(scarce.pk, qty)])
    return True
