"""Webhook throttling: an address sending refused deliveries is answered 429 past a limit (and no
longer fills the log or the channels page), a shop has a generous ceiling, and neither ever drops
the platform's own signed bursts."""
import logging
import time

import pytest
from django_tenants.utils import tenant_context

from accounts.modules import Role
from connectors.models import ChannelAccount, WebhookEvent
from connectors.services import webhook_guard
from tests.connectors.webhook_support import log_bytes, shopify_post, tiktok_body, tiktok_post, webhook_state_clear
from tests.support import client_for, make_user

TIKTOK = {"app_key": "6abc", "app_secret": "s3cret"}


@pytest.fixture
def shops(alpha, monkeypatch):
    # One counting window for the whole test, so that a minute boundary cannot fall in the middle.
    monkeypatch.setattr(webhook_guard, "WINDOW_S", 10**9)
    webhook_state_clear(alpha)
    with tenant_context(alpha):
        ChannelAccount.objects.create(platform="tiktok_shop", name="TT", shop_id="7494", access_token="t",
                                      api_base_url="http://127.0.0.1:9/tiktok", auth_url="http://127.0.0.1:9/auth", **TIKTOK)
        ChannelAccount.objects.create(platform="shopify", name="SH", shop_id="alpha.myshopify.com", app_secret="cs", webhook_secret="whsec",
                                      access_token="t", api_base_url="http://127.0.0.1:9/s", auth_url="http://127.0.0.1:9/a")
        yield alpha
    webhook_state_clear(alpha)


def _refusal_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "fanout.connectors.webhooks" and r.levelno >= logging.WARNING]


def test_webhook_refusals_from_one_address_turn_into_429_while_signed_deliveries_from_it_still_land(shops, settings, caplog):
    limit = settings.FANOUT_WEBHOOK_REFUSALS_PER_MINUTE
    client = client_for(shops)
    flooder = {"REMOTE_ADDR": "203.0.113.9"}
    statuses, landed = [], []
    with log_bytes() as logged:
        for n in range(10 * limit):
            statuses.append(tiktok_post(client, tiktok_body(event_id=f"F{n}", shop_id="7494"), app_key="6abc", app_secret="guess", **flooder)
                            .status_code)
            if n % 10 == 0:  # the platform behind the same address (one proxy, one NAT) keeps delivering
                landed.append(tiktok_post(client, tiktok_body(event_id=f"OK{n}", shop_id="7494"), **TIKTOK, **flooder).status_code)
        flood_bytes = logged()
    assert statuses == [401] * limit + [429] * (9 * limit)
    assert landed == [200] * len(landed)
    throttled = tiktok_post(client, tiktok_body(event_id="F-last", shop_id="7494"), app_key="6abc", app_secret="guess", **flooder)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0 and "retry later" in throttled.json()["error"]
    # Another address is not held back by this one.
    assert tiktok_post(client, tiktok_body(event_id="G1", shop_id="7494"), app_key="6abc", app_secret="guess",
                       REMOTE_ADDR="198.51.100.7").status_code == 401
    # The log: one line per refusal up to the limit, one saying the address is throttled, then only access lines.
    assert len(_refusal_lines(caplog)) == limit + 1 + 1, _refusal_lines(caplog)[-3:]
    assert flood_bytes < 10 * limit * 400 + 3_000
    with tenant_context(shops):
        assert sorted(WebhookEvent.objects.values_list("event_id", flat=True)) == sorted(f"OK{n}" for n in range(0, 10 * limit, 10))
    page = client_for(shops, make_user(shops, role=Role.OWNER)).get("/channels/").content.decode()
    assert f"more than {limit} refused deliveries this minute from 203.0.113.9" in page


def test_webhook_a_signed_burst_of_thousands_of_orders_all_lands_under_the_default_ceiling(shops, settings):
    assert settings.FANOUT_WEBHOOK_SHOP_PER_MINUTE >= 10_000  # bench/order_burst.py: 10,000 deliveries, well inside a minute
    client = client_for(shops)
    deliveries = [tiktok_body(event_id=f"B{n}", shop_id="7494", data={"order_id": f"57{n}", "order_status": "AWAITING_SHIPMENT"})
                  for n in range(1_600)]
    deliveries += deliveries[::4]  # a quarter delivered twice, as platforms do: 2,000 deliveries
    started = time.perf_counter()
    statuses = [tiktok_post(client, body, **TIKTOK, REMOTE_ADDR="192.0.2.10").status_code for body in deliveries]
    print(f"{len(deliveries)} signed deliveries in {time.perf_counter() - started:.1f} s")
    assert statuses == [200] * len(deliveries)
    with tenant_context(shops):
        assert WebhookEvent.objects.count() == 1_600


def test_webhook_a_shop_past_its_ceiling_is_told_to_retry_later_and_other_shops_are_not(shops, settings, caplog):
    settings.FANOUT_WEBHOOK_SHOP_PER_MINUTE = 40
    client = client_for(shops)
    answers = [tiktok_post(client, tiktok_body(event_id=f"C{n}", shop_id="7494"), **TIKTOK) for n in range(50)]
    assert [a.status_code for a in answers] == [200] * 40 + [429] * 10
    assert int(answers[-1]["Retry-After"]) > 0
    assert shopify_post(client, b'{"id": 1}', domain="alpha.myshopify.com", secret="whsec", event_id="S1").status_code == 200
    with tenant_context(shops):
        assert WebhookEvent.objects.filter(platform="tiktok_shop").count() == 40
    assert len([line for line in _refusal_lines(caplog) if "deliveries this minute for 7494" in line]) == 1


def test_webhook_refusal_count_takes_an_ipv6_client_by_its_64(shops):
    with tenant_context(shops):
        first = [webhook_guard.webhook_refusal_count(client_ip=ip)[0] for ip in ("2001:db8::1", "2001:db8::ffff:2", "2001:db8:0:0:abcd::3")]
        other = webhook_guard.webhook_refusal_count(client_ip="2001:db8:0:1::1")[0]
        mapped = [webhook_guard.webhook_refusal_count(client_ip=ip)[0] for ip in ("192.0.2.5", "::ffff:192.0.2.5")]
    assert first == [1, 2, 3] and other == 1 and mapped == [1, 2]
