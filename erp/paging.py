"""Keyset pagination for long lists (orders, commission lines): newest first by (a time field, pk),
so page 1,000 costs what page 1 costs and rows arriving meanwhile never shift a page."""
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from erp.ids import whole

PAGE_SIZE = 50


def keyset_page(qs, *, field: str, after: str = "", size: int = PAGE_SIZE):
    """Rows newest first by (`field`, pk); `after` is the cursor of the last row of the page
    before. Returns (rows, next_cursor or '')."""
    qs = qs.order_by(f"-{field}", "-pk")
    if after and "_" in after:
        stamp, _sep, pk = after.rpartition("_")
        when = parse_datetime(stamp)
        if when is not None and whole(pk) is not None:
            qs = qs.filter(Q(**{f"{field}__lt": when}) | Q(**{field: when, "pk__lt": whole(pk)}))
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (f"{getattr(rows[-1], field).isoformat()}_{rows[-1].pk}" if more and rows else "")
