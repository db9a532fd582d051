"""Cross-border basics: business time zone (days, DST, settlement periods), currencies and dated
exchange rates, deadlines, CSV for Excel, PDFs with Chinese glyphs, browser defaults at sign-up."""
import io
import zoneinfo
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import timezone, translation
from django_tenants.utils import schema_context, tenant_context
from djmoney.money import Money

from accounts.modules import Role
from commissions.periods import SettlementCycle, period_containing, period_for_day
from erp.l10n import business_day_range, business_day_start, business_today, seller_time_zone
from inventory.exceptions import InventoryError
from inventory.models import CostLot, ExchangeRate, Supplier
from inventory.services.fx import rates_csv_apply, rates_csv_parse, to_base
from inventory.services.purchasing import purchase_order_create, purchase_order_receive, purchase_order_send
from sellers.models import Seller, SignupRequest
from tests.inventory.factories import make_sku, make_warehouses
from tests.support import client_for, make_user

UTC = dt_timezone.utc
LA = zoneinfo.ZoneInfo("America/Los_Angeles")
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def cny(amount) -> Money:
    return Money(Decimal(str(amount)), "CNY")


# ---------------------------------------------------------------- days and DST


def test_business_days_begin_at_local_midnight_and_dst_days_are_23_or_25_hours():
    assert business_day_start(date(2026, 11, 24), LA) == utc(2026, 11, 24, 8)  # PST, UTC-8
    assert business_day_start(date(2026, 7, 1), LA) == utc(2026, 7, 1, 7)  # PDT, UTC-7
    assert business_day_start(date(2026, 11, 24), SHANGHAI) == utc(2026, 11, 23, 16)
    spring = business_day_range(date(2026, 3, 8), tz=LA)  # clocks go forward at 02:00
    fall = business_day_range(date(2026, 11, 1), tz=LA)  # clocks go back at 02:00
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert fall[1] - fall[0] == timedelta(hours=25)


def test_today_follows_the_sellers_business_time_zone_not_the_server(alpha):
    with tenant_context(alpha):
        alpha.time_zone = "Asia/Shanghai"
        assert seller_time_zone() == SHANGHAI
        assert business_today() == timezone.now().astimezone(SHANGHAI).date()
        alpha.time_zone = "America/Los_Angeles"
        assert business_today() == timezone.now().astimezone(LA).date()


# ---------------------------------------------------------------- settlement periods


def test_a_settlement_period_closes_at_midnight_in_the_sellers_time_zone(alpha):
    with tenant_context(alpha):
        alpha.time_zone = "America/Los_Angeles"
        # A sale at 23:30 on Sunday 22 Nov in Los Angeles is already Monday in UTC; it belongs
        # to the week of 16–22 Nov, which closes at midnight Los Angeles time (08:00 UTC).
        sale = datetime(2026, 11, 22, 23, 30, tzinfo=LA)
        week = period_containing(SettlementCycle.WEEKLY, sale)
        assert (week.first_day, week.last_day) == (date(2026, 11, 16), date(2026, 11, 22))
        assert week.ends_at == utc(2026, 11, 23, 8)
        assert not week.is_closed(utc(2026, 11, 23, 7, 59, 59))
        assert week.is_closed(utc(2026, 11, 23, 8))
        # The same instant for a seller in Shanghai is Monday afternoon: next week's period.
        alpha.time_zone = "Asia/Shanghai"
        assert period_containing(SettlementCycle.WEEKLY, sale).first_day == date(2026, 11, 23)


def test_monthly_and_semi_monthly_periods_across_dst():
    march = period_for_day(SettlementCycle.MONTHLY, date(2026, 3, 20), LA)
    assert (march.starts_at, march.ends_at) == (utc(2026, 3, 1, 8), utc(2026, 4, 1, 7))
    assert march.ends_at - march.starts_at == timedelta(days=31) - timedelta(hours=1)
    first_half = period_for_day(SettlementCycle.SEMI_MONTHLY, date(2026, 2, 15), LA)
    second_half = first_half.next(LA)
    assert (first_half.first_day, first_half.last_day) == (date(2026, 2, 1), date(2026, 2, 15))
    assert (second_half.first_day, second_half.last_day) == (date(2026, 2, 16), date(2026, 2, 28))
    assert first_half.ends_at == second_half.starts_at  # no gap, no overlap
    week = period_for_day(SettlementCycle.WEEKLY, date(2026, 3, 10), LA)  # Mon 9 – Sun 15 March, after the change
    spanning = period_for_day(SettlementCycle.WEEKLY, date(2026, 3, 4), LA)  # Mon 2 – Sun 8 March, contains it
    assert week.ends_at - week.starts_at == timedelta(hours=168)
    assert spanning.ends_at - spanning.starts_at == timedelta(hours=167)


# ---------------------------------------------------------------- currencies


@pytest.fixture
def shop(alpha):
    with tenant_context(alpha):
        alpha.base_currency = "USD"
        yield make_warehouses()


