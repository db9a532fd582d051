"""Reads for the channel pages."""
from django.db.models import Count, Q

from connectors.models import ChannelAccount, ChannelListing, InboxStatus


def accounts_overview():
    return ChannelAccount.objects.annotate(
        listing_count=Count("listings", distinct=True),
        error_count=Count("listings", filter=~Q(listings__sync_state__error=""), distinct=True),
        failed_events=Count("webhook_events", filter=Q(webhook_events__status=InboxStatus.FAILED), distinct=True),
    ).order_by("status", "platform", "name")


def account_sync_summary(*, account: ChannelAccount) -> dict:
    listings = ChannelListing.objects.filter(account=account)
    return listings.aggregate(
        listings=Count("pk"),
        pushed=Count("pk", filter=Q(sync_state__pushed_at__isnull=False)),
        errors=Count("pk", filter=Q(sync_state__isnull=False) & ~Q(sync_state__error="")),
    )


def sync_rows(*, account: ChannelAccount | None = None, search: str = "", errors_only: bool = False):
    qs = ChannelListing.objects.select_related("account", "sku", "sync_state")
    if account is not None:
        qs = qs.filter(account=account)
    if search:
        qs = qs.filter(Q(sku__code__icontains=search) | Q(sku__title__icontains=search) | Q(external_sku_id__icontains=search))
    if errors_only:
        qs = qs.filter(sync_state__isnull=False).exclude(sync_state__error="")
    return qs.order_by("sku__code", "account__platform", "account__name")


def sync_rows_with_sellable(listings: list[ChannelListing]) -> list[dict]:
    """Each listing with the quantity it should show now (one allocation query per shop on the page)."""
    from inventory.selectors import Holder, sellable_quantities

    by_account: dict[int, list[ChannelListing]] = {}
    for listing in listings:
        by_account.setdefault(listing.account_id, []).append(listing)
    sellable: dict[int, int] = {}
    for group in by_account.values():
        quantities = sellable_quantities(skus=[l.sku for l in group], holder=Holder.channel(group[0].account.holder_ref))
        sellable.update({l.pk: quantities[l.sku_id] for l in group})
    rows = []
    for listing in listings:
        state = getattr(listing, "sync_state", None) if _has_state(listing) else None
        should = sellable[listing.pk]
        rows.append({"listing": listing, "state": state, "sellable": should,
                     "in_sync": state is not None and not state.error and state.pushed_quantity == should})
    return rows


def _has_state(listing: ChannelListing) -> bool:
    from connectors.models import StockSyncState

    try:
        listing.sync_state
    except StockSyncState.DoesNotExist:
        return False
    return True


def listings_by_account(*, listing_ids) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for account_id, sku_id in ChannelListing.objects.filter(pk__in=listing_ids).values_list("account_id", "sku_id"):
        out.setdefault(account_id, []).append(sku_id)
    return out
