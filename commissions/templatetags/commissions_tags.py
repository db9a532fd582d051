from django import template

register = template.Library()


@register.filter
def profit_total(profit, name: str):
    """The order's total of one waterfall component ('—' while a part is not known yet)."""
    total = profit.total(name)
    return "—" if total is None else total


@register.filter
def rate_percent(rate) -> str:
    """0.2000 → '20.00%'."""
    return "—" if rate is None else f"{rate * 100:.2f}%"
