from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

CENT = Decimal("0.01")

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


# Both staff languages (English, Simplified Chinese) write 1,234.56: formatted directly, as these
# filters run hundreds of times on a cockpit page and Django's number_format is slow at that.
@register.filter
def money(value, currency: str = ""):
    """1,234.56 USD (— for nothing); half-up to the cent."""
    if value is None:
        return "—"
    return f"{Decimal(value).quantize(CENT, ROUND_HALF_UP):,} {currency}".strip()


@register.filter
def pct(value, places: int = 1):
    if value is None:
        return "—"
    return f"{Decimal(value).quantize(Decimal(1).scaleb(-int(places)), ROUND_HALF_UP):,}%"
