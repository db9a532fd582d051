"""Supply priority: who gets scarce stock first.

A SKU is *scarce* when its free pool (on hand − reserved − safety stock) covers fewer days of
sales than the policy's threshold (days of cover = free pool ÷ units shipped per day over the
reorder window; a SKU that is not selling is never scarce).

A creator's wholesale or dropship request is served at once (its stock reserved) unless
  - someone of the same or a higher priority already waits for one of its SKUs (no overtaking), or
  - its tier waits when stock is scarce (B by default) and one of its SKUs is scarce, or
  - the stock is not there.
Otherwise it waits in the queue. When stock changes, each SKU's queue drains by priority (1 first),
then by age; a request that still cannot be served holds its SKUs, so nobody behind it overtakes.
"""
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from creators.exceptions import CreatorError
from creators.models import Creator, SupplyRequest, SupplyRequestLine, SupplyStatus
from creators.services.policy import bands_of, creator_terms, tier_policy_in_force

supply_served = Signal()  # kwargs: references (list of str), sent after commit

WAIT_QUEUE, WAIT_SCARCE, WAIT_SHORT = "queue", "scarce", "short"


@dataclass(frozen=True)
class Cover:
    free: int
    per_day: Decimal | None
    days: Decimal | None
    scarce: bool


def sku_cover(*, sku_ids, policy=None) -> dict[int, Cover]:
    """Free pool, sales per day and days of cover of each SKU, read fresh from the database."""
    from inventory.models import SKU
    from inventory.selectors import pool_free
    from inventory.services.reorder import daily_velocities

    skus = list(SKU.objects.filter(pk__in=list(sku_ids)))
    policy = policy or tier_policy_in_force()
    velocity = daily_velocities(sku_ids=[s.pk for s in skus])
    out = {}
    for sku in skus:
        free, per_day = pool_free(sku=sku), velocity.get(sku.pk)
        days = (Decimal(free) / per_day).quantize(Decimal("0.1"), ROUND_HALF_UP) if per_day else None
        out[sku.pk] = Cover(free, per_day, days, days is not None and days < policy.scarcity_days_of_cover)
    return out


def _lock_skus(sku_ids) -> None:
    """Serialise submit and drain per SKU (transaction-scoped advisory locks, in id order)."""
    with connection.cursor() as cursor:
        for sku_id in sorted(set(sku_ids)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [741_002, sku_id])


def _merged(lines) -> dict[int, int]:
    merged: dict[int, int] = {}
    for i, (sku_id, quantity) in enumerate(lines, start=1):
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise CreatorError(_("line %(line)s: quantity must be a whole number above zero") % {"line": i})
        merged[sku_id] = merged.get(sku_id, 0) + quantity
    if not merged:
        raise CreatorError(_("A request needs at least one line."))
    return merged


def _try_serve(request: SupplyRequest, lines: dict[int, int], *, waits_when_scarce: bool, policy, blocked: set[int]) -> str | None:
    """Reserve the request's stock, or say why it waits."""
    from inventory.exceptions import InventoryError
    from inventory.selectors import Holder
    from inventory.services import reservation_create

    if set(lines) & blocked:
        return WAIT_QUEUE
    if waits_when_scarce and any(c.scarce for c in sku_cover(sku_ids=lines, policy=policy).values()):
        return WAIT_SCARCE
    try:
        reservation_create(reference=request.reference, warehouse_id=request.warehouse_id, holder=Holder.creator(request.creator_id),
                           lines=sorted(lines.items()))
    except InventoryError:  # short (InsufficientStock), or a SKU or warehouse made inactive meanwhile
        return WAIT_SHORT
    request.status, request.served_at, request.wait_reason = SupplyStatus.SERVED, timezone.now(), ""
    request.save(update_fields=["status", "served_at", "wait_reason"])
    return None


def _served_on_commit(references: list[str]) -> None:
    if references:
        transaction.on_commit(partial(supply_served.send, sender="creators", references=list(references)))


