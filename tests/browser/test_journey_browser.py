"""The whole journey of a new seller, in Debian's Chromium against the real web server (gunicorn),
a real Celery worker and the platform sandbox over real HTTP:

sign up (the emailed confirmation link, a password, the progress page) → invite Finance and
Warehouse staff (they accept the emailed links) → a supplier, SKUs, a warehouse, a purchase order received into FIFO cost lots → connect the sandbox TikTok Shop and map
its items → a creator with her own rate → the shop emits orders (two of them hers), the worker
routes them → the warehouse packs and ships them with tracking, which reaches the shop → TikTok
reports them delivered, commissions accrue → the period closes → the creator accepts her portal
invitation and confirms the statement → Finance approves and pays it in a payout batch → the
cockpit shows the orders' GMV and net profit, to the cent as the order pages' waterfall.

Steps without a page are marked "no UI:" (things that happen on TikTok's side or with the passing
of time). Screenshots: test-artifacts/journey-NN-<step>.png. Prints journey_seconds=<n>.
"""
import re
import secrets
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django_tenants.utils import schema_context, tenant_context
from playwright.sync_api import expect

from erp.celery import app
from sellers.models import Seller, SignupRequest
from tests.support import ROOT, free_port, start_web_server, wait_for

ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "Journey-through-2026!"
D = Decimal




def _mails(folder: Path) -> list[str]:
    return [p.read_text() for p in sorted(folder.glob("*.log"))] if folder.exists() else []


def _link(folder: Path, recipient: str, pattern: str, what: str) -> str:
    """The link in the latest email to `recipient` (Django's file backend: one .log file per run)."""
    def found():
        for text in reversed(_mails(folder)):
            for message in reversed(text.split("-" * 79)):
                if f"To: {recipient}" in message:
                    match = re.search(pattern, message)
                    if match:
                        return match.group(0)
        return None
    return wait_for(found, what, timeout=45)


def _choose(select, text: str) -> None:
    """Pick the option of `select` whose text contains `text`."""
    select.select_option(select.locator("option", has_text=text).first.get_attribute("value"))


def _money(text: str) -> Decimal:
    """The first amount like 1,234.56 in `text`."""
    return D(re.search(r"-?[\d,]+\.\d\d", text).group(0).replace(",", ""))


