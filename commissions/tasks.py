from erp.celery import fanout_task


@fanout_task(name="commissions.accrue", soft_time_limit=600, time_limit=660)
def accrue(self, order_ids: list[int] | None = None) -> int:
    """Accrue delivered creator orders (all of them by beat; the given ones right after delivery)."""
    from commissions.services.accrual import accrue as run

    return run(order_ids=order_ids).lines


@fanout_task(name="commissions.close_due_periods", soft_time_limit=1800, time_limit=1900)
def close_due_periods(self) -> int:
    """Accrue, then close every cycle's last ended period that is still open."""
    from commissions.services.accrual import accrue as run
    from commissions.services.settlement import close_due_periods as close

    run()
    return len(close())


@fanout_task(name="commissions.period_close", soft_time_limit=1800, time_limit=1900)
def period_close(self, cycle: str, day: str, user_id: int | None = None) -> int:
    """A close started from the Periods page (the page shows its progress)."""
    from datetime import date

    from django.contrib.auth import get_user_model

    from commissions.services.accrual import accrue as run
    from commissions.services.settlement import period_close as close

    run()
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return close(cycle=cycle, day=date.fromisoformat(day), user=user).statements


@fanout_task(name="commissions.closes_resume")
def closes_resume(self) -> int:
    """Closes a killed worker left half done start again (every two minutes, by beat)."""
    from commissions.services.settlement import closes_resume as resume

    return resume()


@fanout_task(name="commissions.platform_reconcile", soft_time_limit=600, time_limit=660)
def platform_reconcile(self) -> int:
    """Read TikTok's finance statements and record what TikTok paid creators per order."""
    from commissions.services.recon import reconcile_all

    return reconcile_all()
