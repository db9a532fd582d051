"""Time zones and currencies of a seller.

Times are stored in UTC. Each user sees them in their own display time zone (set per request by
accounts.middleware). Calendar questions — "today", a day's report, where a settlement period
starts and ends — use the seller's *business* time zone (Seller.time_zone), whoever asks and
whatever process asks (web request or Celery task), so a team in Shanghai and a worker in UTC agree
on which day an order in Los Angeles belongs to.
"""
from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz and not tz.startswith("Etc/")]
CURRENCY_CHOICES = [(code, code) for code in settings.CURRENCIES]


def seller_time_zone() -> zoneinfo.ZoneInfo:
    """The business time zone of the seller whose schema is active (the default outside one)."""
    tenant = getattr(connection, "tenant", None)
    name = getattr(tenant, "time_zone", "") or settings.FANOUT_DEFAULT_BUSINESS_TIME_ZONE
    return zoneinfo.ZoneInfo(name)


def seller_base_currency() -> str:
    tenant = getattr(connection, "tenant", None)
    return getattr(tenant, "base_currency", "") or settings.DEFAULT_CURRENCY


def business_now() -> datetime:
    return timezone.now().astimezone(seller_time_zone())


def business_today() -> date:
    return business_now().date()


def business_day_start(day: date, tz: zoneinfo.ZoneInfo | None = None) -> datetime:
    """The instant (aware, UTC) at which `day` begins in the business time zone: local midnight.
    Around DST changes a day is 23 or 25 hours long; this stays right because each midnight is
    converted on its own."""
    tz = tz or seller_time_zone()
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(zoneinfo.ZoneInfo("UTC"))


def business_day_range(first: date, last: date | None = None, tz: zoneinfo.ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering the business days first..last inclusive."""
    tz = tz or seller_time_zone()
    return business_day_start(first, tz), business_day_start((last or first) + timedelta(days=1), tz)


def business_date_of(instant: datetime, tz: zoneinfo.ZoneInfo | None = None) -> date:
    return instant.astimezone(tz or seller_time_zone()).date()


@dataclass(frozen=True)
class Remaining:
    seconds: int

    @property
    def overdue(self) -> bool:
        return self.seconds < 0

    def __str__(self) -> str:
        return duration_text(abs(self.seconds))


def duration_text(seconds: int) -> str:
    """A short human duration: "2 d 5 h", "3 h 20 min", "45 min", "under a minute"."""
    minutes = seconds // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)s d %(h)s h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": mins}
    if mins:
        return _("%(m)s min") % {"m": mins}
    return _("under a minute")


def remaining(deadline: datetime, now: datetime | None = None) -> Remaining:
    return Remaining(int((deadline - (now or timezone.now())).total_seconds()))
