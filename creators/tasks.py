from datetime import date

from erp.celery import fanout_task


@fanout_task(name="creators.metrics_refresh", soft_time_limit=600, time_limit=660)
def metrics_refresh_task(self, months: list[str] | None = None, creator_ids: list[int] | None = None) -> int:
    """Rebuild creator metrics: the given months (ISO dates), else this month and the last."""
    from creators.services.metrics import add_months, metrics_refresh, month_start
    from erp.l10n import business_today

    if months:
        wanted = [date.fromisoformat(m) for m in months]
    else:
        this = month_start(business_today())
        wanted = [add_months(this, -1), this]
    return metrics_refresh(months=wanted, creator_ids=creator_ids)


@fanout_task(name="creators.tier_changes_apply")
def tier_changes_apply_task(self) -> int:
    from creators.services.tiers import tier_changes_apply

    return tier_changes_apply()


@fanout_task(name="creators.tier_review_monthly", soft_time_limit=900, time_limit=960)
def tier_review_monthly_task(self) -> int | None:
    from creators.services.tiers import tier_changes_apply, tier_review_monthly

    tier_changes_apply()
    return tier_review_monthly()


@fanout_task(name="creators.supply_queue_drain")
def supply_queue_drain_task(self, sku_ids: list[int]) -> list[str]:
    from creators.services.supply import supply_queue_drain

    return supply_queue_drain(sku_ids=sku_ids)
