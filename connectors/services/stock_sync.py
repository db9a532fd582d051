"""Real-time stock sync: every committed change of a SKU's sellable quantity is pushed to every
connected shop, coalesced.

How bursts coalesce (per shop):
  1. A change adds its SKU ids to the shop's dirty set in Redis and tries to take the shop's
     flush claim (SET NX). Only the change that takes the claim schedules a flush task, after a
     short debounce (FANOUT_STOCK_SYNC_DEBOUNCE_S), so a burst of changes schedules one task.
  2. The flush takes the whole dirty set, reads the current sellable quantities (the last value
     wins, whatever happened in between), pushes only those that differ from what the shop was
     last given, records the outcome per listing, and releases the claim.
  3. After releasing, it looks at the dirty set again: changes that arrived during the push are
     flushed by a new task (taken by whoever gets the claim first). Because a change writes its
     id before trying the claim, no change can fall between the two.
So at most one push per SKU × shop is in flight at any time. A periodic reconcile reads the
shops' own numbers back and corrects any drift (a missed change, a platform-side edit)."""
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors.clients import ChannelAuthError, ChannelError, StockItem
from connectors.models import AccountStatus, ChannelAccount, ChannelListing, StockSyncState
from connectors.services.redis_keys import redis_client, tenant_key

log = logging.getLogger("fanout.connectors.sync")

CLAIM_TTL_S = 120
FLUSH_MAX = 5000


def _keys(account_id: int) -> tuple[str, str]:
    return tenant_key("sync-dirty", account_id), tenant_key("sync-claim", account_id)


def stock_sync_request(*, sku_ids, account_ids=None, delay: float | None = None) -> int:
    """Mark SKUs as changed for the given (default: every connected) shop and make sure a flush is
    scheduled. Runs after commit; a Redis or broker outage is logged, not raised (the committed
    change stands and the periodic reconcile catches up). Returns the flushes scheduled."""
    from connectors import tasks

    sku_ids = sorted({int(s) for s in sku_ids})
    try:
        ids = list(account_ids) if account_ids is not None else list(
            ChannelAccount.objects.filter(status=AccountStatus.CONNECTED).values_list("pk", flat=True))
        if not ids or not sku_ids:
            return 0
        pipe = redis_client().pipeline(transaction=False)
        for account_id in ids:
            dirty, claim = _keys(account_id)
            pipe.sadd(dirty, *sku_ids)
            pipe.set(claim, "1", nx=True, ex=CLAIM_TTL_S)
        results = pipe.execute()
        countdown = settings.FANOUT_STOCK_SYNC_DEBOUNCE_S if delay is None else delay
        scheduled = 0
        for account_id, claimed in zip(ids, results[1::2]):
            if claimed:
                tasks.stock_flush.apply_async((account_id,), countdown=countdown)
                scheduled += 1
        return scheduled
    except Exception:
        log.exception("stock sync request for %s SKU(s) failed; the reconcile will catch up", len(sku_ids))
        return 0


@dataclass
class PushOutcome:
    pushed: int = 0
    skipped: int = 0
    failed: int = 0
    retry_sku_ids: list[int] = field(default_factory=list)
    error: str = ""


def stock_flush(*, account_id: int) -> PushOutcome:
    """Push the shop's dirty SKUs (see the module docstring). Safe to run twice."""
    from connectors import tasks

    client = redis_client()
    dirty, claim = _keys(account_id)
    outcome = PushOutcome()
    try:
        account = ChannelAccount.objects.filter(pk=account_id).first()
        if account is None or not account.is_active:
            client.delete(dirty)
            return outcome
        sku_ids = sorted(int(s) for s in (client.spop(dirty, FLUSH_MAX) or []))
        if sku_ids:
            outcome = listings_push(account=account, sku_ids=sku_ids)
            if outcome.retry_sku_ids:
                client.sadd(dirty, *outcome.retry_sku_ids)
    finally:
        client.delete(claim)
    if client.scard(dirty) and client.set(claim, "1", nx=True, ex=CLAIM_TTL_S):
        countdown = settings.FANOUT_STOCK_SYNC_RETRY_S if outcome.retry_sku_ids else settings.FANOUT_STOCK_SYNC_DEBOUNCE_S
        tasks.stock_flush.apply_async((account_id,), countdown=countdown)
    return outcome


def _states(listings) -> dict[int, StockSyncState | None]:
    out = {}
    for listing in listings:
        try:
            out[listing.pk] = listing.sync_state
        except StockSyncState.DoesNotExist:
            out[listing.pk] = None
    return out


def _listings(account: ChannelAccount, sku_ids=None) -> list[ChannelListing]:
    listings = ChannelListing.objects.filter(account=account).select_related("sku", "sync_state").order_by("pk")
    if sku_ids is not None:
        listings = listings.filter(sku_id__in=sku_ids)
    return list(listings)