def test_a_cny_purchase_at_7_10_costs_its_lots_in_usd_at_the_receipt_dates_rate(shop):
    today = business_today()
    ExchangeRate.objects.create(currency="CNY", rate_date=today - timedelta(days=3), rate=Decimal("7.10"))
    ExchangeRate.objects.create(currency="CNY", rate_date=today + timedelta(days=1), rate=Decimal("9.99"))  # a later rate is never used
    supplier = Supplier.objects.create(name="Yiwu Packaging", currency="CNY")
    lip = make_sku("FX-LIP")
    po = purchase_order_create(supplier_id=supplier.pk, warehouse_id=shop["LA"].pk, currency="CNY",
                               lines=[(lip.pk, 100, cny("71.00"))])
    assert po.currency == "CNY"
    purchase_order_send(po_id=po.pk)
    # Freight of CNY 710.00 for the 100 units is USD 100.00, one dollar a unit.
    purchase_order_receive(po_id=po.pk, quantities={lip.pk: 100}, landed_cost=cny("710.00"))
    lot = CostLot.objects.get(sku=lip)
    assert lot.unit_cost == Money("11.0000", "USD")  # 71.00 / 7.10 + 710.00 / 7.10 / 100
    assert (lot.source_unit_cost, lot.fx_rate) == (cny("71.0000"), Decimal("7.10"))
    # Rounding: half-up to 4 places for a unit cost, to the cent for a total.
    assert to_base(cny("10.00"), today).amount == Money("1.4085", "USD")  # 1.408450…
    assert to_base(cny("1000.00"), today, places=Decimal("0.01")).amount == Money("140.85", "USD")


def test_a_receipt_without_a_rate_is_refused_and_changes_nothing(shop):
    supplier = Supplier.objects.create(name="No Rate Co", currency="CNY")
    sku = make_sku("FX-NORATE")
    po = purchase_order_create(supplier_id=supplier.pk, warehouse_id=shop["LA"].pk, lines=[(sku.pk, 10, cny("5.00"))])
    purchase_order_send(po_id=po.pk)
    with pytest.raises(InventoryError, match="No CNY exchange rate on or before"):
        purchase_order_receive(po_id=po.pk, quantities={sku.pk: 10})
    sku.refresh_from_db()
    assert sku.on_hand == 0 and not CostLot.objects.filter(sku=sku).exists()
    with pytest.raises(InventoryError, match="unit cost is in USD but the purchase order is in CNY"):
        purchase_order_create(supplier_id=supplier.pk, warehouse_id=shop["LA"].pk, currency="CNY",
                              lines=[(sku.pk, 1, Money("1.00", "USD"))])


def test_rates_csv_import_names_bad_rows_and_saves_all_or_nothing(shop):
    bad = "date,currency,rate\n2026-11-20,CNY,7.10\n2026-11-21,XYZ,7.1\n2026-13-01,CNY,7.2\n2026-11-22,CNY,-1\n2026-11-20,CNY,7.11\n"
    preview = rates_csv_parse(text=bad)
    assert [(e.row, e.column) for e in preview.errors] == [(3, "currency"), (4, "date"), (5, "rate"), (6, "date")]
    with pytest.raises(InventoryError, match="row 3, currency"):
        rates_csv_apply(text=bad)
    assert not ExchangeRate.objects.exists()
    rates_csv_apply(text="date,currency,rate\n2026-11-20,CNY,7.10\n2026-11-20,EUR,0.92\n")
    assert ExchangeRate.objects.get(currency="CNY").rate == Decimal("7.10")
    assert rates_csv_parse(text="date,currency,rate\n2026-11-20,USD,1\n").errors[0].reason.startswith("is the base currency")


def test_exchange_rates_page_adds_a_rate_and_exports_csv_with_an_optional_bom(shop, alpha):
    owner = make_user(alpha, role=Role.OWNER)
    client = client_for(alpha, owner)
    page = client.post("/inventory/exchange-rates/", {"action": "add", "rate_date": "2026-11-20", "currency": "CNY", "rate": "7.10"},
                       follow=True)
    assert "1 USD = 7.1 CNY" in page.content.decode()
    refused = client.post("/inventory/exchange-rates/", {"action": "add", "rate_date": "2026-11-20", "currency": "CNY", "rate": "0"})
    assert "Ensure this value is greater than or equal to 0" in refused.content.decode() or "must be a number above zero" in refused.content.decode()
    plain = client.get("/inventory/exchange-rates.csv")
    excel = client.get("/inventory/exchange-rates.csv?excel=1")
    assert plain.getvalue().startswith(b"date,currency,rate")
    body = excel.getvalue()
    assert body.startswith("\ufeff".encode()) and b"2026-11-20,CNY,7.1" in body
    # Rates are a money setting (issue 23): Finance keeps them too; Warehouse staff may look, not change; Analysts see nothing.
    assert client_for(alpha, make_user(alpha, role=Role.FINANCE)).get("/inventory/exchange-rates/").status_code == 200
    warehouse = client_for(alpha, make_user(alpha, role=Role.WAREHOUSE))
    assert "Only Finance, Managers and Owners" in warehouse.get("/inventory/exchange-rates/").content.decode()
    assert warehouse.post("/inventory/exchange-rates/", {"action": "add", "rate_date": "2026-11-21", "currency": "CNY", "rate": "1"}).status_code == 403
    assert client_for(alpha, make_user(alpha, role=Role.ANALYST)).get("/inventory/exchange-rates/").status_code == 403