@pytest.mark.browser
@pytest.mark.worker
def test_a_new_seller_from_sign_up_to_profit(committed, worker, sandbox, browser, tmp_path):
    from commissions.models import CommissionLine, Statement, StatementStatus
    from commissions.services.settlement import period_close, period_get
    from commissions.services.waterfall import order_profit
    from creators.models import Creator
    from creators.services.policy import creator_terms
    from erp.l10n import business_date_of
    from inventory.models import SKU, CostLot
    from orders.models import Order, OrderStatus

    started = time.monotonic()
    sandbox_url, store = sandbox
    port = free_port()
    web_mail = tmp_path / "web-mail"
    # The web server's tasks go to this test's worker; emails it sends itself (portal invitations)
    # land in web_mail; "connect to the local platform sandbox" reaches this test's sandbox.
    server = start_web_server(port, CELERY_DEFAULT_QUEUE=app.conf.task_default_queue, FANOUT_PLATFORM_SANDBOX_URL=sandbox_url,
                              DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", DJANGO_EMAIL_FILE_PATH=str(web_mail))
    subdomain = f"jr{secrets.token_hex(3)}"
    site = f"http://{subdomain}.localhost:{port}"
    contexts = []

    def person(**kwargs):
        context = browser.new_context(**({"viewport": {"width": 1360, "height": 900}} | kwargs))
        contexts.append(context)
        return context.new_page()

    step = [0]

    def shot(page, name: str):
        step[0] += 1
        page.screenshot(path=str(ARTIFACTS / f"journey-{step[0]:02d}-{name}.png"), full_page=True)

    def sign_in(page, email):
        page.goto(f"{site}/login/")
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector(".side")

    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("journey-*.png"):
        old.unlink()
    try:
        # 1. Sign-up on the public site: the form, the emailed link, a password, the progress page.
        owner = person()
        owner.goto(f"http://localhost:{port}/")
        owner.get_by_role("link", name="Create your seller account").click()
        owner.get_by_label("Company name").fill("Glow Journey Cosmetics")
        owner.get_by_label("Subdomain").fill(subdomain)
        owner.get_by_label("Your email").fill("olivia@glow.test")
        owner.get_by_role("button", name="Email me the confirmation link").click()
        expect(owner.get_by_role("heading", name="Check your email")).to_be_visible()
        # The worker sends the link; its FANOUT_SITE_URL names port 8000, this server runs on another.
        link = _link(worker["mail_dir"], "olivia@glow.test", r"http://\S+/signup/confirm/\S+/", "the sign-up confirmation email")
        owner.goto(re.sub(r"^http://[^/]+", f"http://localhost:{port}", link))
        owner.get_by_label("Choose a password").fill(PASSWORD)
        owner.get_by_label("Repeat the password").fill(PASSWORD)
        owner.get_by_role("button", name="Create my seller site").click()
        owner.wait_for_url(f"{site}/", timeout=60_000)
        expect(owner.get_by_role("heading", name="Hello, olivia")).to_be_visible()
        expect(owner.get_by_text("Welcome to Fanout! Your seller site is ready.")).to_be_visible()
        shot(owner, "signed-up")
        with schema_context("public"):
            seller = Seller.objects.get(subdomain=subdomain)

        # 2. The owner invites Finance and Warehouse staff; each opens the emailed link and joins.
        owner.locator(".side").get_by_role("link", name="Team").click()
        staff = {"finance": "fiona@glow.test", "warehouse": "wes@glow.test"}
        for role, email in staff.items():
            invite = owner.locator("form[action$='/team/invite/']")
            invite.get_by_label("Email").fill(email)
            invite.get_by_label("Role").select_option(role)
            invite.get_by_role("button", name="Send invitation").click()
            expect(owner.get_by_text(f"Invitation sent to {email}.")).to_be_visible()
        expect(owner.get_by_role("cell", name="fiona@glow.test", exact=True)).to_be_visible()
        shot(owner, "team-invited")
        pages = {}
        for role, email in staff.items():
            # The worker sends the invitation; its FANOUT_SITE_URL names port 8000, this server runs on another.
            link = _link(worker["mail_dir"], email, r"http://\S+/invite/\S+/", f"the invitation email to {email}")
            link = re.sub(r"^http://[^/]+", site, link)
            page = pages[role] = person()
            page.goto(link)
            expect(page.get_by_role("heading", name="Join the team")).to_be_visible()
            page.get_by_label("Your name").fill({"finance": "Fiona Finance", "warehouse": "Wes Warehouse"}[role])
            page.get_by_label("Choose a password").fill(PASSWORD)
            page.get_by_label("Repeat the password").fill(PASSWORD)
            page.get_by_role("button", name="Create my account").click()
            expect(page.get_by_text(f"Welcome aboard! You joined as {role.title()}.")).to_be_visible()
            if role == "finance":
                shot(page, "finance-joined")
        expect(pages["warehouse"].locator(".side").get_by_role("link", name="Warehouses")).to_be_visible()
        expect(pages["warehouse"].locator(".side").get_by_role("link", name="Commissions")).to_have_count(0)
        finance, wes = pages["finance"], pages["warehouse"]

        # 3. A supplier (seller admin), a warehouse, SKUs by CSV, a purchase order received into stock.
        owner.goto(f"{site}/admin/inventory/supplier/add/")
        owner.fill("input[name=name]", "Shenzhen Glow Labs")
        owner.fill("input[name=lead_time_days]", "12")
        owner.fill("input[name=currency]", "USD")
        owner.get_by_role("button", name="Save", exact=True).click()
        expect(owner.get_by_text("Shenzhen Glow Labs").first).to_be_visible()

        owner.goto(f"{site}/")
        owner.locator(".side").get_by_role("link", name="Warehouses").click()
        expect(owner.get_by_text("No warehouses yet.")).to_be_visible()
        owner.fill("#id_code", "LAX")
        owner.fill("#id_name", "Los Angeles DC")
        owner.get_by_label("Street address").fill("2000 E 7th St")
        owner.get_by_label("US ZIP code").fill("90021")
        owner.get_by_label("Storage cost per unit per month (USD)").fill("0.12")
        owner.get_by_role("button", name="Add warehouse").click()
        expect(owner.get_by_text(re.compile(r"Warehouse LAX added in Los Angeles, CA"))).to_be_visible()
        shot(owner, "warehouse")

        owner.locator(".side").get_by_role("link", name="Inventory").click()
        owner.get_by_role("link", name="Import CSV").click()
        catalogue = ("code,title,product,category,weight_grams,default_unit_cost,cost_currency,preferred_supplier,list_price\n"
                     "GLOW-SERUM,Glow serum 30 ml,Glow serum,Skincare,120,22.00,USD,Shenzhen Glow Labs,89.00\n"
                     "GLOW-MASK,Sheet mask 5-pack,Sheet mask,Skincare,90,9.00,USD,Shenzhen Glow Labs,45.00\n")
        owner.locator("input[type=file]").set_input_files({"name": "catalogue.csv", "mimeType": "text/csv", "buffer": catalogue.encode()})
        owner.get_by_role("button", name="Preview").click()
        expect(owner.get_by_role("heading", name="Ready: 2 new, 0 updated")).to_be_visible()
        owner.get_by_role("button", name="Apply import").click()
        expect(owner.get_by_text("Imported: 2 new SKUs, 0 updated.")).to_be_visible()
        shot(owner, "skus")

        owner.get_by_role("link", name="Purchase orders").click()
        owner.get_by_role("link", name="New purchase order").first.click()
        owner.get_by_label("Supplier").select_option(label="Shenzhen Glow Labs")
        _choose(owner.get_by_label("Deliver to"), "LAX")
        rows = owner.locator("tbody tr")
        for n, (code, quantity, cost) in enumerate((("GLOW-SERUM", "100", "22.00"), ("GLOW-MASK", "50", "9.00"))):
            _choose(rows.nth(n).locator("select"), code)
            rows.nth(n).locator("input[name$=quantity]").fill(quantity)
            rows.nth(n).locator("input[name$=unit_cost]").fill(cost)
        shot(owner, "po-new")
        owner.get_by_role("button", name="Create draft").click()
        expect(owner.get_by_text(re.compile(r"Draft PO-\d{6}-\d{5} created"))).to_be_visible()
        po_number = owner.locator("h1").inner_text().split()[0]
        owner.get_by_role("button", name="Mark as sent").click()
        expect(owner.get_by_text(f"{po_number} marked as sent to the supplier.")).to_be_visible()
        owner.get_by_label("Receive GLOW-SERUM").fill("100")
        owner.get_by_label("Receive GLOW-MASK").fill("50")
        owner.fill("input[name=landed_cost]", "30.00")
        owner.get_by_role("button", name="Receive into stock").click()
        expect(owner.get_by_text(f"Received into LAX; {po_number} is now Received.")).to_be_visible()
        shot(owner, "po-received")
        with tenant_context(seller):
            serum = SKU.objects.get(code="GLOW-SERUM")
            lot = CostLot.objects.get(sku=serum)
            assert (lot.reference, lot.quantity_received) == (po_number, 100)
            # 30.00 of freight over 150 units lands on each unit; the FIFO lot carries it.
            assert D(lot.unit_cost.amount) > D("22.00")
        owner.locator(".side").get_by_role("link", name="Inventory").click()
        owner.get_by_role("link", name="GLOW-SERUM").first.click()
        lots = owner.locator("table").filter(has_text=po_number).first
        expect(lots).to_contain_text("100 / 100")
        shot(owner, "fifo-lot")

        # 4. Connect the sandbox TikTok Shop and map its items to the SKUs.
        # no UI (TikTok's side): the seller's TikTok app, its credentials and its webhook address.
        remote = httpx.post(f"{sandbox_url}/_sandbox/tiktok/shops", json={
            "name": "Glow Journey TikTok", "webhook_url": f"{site}/hooks/tiktok-shop/",
            "items": [{"product_id": "P-GLOW", "sku_id": "TT-SERUM", "quantity": 0}, {"product_id": "P-GLOW", "sku_id": "TT-MASK", "quantity": 0}],
        }).json()
        shop_id = remote["shop_id"]
        owner.locator(".side").get_by_role("link", name="Channels").click()
        owner.get_by_role("link", name=re.compile("Connect")).first.click()
        owner.select_option("#id_platform", "tiktok_shop")
        owner.fill("#id_name", "Glow on TikTok")
        owner.fill("#id_shop_id", shop_id)
        owner.fill("#id_shop_cipher", remote["cipher"])
        owner.fill("#id_stock_location", remote["warehouse_id"])
        owner.fill("#id_app_key", remote["app_key"])
        owner.fill("#id_app_secret", remote["app_secret"])
        owner.fill("#id_access_token", remote["access_token"])
        owner.fill("#id_refresh_token", remote["refresh_token"])
        owner.check("#id_use_sandbox")
        shot(owner, "connect")
        owner.get_by_role("button", name="Test and connect").click()
        expect(owner.get_by_text("Glow on TikTok is connected.")).to_be_visible()
        expect(owner.locator("code").filter(has_text=f"{site}/hooks/tiktok-shop/")).to_be_visible()
        owner.get_by_label("…or paste CSV").fill("sku,platform_product_id,platform_sku_id\nGLOW-SERUM,P-GLOW,TT-SERUM\nGLOW-MASK,P-GLOW,TT-MASK\n")
        owner.get_by_role("button", name="Import mapping").click()
        expect(owner.get_by_text("2 listing(s) mapped; their stock is being pushed.")).to_be_visible()
        # The worker pushes the sellable stock to the shop.
        wait_for(lambda: httpx.get(f"{sandbox_url}/_sandbox/stock").json()["tiktok"][shop_id] == {"TT-SERUM": 100, "TT-MASK": 50},
              "the stock to reach the TikTok shop", timeout=45)
        owner.reload()
        shot(owner, "channel-mapped")

        # 5. A creator with her own rate (the Creator module); the shop emits orders, two of them hers.
        owner.locator(".side").get_by_role("link", name="Creators").click()
        owner.get_by_role("link", name=re.compile("Add a creator")).first.click()
        owner.fill("#id_handle", "mia.glows")
        owner.fill("#id_display_name", "Mia Glows")
        owner.fill("#id_email", "mia@creators.test")
        owner.select_option("#id_initial_status", "active")
        owner.select_option("#id_initial_tier", "A")
        owner.fill("#id_rate_percent", "18")
        owner.get_by_role("button", name="Save", exact=True).click()
        expect(owner.get_by_text("Added @mia.glows.")).to_be_visible()
        shot(owner, "creator")
        with tenant_context(seller):
            mia = Creator.objects.get(handle="mia.glows")
            assert mia.commission_rate_override == D("0.1800")

        # no UI (buyers on TikTok): three orders; Mia's are tagged with her handle (a direct deal: TikTok takes no commission).
        def buy(lines, creator=None):
            body = {"lines": [{"sku_id": sku, "quantity": q, "price": p} for sku, q, p in lines]}
            if creator:
                body["creator_username"] = creator
            answer = httpx.post(f"{sandbox_url}/_sandbox/tiktok/{shop_id}/orders", json=body, timeout=20).json()
            assert [d["status"] for d in answer["deliveries"]] == [200], answer
            return answer["order_id"]

        tiktok_ids = [buy([("TT-SERUM", 2, "89.00")], "mia.glows"), buy([("TT-SERUM", 1, "89.00"), ("TT-MASK", 1, "45.00")], "mia.glows"),
                      buy([("TT-MASK", 1, "45.00")])]

        # 6. The worker routes them to LAX; Wes packs and ships them with tracking, which goes back to TikTok.
        with tenant_context(seller):
            wait_for(lambda: Order.objects.filter(external_id__in=tiktok_ids, status=OrderStatus.ROUTED).count() == 3, "the worker to route the orders", timeout=45)
            orders = {o.external_id: o for o in Order.objects.filter(external_id__in=tiktok_ids)}
            assert [orders[i].creator_id for i in tiktok_ids] == [mia.pk, mia.pk, None]
            assert not any(o.platform_pays_commission for o in orders.values())
        owner.locator(".side").get_by_role("link", name="Orders").click()
        for external_id in tiktok_ids:
            expect(owner.get_by_text(external_id).first).to_be_visible()
        shot(owner, "orders-routed")

        wes.locator(".side").get_by_role("link", name="Warehouses").click()
        wes.get_by_role("link", name=re.compile("3 to pick")).click()
        expect(wes.get_by_role("heading", name="LAX Los Angeles DC: work queue")).to_be_visible()
        shot(wes, "queue")
        for _ in range(3):
            wes.get_by_role("button", name="Packed", exact=True).nth(1).click()  # the first is the scan form's
            expect(wes.get_by_text(re.compile(r"S\d{7} packed\."))).to_be_visible()
        expect(wes.get_by_role("heading", name=re.compile(r"^Packed"))).to_be_visible()
        for n in range(3):
            row = wes.locator("tr").filter(has=wes.get_by_role("button", name="Ship")).first
            row.get_by_label("Carrier").fill("UPS")
            row.get_by_label("Tracking number").fill(f"1ZGLOW{n:04d}")
            row.get_by_label("Label cost (optional)").fill("6.25")
            if n == 0:
                shot(wes, "ship-form")
            row.get_by_role("button", name="Ship").click()
            expect(wes.get_by_text(re.compile(r"S\d{7} shipped; tracking goes to the channel now\."))).to_be_visible()
        expect(wes.get_by_text("Nothing to pick, pack or ship.")).to_be_visible()
        shot(wes, "shipped")
        # The tracking numbers reached the shop (TikTok's package ship, sent by the worker).
        remote_orders = store.tiktok[shop_id]["orders"]
        wait_for(lambda: all(remote_orders[i].get("tracking_number") for i in tiktok_ids), "the tracking push to TikTok")
        assert sorted(remote_orders[i]["tracking_number"] for i in tiktok_ids) == ["1ZGLOW0000", "1ZGLOW0001", "1ZGLOW0002"]
        assert {remote_orders[i]["status"] for i in tiktok_ids} == {"IN_TRANSIT"}
        # And the shop shows the stock left: 100 − 3 serums, 50 − 2 masks.
        wait_for(lambda: httpx.get(f"{sandbox_url}/_sandbox/stock").json()["tiktok"][shop_id] == {"TT-SERUM": 97, "TT-MASK": 48},
              "the stock after shipping to reach the shop", timeout=45)

        # 7. no UI (the carrier and TikTok): delivered, reported by TikTok's status webhook; the worker accrues Mia's commission.
        for external_id in tiktok_ids:
            answer = httpx.post(f"{sandbox_url}/_sandbox/tiktok/{shop_id}/orders/{external_id}", json={"status": "DELIVERED"}, timeout=20).json()
            assert [d["status"] for d in answer["deliveries"]] == [200]
        with tenant_context(seller):
            wait_for(lambda: Order.objects.filter(external_id__in=tiktok_ids, status=OrderStatus.DELIVERED).count() == 3, "the orders to be delivered", timeout=45)
            wait_for(lambda: CommissionLine.objects.filter(creator=mia).count() == 3, "the commission to accrue", timeout=45)
            lines = list(CommissionLine.objects.filter(creator=mia).order_by("amount"))
            # 18% of each line: 45.00 → 8.10, 89.00 → 16.02, 2 × 89.00 → 32.04.
            assert [(l.amount, l.rate_source, l.platform_paid) for l in lines] == [
                (D("8.10"), "creator", False), (D("16.02"), "creator", False), (D("32.04"), "creator", False)]
            commission = sum(l.amount for l in lines)
            payable_at = max(l.payable_at for l in lines)
            profits = {i: order_profit(Order.objects.get(external_id=i)) for i in tiktok_ids}
        first = orders[tiktok_ids[0]]
        owner.goto(f"{site}/orders/{first.pk}/")
        expect(owner.locator("h1")).to_contain_text("Delivered")
        expect(owner.get_by_text("1ZGLOW").first).to_be_visible()
        expect(owner.get_by_text("32.04").first).to_be_visible()  # Mia's commission in the waterfall
        net_first = profits[tiktok_ids[0]].total("net")
        expect(owner.get_by_text(f"{net_first:,.2f}").first).to_be_visible()
        shot(owner, "order-delivered")
        owner.goto(f"{site}/commissions/lines/")
        expect(owner.get_by_text("32.04").first).to_be_visible()
        shot(owner, "commission-lines")

        # 8. no UI (time passes): the 30-day return window and the end of Mia's semi-monthly period. Beat's hourly close
        # would run the same service (the Periods page refuses a period that has not ended, by the server's clock).
        with tenant_context(seller):
            cycle = creator_terms(mia).settlement_cycle
            period = period_get(cycle, business_date_of(payable_at))
            period = period_close(cycle=cycle, day=period.first_day, now=period.ends_at + timedelta(minutes=5))
            statement = Statement.objects.get(creator=mia, period=period)
            assert (statement.status, statement.closing, statement.payout_due) == (StatementStatus.ISSUED, commission, commission)
        owner.goto(f"{site}/commissions/statements/")
        expect(owner.get_by_role("link", name=statement.number)).to_be_visible()
        shot(owner, "statement-issued")

        # 9. Mia is invited to the portal from her page, sets a password on her phone and confirms the statement.
        owner.locator(".side").get_by_role("link", name="Creators").click()
        owner.get_by_role("link", name=re.compile("mia.glows")).first.click()
        owner.get_by_role("button", name="Invite to the portal").click()
        expect(owner.get_by_text("Portal invitation sent to mia@creators.test.")).to_be_visible()
        shot(owner, "portal-invited")
        link = _link(web_mail, "mia@creators.test", rf"{re.escape(site)}/portal/invite/\S+/", "the portal invitation email")
        mia_page = person(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        mia_page.goto(link)
        mia_page.fill("input[name=password]", PASSWORD)
        mia_page.fill("input[name=password2]", PASSWORD)
        mia_page.get_by_role("button", name="Save password").click()
        expect(mia_page.get_by_text("Welcome, @mia.glows!")).to_be_visible()
        tiles = mia_page.locator(".tile")
        expect(tiles.filter(has_text="Sales (GMV)")).to_contain_text("312.00 USD")
        expect(tiles.filter(has_text="Commission earned")).to_contain_text(f"{commission:.2f} USD")
        expect(tiles.filter(has_text="In the return window")).to_contain_text("0.00 USD")  # the statement holds it now
        expect(tiles.filter(has_text="Payable balance")).to_contain_text(f"{commission:.2f} USD")
        shot(mia_page, "portal-dashboard")
        mia_page.get_by_role("link", name="Statements").click()
        mia_page.get_by_role("link", name=statement.number).click()
        expect(mia_page.get_by_text(f"{commission:.2f}").first).to_be_visible()
        mia_page.get_by_role("button", name="Confirm", exact=True).click()
        expect(mia_page.get_by_text(f"statement {statement.number} is confirmed")).to_be_visible()
        shot(mia_page, "portal-confirmed")

        # 10. Fiona (Finance) approves it, puts it in a payout batch and records the bank payment.
        finance.locator(".side").get_by_role("link", name="Commissions").click()
        finance.goto(f"{site}/commissions/statements/{statement.pk}/")
        expect(finance.get_by_text("Confirmed").first).to_be_visible()
        finance.get_by_role("button", name="Approve for payout").click()
        expect(finance.get_by_text("Statement approved for payout.")).to_be_visible()
        finance.goto(f"{site}/commissions/payouts/")
        expect(finance.get_by_role("cell", name=f"{commission:.2f} USD")).to_be_visible()
        shot(finance, "payout-ready")
        finance.get_by_role("button", name="Create payout batch").click()
        expect(finance.get_by_text(re.compile(r"Batch \S+ created"))).to_be_visible()
        finance.get_by_label("Payout reference").fill("BANK-RUN-0001")
        finance.get_by_role("button", name="Record as paid").click()
        expect(finance.get_by_text(re.compile(r"Batch \S+ recorded as paid\."))).to_be_visible()
        expect(finance.locator(".card").get_by_text(f"{commission:.2f} USD").first).to_be_visible()
        shot(finance, "paid")
        with tenant_context(seller):
            statement.refresh_from_db()
            assert statement.status == StatementStatus.PAID
        mia_page.reload()
        expect(mia_page.get_by_text("Paid").first).to_be_visible()

        # 11. The cockpit: bi.refresh (beat runs it every minute) and Fiona reads GMV and net profit.
        with tenant_context(seller):
            from bi.services.refresh import refresh

            refresh()
        gmv = sum(p.total("price") for p in profits.values())
        net = sum(p.total("net") for p in profits.values())
        assert gmv == D("357.00")
        finance.locator(".side").get_by_role("link", name="Insights").click()
        finance.wait_for_load_state("networkidle")
        expect(finance.get_by_role("heading", name="Cockpit")).to_be_visible()
        cards = finance.locator(".kpi").all_inner_texts()
        assert "USD" in cards[0] and _money(cards[0]) == gmv, cards
        assert re.search(r"\b3\b", cards[1]), cards
        assert "USD" in cards[2] and _money(cards[2]) == net, cards
        shot(finance, "cockpit")

        seconds = time.monotonic() - started
        print(f"\njourney_seconds={seconds:.0f}")
    finally:
        for context in contexts:
            context.close()
        server.terminate()
        server.wait(timeout=20)
        with schema_context("public"):
            for seller in Seller.objects.filter(subdomain=subdomain):
                seller.delete(force_drop=True)
            SignupRequest.objects.filter(subdomain=subdomain).delete()