@transaction.atomic
def supply_request_submit(*, reference: str, creator_id: int, warehouse_id: int, lines) -> SupplyRequest:
    """Serve a creator's request now or queue it (see the module rules). A replay with the same
    reference returns the first request unchanged. Raises CreatorError for bad input."""
    from inventory.models import SKU
    from warehouses.models import Warehouse

    existing = SupplyRequest.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    wanted = _merged(lines)
    creator = Creator.objects.filter(pk=creator_id).first()
    if creator is None:
        raise CreatorError(_("No such creator."))
    if not Warehouse.objects.filter(pk=warehouse_id, is_active=True).exists():
        raise CreatorError(_("Unknown or inactive warehouse."))
    unknown = set(wanted) - set(SKU.objects.filter(pk__in=list(wanted)).values_list("pk", flat=True))
    if unknown:
        raise CreatorError(_("Unknown SKU id(s): %(ids)s") % {"ids": ", ".join(map(str, sorted(unknown)))})
    _lock_skus(wanted)
    policy = tier_policy_in_force()
    terms = creator_terms(creator, policy=policy)
    request = SupplyRequest.objects.create(reference=reference, creator=creator, warehouse_id=warehouse_id, tier=creator.tier,
                                           priority=terms.supply_priority)
    SupplyRequestLine.objects.bulk_create([SupplyRequestLine(request=request, sku_id=s, quantity=q) for s, q in sorted(wanted.items())])
    ahead = set(SupplyRequestLine.objects.filter(sku_id__in=list(wanted), request__status=SupplyStatus.WAITING,
                                                 request__priority__lte=request.priority).exclude(request=request)
                .values_list("sku_id", flat=True))
    reason = _try_serve(request, wanted, waits_when_scarce=terms.waits_when_scarce, policy=policy, blocked=ahead)
    if reason:
        request.wait_reason = reason
        request.save(update_fields=["wait_reason"])
    else:
        _served_on_commit([request.reference])
    return request


@transaction.atomic
def supply_queue_drain(*, sku_ids) -> list[str]:
    """Serve what can be served of the queues of `sku_ids`, by priority then age, never letting a
    request overtake one ahead of it that still waits for the same SKU. Returns the references
    served. Safe to run any number of times and concurrently."""
    sku_ids = sorted(set(sku_ids))
    waiting = list(SupplyRequest.objects.filter(status=SupplyStatus.WAITING, lines__sku_id__in=sku_ids).distinct()
                   .order_by("priority", "created_at", "pk").prefetch_related("lines"))
    if not waiting:
        return []
    _lock_skus({line.sku_id for r in waiting for line in r.lines.all()})
    # Under the SKU locks, lock the requests in one query and keep those still waiting.
    still_waiting = set(SupplyRequest.objects.select_for_update().filter(pk__in=[r.pk for r in waiting], status=SupplyStatus.WAITING)
                        .values_list("pk", flat=True))
    policy = tier_policy_in_force()
    bands = bands_of(policy)
    blocked: set[int] = set()
    served = []
    for request in waiting:
        if request.pk not in still_waiting:
            continue
        lines = {line.sku_id: line.quantity for line in request.lines.all()}
        band = bands.get(request.tier)
        reason = _try_serve(request, lines, waits_when_scarce=band.waits_when_scarce if band else True, policy=policy, blocked=blocked)
        if reason:
            blocked |= set(lines)
            if reason != request.wait_reason:
                request.wait_reason = reason
                request.save(update_fields=["wait_reason"])
        else:
            served.append(request.reference)
    _served_on_commit(served)
    return served


@transaction.atomic
def supply_request_cancel(*, request_id: int) -> SupplyRequest:
    request = SupplyRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise CreatorError(_("No such request."))
    if request.status != SupplyStatus.WAITING:
        raise CreatorError(_("Only a waiting request can be cancelled."))
    request.status = SupplyStatus.CANCELLED
    request.save(update_fields=["status"])
    skus = list(request.lines.values_list("sku_id", flat=True))
    from creators.tasks import supply_queue_drain_task

    transaction.on_commit(partial(supply_queue_drain_task.delay, sku_ids=skus))
    return request


def supply_queue_resume(*, before, limit: int = 1000) -> list[int]:
    """Queue a drain for SKUs with requests waiting since before `before` and free stock now: the drain
    the stock's arrival queued was lost (a killed worker, Redis restarted without its queue). Draining is
    safe to run any number of times; a request that must still wait stays waiting. Run by the orders'
    resume sweep."""
    from django.db.models import F, Sum

    from creators.tasks import supply_queue_drain_task
    from erp.celery import resume_due
    from inventory.models import Stock

    waiting = (SupplyRequestLine.objects.filter(request__status=SupplyStatus.WAITING, request__created_at__lt=before)
               .values_list("sku_id", flat=True).distinct()[:limit])
    skus = sorted(Stock.objects.filter(sku_id__in=list(waiting), warehouse__is_active=True).values("sku_id")
                  .annotate(free=Sum(F("on_hand") - F("reserved"))).filter(free__gt=0).values_list("sku_id", flat=True))
    skus = resume_due("supply", skus)
    if skus:
        supply_queue_drain_task.delay(sku_ids=skus)
    return skus


def supply_drain_if_waiting(*, sku_ids) -> None:
    """After stock changed: queue a drain when somebody waits for one of these SKUs."""
    from creators.tasks import supply_queue_drain_task

    if SupplyRequestLine.objects.filter(sku_id__in=list(sku_ids), request__status=SupplyStatus.WAITING).exists():
        supply_queue_drain_task.delay(sku_ids=list(sku_ids))
