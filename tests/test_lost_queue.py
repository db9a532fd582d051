"""Redis restarts without persistence and takes every queued task with it. The work those tasks were
to do is found again by the sweeps that real celery beat sends, and done: orders announced by webhook,
an order waiting for its pipeline, a backorder that arriving stock can now fill, a supply request
that arriving stock can now serve, a tracking push, a 3PL-less shipment's channel update, a staff
invitation email, an owners' re-authorisation alert and a period close someone asked for."""
import json
import secrets
from datetime import timedelta

import httpx
import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from bench.soak import BeatProcess, WorkerProcess, schedule_reset
from sellers.models import Seller
from sellers.services import seller_signup
from tests.support import PASSWORD, PrivateRedis, celery_broker, client_for, subprocess_env, wait_for


@pytest.fixture
def lost_seller(committed, sandbox):
    subdomain = f"lostq{secrets.token_hex(3)}"
    seller = seller_signup(company_name="Lost Queue Co", subdomain=subdomain, owner_email=f"o@{subdomain}.test", password=PASSWORD).seller
    redis = PrivateRedis().start()
    try:
        yield seller, redis, sandbox[0]
    finally:
        redis.stop()
        connection.set_schema_to_public()
        with schema_context("public"):
            schedule_reset()
            Seller.objects.get(pk=seller.pk).delete(force_drop=True)


def _webhook(seller, shop: dict, event_id: str, order_id: str) -> None:
    from connectors.clients.tiktok import tiktok_webhook_signature

    body = json.dumps({"type": 1, "tts_notification_id": event_id, "shop_id": shop["shop_id"], "timestamp": int(timezone.now().timestamp()),
                       "data": {"order_id": order_id, "order_status": "AWAITING_SHIPMENT"}}).encode()
    signature = tiktok_webhook_signature(app_key=shop["app_key"], app_secret=shop["app_secret"], raw_body=body)
    assert client_for(seller).post("/hooks/tiktok-shop/", data=body, content_type="application/json", HTTP_AUTHORIZATION=signature).status_code == 200


