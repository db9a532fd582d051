"""Exchange rates and conversion into the seller's base currency.

Rule (one, documented on the exchange-rates page): a rate says how many units of a currency one
unit of the base currency buys on a date (CNY 7.10 = USD 1). An amount converts at the latest rate
on or before the date it belongs to (a receipt converts at the receipt date):

    base amount = foreign amount ÷ rate, rounded half-up — to 4 decimal places for unit costs,
    to the cent for totals such as landed cost.

With no rate on or before that date the conversion is refused with a message saying which rate is
missing; nothing is ever converted silently at a guessed or a later rate.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import formats
from django.utils.translation import gettext as _
from djmoney.money import Money

from erp.csvutil import RowError, csv_reader
from erp.l10n import seller_base_currency
from inventory.exceptions import InventoryError
from inventory.models import ExchangeRate

UNIT = Decimal("0.0001")
CENT = Decimal("0.01")
MAX_RATE = Decimal("1000000")
CSV_COLUMNS = ["date", "currency", "rate"]
MAX_ROWS = 20_000


class MissingRate(InventoryError):
    pass


@dataclass(frozen=True)
class Converted:
    amount: Money  # in the base currency
    rate: Decimal | None  # None when no conversion was needed
    original: Money


def rate_on(currency: str, on: date) -> ExchangeRate:
    rate = ExchangeRate.objects.filter(currency=currency, rate_date__lte=on).order_by("-rate_date").first()
    if rate is None:
        raise MissingRate(
            _("No %(currency)s exchange rate on or before %(date)s: add one under Inventory → Exchange rates first.")
            % {"currency": currency, "date": formats.date_format(on, "SHORT_DATE_FORMAT")}
        )
    return rate


def to_base(money: Money, on: date, *, places: Decimal = UNIT, rates: dict[str, Decimal] | None = None) -> Converted:
    """`money` in the base currency at the rate of `on` (see the module's rule). Pass a dict as
    `rates` to look each currency up once when converting many amounts of one date."""
    base = seller_base_currency()
    currency = str(money.currency)
    if currency == base:
        return Converted(Money(Decimal(money.amount).quantize(places, ROUND_HALF_UP), base), None, money)
    if rates is None:
        rates = {}
    if currency not in rates:
        rates[currency] = rate_on(currency, on).rate
    rate = rates[currency]
    return Converted(Money((Decimal(money.amount) / rate).quantize(places, ROUND_HALF_UP), base), rate, money)


def _validate(currency: str, rate) -> tuple[str, Decimal]:
    currency = (currency or "").strip().upper()
    base = seller_base_currency()
    if currency not in settings.CURRENCIES:
        raise ValueError(_("must be one of %(choices)s") % {"choices": ", ".join(settings.CURRENCIES)})
    if currency == base:
        raise ValueError(_("is the base currency (%(base)s); it needs no rate") % {"base": base})
    try:
        value = Decimal(str(rate).strip())
    except InvalidOperation:
        raise ValueError(_("must be a number such as 7.10")) from None
    if not value.is_finite() or value <= 0 or value >= MAX_RATE:
        raise ValueError(_("must be a number above zero"))
    if value != value.quantize(Decimal("0.00000001")):
        raise ValueError(_("has more than 8 decimal places"))
    return currency, value


@transaction.atomic
def exchange_rate_set(*, currency: str, rate_date: date, rate, actor=None, source: str = "manual") -> ExchangeRate:
    """Enter (or correct) the rate of one currency on one day; audited with the actor."""
    try:
        currency, value = _validate(currency, rate)
    except ValueError as exc:
        raise InventoryError(_("Rate for %(currency)s: %(reason)s") % {"currency": currency or "?", "reason": exc}) from None
    before = _rates_before([(rate_date, currency)])
    obj, _created = ExchangeRate.objects.update_or_create(
        currency=currency, rate_date=rate_date, defaults={"rate": value, "source": source, "created_by": actor}
    )
    _rates_audit(actor, [obj], before)
    return obj


def _rates_before(keys: list[tuple[date, str]]) -> dict[tuple[date, str], Decimal]:
    days = {d for d, _c in keys}
    return {(r.rate_date, r.currency): r.rate for r in ExchangeRate.objects.filter(rate_date__in=days, currency__in={c for _d, c in keys})}


def _rates_audit(actor, rates: list[ExchangeRate], before: dict) -> None:
    """One audit row per rate that changed (a re-import of the same file changes nothing)."""
    from accounts.services import audit_record_many

    base = seller_base_currency()
    changed = [r for r in rates if before.get((r.rate_date, r.currency)) != r.rate]
    audit_record_many(actor=actor, verb="exchange_rate.set", items=[(r, {
        "date": r.rate_date.isoformat(), "currency": r.currency, "base": base, "rate": _plain(r.rate),
        "from": _plain(before[(r.rate_date, r.currency)]) if (r.rate_date, r.currency) in before else "—", "source": r.source,
    }) for r in changed])


def _plain(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


@dataclass
class RatesPreview:
    rows: list[tuple[date, str, Decimal]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def rates_csv_parse(*, text: str) -> RatesPreview:
    """Columns date (YYYY-MM-DD), currency (ISO code), rate (units per 1 base unit)."""
    preview = RatesPreview()
    reader = csv_reader(text)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        preview.errors.append(RowError(1, ", ".join(missing), _("missing column")))
        return preview
    reader.fieldnames = header
    seen: dict[tuple[date, str], int] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            preview.errors.append(RowError(number, "-", _("more than %(n)s rows; split the file") % {"n": MAX_ROWS}))
            break
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        try:
            day = date.fromisoformat(row["date"])
        except ValueError:
            preview.errors.append(RowError(number, "date", _("must be a date like 2026-11-24")))
            continue
        try:
            currency, value = _validate(row["currency"], row["rate"])
        except ValueError as exc:
            column = "currency" if (row["currency"].upper() not in settings.CURRENCIES or row["currency"].upper() == seller_base_currency()) else "rate"
            preview.errors.append(RowError(number, column, str(exc)))
            continue
        if (day, currency) in seen:
            preview.errors.append(RowError(number, "date", _("%(currency)s on this date is already on row %(row)s")
                                           % {"currency": currency, "row": seen[(day, currency)]}))
            continue
        seen[(day, currency)] = number
        preview.rows.append((day, currency, value))
    if not preview.rows and not preview.errors:
        preview.errors.append(RowError(2, "-", _("the file has no data rows")))
    return preview


@transaction.atomic
def rates_csv_apply(*, text: str, actor=None, progress=None) -> RatesPreview:
    """All rows or none: any error refuses the whole file. Each changed rate is audited with the
    actor. `progress(done, total)` is told every 100 rows (the worker's progress page)."""
    preview = rates_csv_parse(text=text)
    if preview.errors:
        raise InventoryError(_("Nothing was imported: %(error)s") % {"error": preview.errors[0]})
    before = _rates_before([(day, currency) for day, currency, _value in preview.rows])
    saved = []
    try:
        for done, (day, currency, value) in enumerate(preview.rows, start=1):
            if progress and done % 100 == 0:
                progress(done, len(preview.rows))
            saved.append(ExchangeRate.objects.update_or_create(currency=currency, rate_date=day,
                                                               defaults={"rate": value, "source": "csv", "created_by": actor})[0])
    except IntegrityError as exc:  # a concurrent import of the same day
        raise InventoryError(_("Nothing was imported: %(error)s") % {"error": exc}) from None
    _rates_audit(actor, saved, before)
    return preview


def rates_csv_export() -> Iterator[list]:
    """Every rate as rows under CSV_COLUMNS (read lazily, for erp.csvutil.csv_response); imports back as is."""
    for rate in ExchangeRate.objects.order_by("-rate_date", "currency").iterator():
        yield [rate.rate_date.isoformat(), rate.currency, format(rate.rate.normalize(), "f")]
