"""Content stats (videos, views, clicks per creator and month) imported from CSV: a preview that
names every bad row and column, then apply — every row or none. A later import of the same
creator and month replaces the figures."""
import re
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from creators.exceptions import CreatorError
from creators.models import ContentStats, Creator
from creators.services.metrics import month_start
from erp.csvutil import RowError, csv_reader
from erp.l10n import business_today

COLUMNS = ["handle", "month", "videos", "views", "clicks"]
MAX_ROWS = 100_000
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
MAXIMUM = {"videos": 2_147_483_647, "views": 9_223_372_036_854_775_807, "clicks": 9_223_372_036_854_775_807}  # the columns' ranges


@dataclass
class ContentImport:
    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def content_csv_parse(*, text: str) -> ContentImport:
    result = ContentImport()
    reader = csv_reader(text)
    header = [(h or "").strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        result.errors.append(RowError(1, ", ".join(missing), _("required column missing")))
        return result
    creators = dict(Creator.objects.annotate(h=Lower("handle")).values_list("h", "pk"))
    this_month = month_start(business_today())
    seen: dict[tuple, int] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            result.errors.append(RowError(number, "-", _("more than %(max)s rows; split the file") % {"max": MAX_ROWS}))
            break
        v = {(k or "").strip(): (val or "").strip() for k, val in raw.items() if k}
        before = len(result.errors)
        handle = v.get("handle", "").lstrip("@").lower()
        creator_id = creators.get(handle)
        if not handle:
            result.errors.append(RowError(number, "handle", _("required")))
        elif creator_id is None:
            result.errors.append(RowError(number, "handle", _("no creator with the handle @%(handle)s") % {"handle": handle}))
        m = MONTH_RE.match(v.get("month", ""))
        month = None
        if m and 1 <= int(m.group(2)) <= 12 and int(m.group(1)) >= 1:  # there is no year 0
            month = date(int(m.group(1)), int(m.group(2)), 1)
            if month > this_month:
                result.errors.append(RowError(number, "month", _("a future month")))
        else:
            result.errors.append(RowError(number, "month", _("use the form 2026-03, got “%(value)s”") % {"value": v.get("month", "")}))
        numbers = {}
        for column in ("videos", "views", "clicks"):
            text_value = v.get(column, "").replace(",", "") or "0"
            if not text_value.isdecimal():
                result.errors.append(RowError(number, column, _("must be a whole number of 0 or more, got “%(value)s”") % {"value": v.get(column)}))
            elif int(text_value) > MAXIMUM[column]:
                result.errors.append(RowError(number, column, _("must be at most %(max)s, got “%(value)s”") % {"max": MAXIMUM[column], "value": v.get(column)}))
            else:
                numbers[column] = int(text_value)
        if creator_id and month:
            if (creator_id, month) in seen:
                result.errors.append(RowError(number, "handle", _("same creator and month as row %(row)s") % {"row": seen[(creator_id, month)]}))
            seen.setdefault((creator_id, month), number)
        if len(result.errors) == before:
            result.rows.append({"row": number, "creator_id": creator_id, "handle": handle, "month": month, **numbers})
    if not result.rows and not result.errors:
        result.errors.append(RowError(2, "-", _("the file has no data rows")))
    return result


@transaction.atomic
def content_csv_apply(*, text: str, actor=None) -> ContentImport:
    from creators.services.metrics import metrics_refresh

    result = content_csv_parse(text=text)
    if result.errors:
        raise CreatorError("; ".join(str(e) for e in result.errors[:10]))
    now = timezone.now()
    ContentStats.objects.bulk_create(
        [ContentStats(creator_id=r["creator_id"], month=r["month"], videos=r["videos"], views=r["views"], clicks=r["clicks"],
                      source="csv", imported_at=now, imported_by=actor) for r in result.rows],
        batch_size=2000, update_conflicts=True, unique_fields=["creator", "month"],
        update_fields=["videos", "views", "clicks", "source", "imported_at", "imported_by"],
    )
    # The figures are on the pages as soon as the import is: a month rebuilds in about a second.
    metrics_refresh(months={r["month"] for r in result.rows})
    return result
