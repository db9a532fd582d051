"""Template helpers for times: a deadline shows the reader's local time and the time remaining."""
from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from erp.l10n import remaining

register = template.Library()


@register.simple_tag
def deadline(value, soon_hours: int = 6):
    """<time> in the reader's time zone, then "in 5 h 12 min" or "overdue by 2 h 3 min" (red when
    overdue, amber within `soon_hours`)."""
    if not value:
        return "—"
    left = remaining(value)
    local = timezone.localtime(value)
    when = formats.date_format(local, "SHORT_DATETIME_FORMAT")
    if left.overdue:
        label, tone = _("overdue by %(t)s") % {"t": left}, "err"
    else:
        label, tone = _("in %(t)s") % {"t": left}, "warn" if left.seconds < soon_hours * 3600 else "ok"
    return format_html('<time datetime="{}" title="{}">{}</time> <span class="badge {}">{}</span>',
                       value.isoformat(), local.tzname() or "", when, tone, label)


@register.filter
def percent(rate, places: int = 2):
    """A rate stored as a fraction (0.1234) as a localised percentage ("12.34%"); "—" when empty."""
    if rate is None or rate == "":
        return "—"
    from decimal import Decimal

    return formats.number_format(Decimal(rate) * 100, places) + "%"


@register.filter
def person(user):
    """A staff member as people know them: full name, else email; "—" for nobody."""
    if not user:
        return "—"
    return user.get_full_name() or user.email