# ---------------------------------------------------------------- deadlines


def test_a_deadline_shows_local_time_and_time_remaining():
    template = Template("{% load fanout_l10n %}{% deadline when %}")
    now = timezone.now()
    with timezone.override(SHANGHAI):
        soon = template.render(Context({"when": now + timedelta(hours=2, minutes=30, seconds=30)}))
        late = template.render(Context({"when": now - timedelta(hours=26, minutes=5)}))
    assert "in 2 h 30 min" in soon and 'class="badge warn"' in soon
    assert "overdue by 1 d 2 h" in late and 'class="badge err"' in late
    from django.utils import formats

    local = (now + timedelta(hours=2, minutes=30, seconds=30)).astimezone(SHANGHAI)
    assert formats.date_format(local, "SHORT_DATETIME_FORMAT") in soon and 'title="CST"' in soon  # the reader's zone
    with translation.override("zh-hans"), timezone.override(SHANGHAI):
        assert "超时" in template.render(Context({"when": now - timedelta(hours=1)}))


# ---------------------------------------------------------------- PDF with Chinese glyphs


def test_purchase_order_pdf_prints_chinese_product_names_with_an_embedded_cjk_font(shop, alpha):
    from pypdf import PdfReader

    owner = make_user(alpha, role=Role.OWNER, language="zh-hans")
    supplier = Supplier.objects.create(name="义乌包装有限公司", currency="CNY")
    sku = make_sku("FX-PDF")
    sku.title = "玫瑰丝绒唇釉"
    sku.save()
    po = purchase_order_create(supplier_id=supplier.pk, warehouse_id=shop["LA"].pk, lines=[(sku.pk, 12, cny("8.50"))])
    response = client_for(alpha, owner).get(f"/inventory/purchase-orders/{po.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "玫瑰丝绒唇釉" in text and "义乌包装有限公司" in text and "采购单" in text
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts") or [font]
            for d in descendants:
                descriptor = d.get_object().get("/FontDescriptor")
                if descriptor is not None and any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    fonts.add(str(d.get_object()["/BaseFont"]))
    assert any("Noto-Sans-CJK-SC" in f or "NotoSansCJKsc" in f for f in fonts), fonts  # embedded, so it prints the same everywhere
    assert "102.00" in text and "CNY" in text  # 12 × 8.50, with its currency


# ---------------------------------------------------------------- sign-up and invitations follow the browser


def test_signup_takes_business_time_zone_and_currency_and_the_owner_gets_the_browsers_language_and_zone(committed):
    from tests.sellers.signup_flow import signup_end_to_end

    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    response = signup_end_to_end(client, {"company_name": "深圳好物", "subdomain": "szgoods", "owner_email": "boss@szgoods.test",
                                          "time_zone": "America/New_York", "base_currency": "USD", "browser_time_zone": "Asia/Shanghai"})
    assert response.status_code == 302
    try:
        with schema_context("public"):
            seller = Seller.objects.get(subdomain="szgoods")
        assert (seller.time_zone, seller.base_currency) == ("America/New_York", "USD")
        with tenant_context(seller):
            from accounts.models import User

            owner = User.objects.get()
            assert (owner.language, owner.time_zone) == ("zh-hans", "Asia/Shanghai")
    finally:
        with schema_context("public"):
            Seller.objects.get(subdomain="szgoods").delete(force_drop=True)
            SignupRequest.objects.filter(subdomain="szgoods").delete()


def test_business_settings_are_for_owners_and_lock_the_base_currency_once_stock_is_costed(shop, alpha):
    owner = make_user(alpha, role=Role.OWNER)
    client = client_for(alpha, owner)
    assert client_for(alpha, make_user(alpha, role=Role.MANAGER)).get("/team/business/").status_code == 403
    ok = client.post("/team/business/", {"name": alpha.name, "time_zone": "Asia/Shanghai", "base_currency": "USD"}, follow=True)
    assert "Business settings saved." in ok.content.decode()
    with schema_context("public"):
        assert Seller.objects.get(pk=alpha.pk).time_zone == "Asia/Shanghai"
    from tests.inventory.factories import receive

    receive(make_sku("FX-LOCK"), shop["LA"], 5)
    refused = client.post("/team/business/", {"name": alpha.name, "time_zone": "Asia/Shanghai", "base_currency": "CNY"})
    assert "cannot change once stock has been costed" in refused.content.decode()
    with schema_context("public"):
        assert Seller.objects.get(pk=alpha.pk).base_currency == "USD"
