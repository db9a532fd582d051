from erp.celery import fanout_task


@fanout_task(name="bi.refresh", soft_time_limit=1800, time_limit=1900)
def refresh(self) -> int:
    """Bring the cockpit's facts and rollups up to date with the orders changed since the last run."""
    from bi.services.refresh import refresh as run

    return run().orders


@fanout_task(name="bi.rebuild", soft_time_limit=3600, time_limit=3700)
def rebuild(self) -> int:
    """Every order's figures from scratch (after a fee schedule or rate was corrected for past days)."""
    from bi.services.refresh import rebuild as run

    return run().orders