def listings_push(*, account: ChannelAccount, sku_ids=None, force: bool = False) -> PushOutcome:
    """Push the current sellable quantity of the shop's listings (all, or those of `sku_ids`).
    Without `force`, a listing whose last push succeeded with the same number is skipped."""
    from inventory.selectors import Holder, sellable_quantities

    outcome = PushOutcome()
    if not account.is_active:
        return outcome
    listings = _listings(account, sku_ids)
    if not listings:
        return outcome
    quantities = sellable_quantities(skus=[listing.sku for listing in listings], holder=Holder.channel(account.holder_ref))
    states = _states(listings)
    todo: list[tuple[ChannelListing, int]] = []
    for listing in listings:
        state, quantity = states[listing.pk], quantities[listing.sku_id]
        if not force and state is not None and state.pushed_quantity == quantity and not state.error:
            outcome.skipped += 1
            continue
        todo.append((listing, quantity))
    if not todo:
        return outcome
    items = [StockItem(listing.external_product_id, listing.external_sku_id, quantity,
                       states[listing.pk].platform_quantity if states[listing.pk] else None) for listing, quantity in todo]
    from connectors.services.accounts import account_mark_needs_reauth, client_for

    try:
        with client_for(account) as api:
            refused = api.stock_push(items)
    except ChannelAuthError as exc:
        account_mark_needs_reauth(account_id=account.pk, reason=str(exc))
        _record_failures(todo, states, str(exc))
        outcome.failed, outcome.error = len(todo), str(exc)
        return outcome
    except ChannelError as exc:
        log.warning("stock push to %s failed: %s", account, exc)
        _record_failures(todo, states, str(exc))
        outcome.failed, outcome.error = len(todo), str(exc)
        if exc.retryable:
            outcome.retry_sku_ids = [listing.sku_id for listing, _q in todo]
        return outcome
    done = [(listing, quantity) for listing, quantity in todo if listing.external_sku_id not in refused]
    failed = [(listing, quantity) for listing, quantity in todo if listing.external_sku_id in refused]
    _record_successes(done)
    for listing, quantity in failed:
        _record_failures([(listing, quantity)], states, refused[listing.external_sku_id])
    outcome.pushed, outcome.failed = len(done), len(failed)
    return outcome


def _record_successes(done) -> None:
    if not done:
        return
    now = timezone.now()
    StockSyncState.objects.bulk_create(
        [StockSyncState(listing=listing, pushed_quantity=quantity, pushed_at=now, platform_quantity=quantity, error="",
                        error_at=None, failures=0) for listing, quantity in done],
        update_conflicts=True, unique_fields=["listing"],
        update_fields=["pushed_quantity", "pushed_at", "platform_quantity", "error", "error_at", "failures"],
    )


def _record_failures(todo, states, error: str) -> None:
    now = timezone.now()
    StockSyncState.objects.bulk_create(
        [StockSyncState(listing=listing, error=error[:500], error_at=now,
                        failures=(states[listing.pk].failures if states.get(listing.pk) else 0) + 1) for listing, _q in todo],
        update_conflicts=True, unique_fields=["listing"], update_fields=["error", "error_at", "failures"],
    )


@dataclass
class ReconcileOutcome:
    checked: int = 0
    drifted: int = 0
    missing: int = 0
    push: PushOutcome | None = None
    error: str = ""


def stock_reconcile(*, account_id: int, sku_ids=None) -> ReconcileOutcome:
    """Read the shop's own quantities back, record them, and push our number wherever the shop
    shows something else (drift from a lost change or an edit made on the platform)."""
    from connectors.services.accounts import account_mark_needs_reauth, client_for
    from inventory.selectors import Holder, sellable_quantities

    outcome = ReconcileOutcome()
    account = ChannelAccount.objects.filter(pk=account_id).first()
    if account is None or not account.is_active:
        return outcome
    listings = _listings(account, sku_ids)
    if not listings:
        return outcome
    items = [StockItem(listing.external_product_id, listing.external_sku_id) for listing in listings]
    try:
        with client_for(account) as api:
            levels = api.stock_read(items)
    except ChannelAuthError as exc:
        account_mark_needs_reauth(account_id=account.pk, reason=str(exc))
        outcome.error = str(exc)
        return outcome
    except ChannelError as exc:
        log.warning("stock reconcile of %s could not read levels: %s", account, exc)
        outcome.error = str(exc)
        return outcome
    now = timezone.now()
    quantities = sellable_quantities(skus=[listing.sku for listing in listings], holder=Holder.channel(account.holder_ref))
    states = _states(listings)
    rows, drifted, missing = [], [], []
    for listing in listings:
        shown = levels.get(listing.external_sku_id)
        state = states[listing.pk]
        rows.append(StockSyncState(
            listing=listing, platform_quantity=shown, checked_at=now,
            pushed_quantity=state.pushed_quantity if state else None, pushed_at=state.pushed_at if state else None,
            error=(state.error if state else "") if shown is not None else "not found on the platform",
            error_at=(state.error_at if state else None) if shown is not None else now,
            failures=state.failures if state else 0,
        ))
        if shown is None:
            missing.append(listing)
        elif shown != quantities[listing.sku_id]:
            drifted.append(listing.sku_id)
    with transaction.atomic():
        StockSyncState.objects.bulk_create(rows, update_conflicts=True, unique_fields=["listing"],
                                           update_fields=["platform_quantity", "checked_at", "error", "error_at"])
    outcome.checked, outcome.drifted, outcome.missing = len(listings), len(drifted), len(missing)
    if drifted:
        log.info("stock reconcile of %s: %s listing(s) drifted", account, len(drifted))
        outcome.push = listings_push(account=account, sku_ids=drifted, force=True)
    return outcome


def stock_reconcile_later(*, account_id: int, external_sku_ids=None) -> None:
    from functools import partial

    from connectors import tasks

    sku_ids = None
    if external_sku_ids:
        sku_ids = list(ChannelListing.objects.filter(account_id=account_id, external_sku_id__in=external_sku_ids).values_list("sku_id", flat=True))
        if not sku_ids:
            return
    transaction.on_commit(partial(tasks.stock_reconcile.delay, account_id, sku_ids))