@pytest.mark.worker
def test_work_a_restarted_redis_lost_is_found_again_by_the_sweeps(lost_seller, tmp_path):
    from accounts.models import Invitation, User
    from accounts.modules import Role
    from accounts.services import invitation_create
    from commissions.models import SettlementPeriod
    from commissions.services.settlement import period_close_request
    from connectors.models import ChannelAccount, InboxStatus, WebhookEvent
    from connectors.services import account_mark_needs_reauth
    from creators.models import SupplyRequest, SupplyStatus
    from creators.services.supply import supply_request_submit
    from orders.models import Order, OrderStatus, Shipment
    from orders.services.intake import Intake, IntakeLine, order_upsert
    from orders.services.pipeline import order_pipeline, shipment_pack, shipment_ship
    from tests.connectors.factories import tiktok_shop
    from tests.creators.factories import make_creator
    from tests.inventory.factories import make_sku, make_warehouses, receive

    seller, redis, sandbox_url = lost_seller
    queue = f"test-lost-{secrets.token_hex(4)}"
    ca = {"ship_name": "Ana Buyer", "ship_line1": "1 Main St", "ship_city": "Los Angeles", "ship_state": "CA", "ship_zip": "90012"}
    with tenant_context(seller), celery_broker(redis.url, queue=queue):
        # Every task the work below queues goes to the private Redis, which nobody consumes yet.
        owner = User.objects.get(role=Role.OWNER)
        la = make_warehouses()["LA"]
        stocked, short, scarce = make_sku("LQ-STOCKED"), make_sku("LQ-SHORT"), make_sku("LQ-SCARCE")
        receive(stocked, la, 100)
        receive(scarce, la, 1)
        account, shop = tiktok_shop(sandbox_url, skus=[stocked])
        spare, _spare_shop = tiktok_shop(sandbox_url, name="Second TikTok")
        # 1. Three orders announced by webhook: stored in the inbox, their processing queued.
        announced = [str(httpx.post(f"{sandbox_url}/_sandbox/tiktok/{shop['shop_id']}/orders", json={
            "lines": [{"sku_id": f"T{stocked.pk}", "quantity": 1, "price": "19.99"}], "silent": True}).json()["order_id"]) for _ in range(3)]
        for i, order_id in enumerate(announced):
            _webhook(seller, shop, f"LOST-{i}", order_id)
        # 2. An order taken in whose pipeline task was queued.
        waiting, _ = order_upsert(Intake(channel="manual", external_id="LQ-WAIT", address=ca, lines=[IntakeLine(sku="LQ-STOCKED", quantity=1, unit_price="10")]))
        # 3. A backordered order, then the stock it needs arrives (its retry is queued).
        backordered, _ = order_upsert(Intake(channel="manual", external_id="LQ-BACK", address=ca, lines=[IntakeLine(sku="LQ-SHORT", quantity=2, unit_price="10")]))
        order_pipeline(order_id=backordered.pk)
        assert Order.objects.get(pk=backordered.pk).status == OrderStatus.BACKORDERED
        receive(short, la, 5, reference="PO-LATE")
        # 4. A creator's request waits for scarce stock, then it arrives (the drain is queued).
        request = supply_request_submit(reference="LQ-SR1", creator_id=make_creator("lq.creator").pk, warehouse_id=la.pk, lines=[(scarce.pk, 10)])
        assert request.status == SupplyStatus.WAITING
        receive(scarce, la, 50, reference="PO-SCARCE")
        # 5. A parcel shipped: its tracking push to TikTok is queued.
        _webhook_done = httpx.post(f"{sandbox_url}/_sandbox/tiktok/{shop['shop_id']}/orders", json={
            "lines": [{"sku_id": f"T{stocked.pk}", "quantity": 1, "price": "19.99"}], "silent": True}).json()["order_id"]
        from orders.services.channels import tiktok_order_sync

        tiktok_order_sync(account=account, external_ids=[str(_webhook_done)])
        shipped = Order.objects.get(external_id=str(_webhook_done))
        order_pipeline(order_id=shipped.pk)
        shipment = shipped.shipments.get()
        shipment_pack(shipment_id=shipment.pk)
        shipment_ship(shipment_id=shipment.pk, carrier="UPS", tracking_number="1ZLOSTQ0001")
        # 6. A staff invitation (its email is queued) and 7. a shop that needs re-authorising (the owners' alert is queued).
        invitation = invitation_create(email=f"hire@{seller.subdomain}.test", role=Role.ANALYST, invited_by=owner)
        account_mark_needs_reauth(account_id=spare.pk, reason="TikTok Shop: the seller deauthorised Fanout")
        # 8. Finance asks to close last month (the close is queued).
        last_month = (timezone.now() - timedelta(days=40)).date()
        period = period_close_request(cycle="monthly", day=last_month, user=owner)
        assert period.status == SettlementPeriod.Status.CLOSING

        assert WebhookEvent.objects.filter(status=InboxStatus.PENDING).count() == 3

    # Redis restarts without persistence: every queued task above is gone.
    from redis import Redis

    assert Redis.from_url(redis.url).llen(queue) > 0
    redis.restart()
    assert Redis.from_url(redis.url).llen(queue) == 0

    mail = tmp_path / "mail"
    env = subprocess_env(REDIS_URL=redis.url, CELERY_BROKER_URL=redis.url, CELERY_DEFAULT_QUEUE=queue, FANOUT_RESUME_AFTER_S="2",
                         FANOUT_BEAT_EVERY_S="8", FANOUT_BEAT_RELOAD_S="30", FANOUT_PLATFORM_SANDBOX_URL=sandbox_url,
                         DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", DJANGO_EMAIL_FILE_PATH=str(mail),
                         FANOUT_SITE_URL="http://localhost:8000")
    with schema_context("public"):
        schedule_reset()
    worker = WorkerProcess(env, log=tmp_path / "worker.log", concurrency=2)
    beat = BeatProcess(worker.env, log=tmp_path / "beat.log")
    try:
        worker.start()
        beat.start()
        with tenant_context(seller):
            def all_found_and_done() -> bool:
                connection.close()  # a fresh snapshot each time (autocommit)
                return (Order.objects.filter(channel="tiktok_shop", external_id__in=announced).count() == 3
                        and not WebhookEvent.objects.filter(status=InboxStatus.PENDING).exists()
                        and Order.objects.get(external_id="LQ-WAIT").status == OrderStatus.ROUTED
                        and Order.objects.get(external_id="LQ-BACK").status == OrderStatus.ROUTED
                        and SupplyRequest.objects.get(pk=request.pk).status == SupplyStatus.SERVED
                        and Shipment.objects.get(pk=shipment.pk).tracking_pushed_at is not None
                        and Invitation.objects.get(pk=invitation.pk).email_sent_at is not None
                        and ChannelAccount.objects.get(pk=spare.pk).owners_alerted_at is not None
                        and SettlementPeriod.objects.get(pk=period.pk).status == SettlementPeriod.Status.CLOSED)

            wait_for(all_found_and_done, "the sweeps to find and finish the lost work", timeout=180, every=1)
            assert Order.objects.filter(channel="tiktok_shop", external_id__in=announced).count() == 3  # none twice
            assert Order.objects.get(pk=waiting.pk).shipments.count() == 1
    finally:
        beat.stop()
        worker.stop()
        print(beat.tail(), worker.tail())
    mails = "".join(p.read_text() for p in mail.glob("*.log"))
    assert mails.count(f"To: hire@{seller.subdomain}.test") == 1  # the invitation, once
    assert mails.count("Fanout can no longer reach TikTok Shop · Second TikTok") == 1  # the owners' alert, once
