"""Settlement periods: calendar ranges in the seller's business time zone.

A period covers whole business days and ends at local midnight after its last day, so a weekly
period that spans a DST change is 167 or 169 hours long, and an order placed at 23:59 Los Angeles
time on the last day belongs to that period even though it is already the next day in UTC.

- weekly: Monday to Sunday
- semi-monthly: the 1st to the 15th, and the 16th to the last day of the month
- monthly: the whole calendar month
"""
from __future__ import annotations

import calendar
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _

from erp.l10n import business_date_of, business_day_range, seller_time_zone


class SettlementCycle(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    SEMI_MONTHLY = "semi_monthly", _("Semi-monthly")
    MONTHLY = "monthly", _("Monthly")


@dataclass(frozen=True)
class Period:
    cycle: str
    first_day: date
    last_day: date
    starts_at: datetime  # UTC, local midnight at the start of first_day
    ends_at: datetime  # UTC, local midnight after last_day (exclusive)

    def contains(self, instant: datetime) -> bool:
        return self.starts_at <= instant < self.ends_at

    def is_closed(self, now: datetime) -> bool:
        """True from local midnight after the last day on."""
        return now >= self.ends_at

    def next(self, tz: zoneinfo.ZoneInfo | None = None) -> Period:
        return period_for_day(self.cycle, self.last_day + timedelta(days=1), tz)


def period_days(cycle: str, day: date) -> tuple[date, date]:
    if cycle == SettlementCycle.WEEKLY:
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    last_of_month = calendar.monthrange(day.year, day.month)[1]
    if cycle == SettlementCycle.SEMI_MONTHLY:
        return (day.replace(day=1), day.replace(day=15)) if day.day <= 15 else (day.replace(day=16), day.replace(day=last_of_month))
    if cycle == SettlementCycle.MONTHLY:
        return day.replace(day=1), day.replace(day=last_of_month)
    raise ValueError(f"unknown settlement cycle {cycle!r}")


def period_for_day(cycle: str, day: date, tz: zoneinfo.ZoneInfo | None = None) -> Period:
    tz = tz or seller_time_zone()
    first, last = period_days(cycle, day)
    starts_at, ends_at = business_day_range(first, last, tz)
    return Period(cycle=cycle, first_day=first, last_day=last, starts_at=starts_at, ends_at=ends_at)


def period_containing(cycle: str, instant: datetime, tz: zoneinfo.ZoneInfo | None = None) -> Period:
    """The period an instant (an order's delivery, a payout) falls in, by the business calendar."""
    tz = tz or seller_time_zone()
    return period_for_day(cycle, business_date_of(instant, tz), tz)
