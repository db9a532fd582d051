from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def change(value, points: bool = False):
    """▲ 12.3% (green) / ▼ 4.0% (red) against the previous period; points=True for a margin (percentage points)."""
    if value is None:
        return format_html('<span class="muted small">{}</span>', _("no earlier figures"))
    value = Decimal(value)
    arrow, css = ("▲", "up") if value > 0 else ("▼", "down") if value < 0 else ("＝", "muted")
    shown = number_format(abs(value), 1, use_l10n=True)
    unit = _("pts") if points else "%"
    return format_html('<span class="{} small">{} {}{}</span>', css, arrow, shown, unit)


@register.filter
def money(value, currency: str = ""):
    """1,234.56 USD (— for nothing)."""
    if value is None:
        return "—"
    return f"{number_format(Decimal(value), 2, use_l10n=True, force_grouping=True)} {currency}".strip()


@register.filter
def pct(value, places: int = 1):
    if value is None:
        return "—"
    return f"{number_format(Decimal(value), places, use_l10n=True)}%"
