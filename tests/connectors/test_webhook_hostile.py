"""Both webhook endpoints against a battery of hostile bodies, each sent with a valid signature
and with a wrong one: never a 500, an answer within a small time, nothing stored, and a bounded
number of bytes in the log (a refusal must stay cheap, whoever sends it)."""
import time
from itertools import count

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from connectors.models import ChannelAccount, WebhookEvent
from tests.connectors.webhook_support import log_bytes, shopify_post, shopify_time, tiktok_post, webhook_state_clear
from tests.fuzz.support import table_writes, written_since

SERIAL = count(1)
ANSWER_WITHIN_S = 3.0  # generous for 2 shared cores; the old code took 30 s in development (a 500 page for a deep traceback)
LOG_BYTES_MAX = 2_000  # one refusal line and one access line, each with bounded fields


@pytest.fixture
def shops(alpha):
    webhook_state_clear(alpha)
    with tenant_context(alpha):
        ChannelAccount.objects.create(platform="tiktok_shop", name="TT", shop_id="7494", app_key="6abc", app_secret="s3cret", access_token="t",
                                      api_base_url="http://127.0.0.1:9/tiktok", auth_url="http://127.0.0.1:9/auth")
        ChannelAccount.objects.create(platform="shopify", name="SH", shop_id="alpha.myshopify.com", app_secret="cs", webhook_secret="whsec",
                                      access_token="t", api_base_url="http://127.0.0.1:9/s", auth_url="http://127.0.0.1:9/a")
    return alpha


def _nest(depth: int, inner: bytes = b"1") -> bytes:
    return b'{"a":' * depth + inner + b"}" * depth


def _tiktok_envelope(data: bytes) -> bytes:
    return (b'{"type":1,"tts_notification_id":"H-%d","shop_id":"7494","timestamp":%d,"data":' % (next(SERIAL), int(time.time()))
            + data + b"}")


def _shopify_envelope(data: bytes) -> bytes:
    return b'{"id":820982911946154508,"updated_at":"%s","data":' % shopify_time().encode() + data + b"}"


def _battery(envelope) -> dict[str, bytes]:
    return {
        "array nested 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
        "object nested 10,000 deep": _nest(10_000),
        "object nested 350 deep": _nest(350),
        "object nested 900 deep": _nest(900),
        "envelope, data nested 350 deep": envelope(_nest(350)),
        "envelope, data nested 900 deep": envelope(_nest(900)),
        "envelope, lists nested 70 deep": envelope(b'{"l":' + b"[" * 70 + b"]" * 70 + b"}"),
        "wide array of a million numbers": b"[" + b"1," * 1_000_000 + b"1]",
        "array of half a million empty objects": b"[" + b"{}," * 500_000 + b"{}]",
        "huge string": b'"' + b"x" * 2_400_000 + b'"',
        "unterminated huge string": b'{"a":"' + b"x" * 2_400_000,
        "a million escaped quotes": b'["' + b'\\"' * 1_000_000 + b'"]',
        "number of a million digits": b'{"n":' + b"9" * 1_000_000 + b"}",
        "envelope, invalid UTF-8": envelope(b'{"name":"\xff\xfe\xc3("}'),
        "envelope, escaped NUL": envelope(b'{"name":"a\\u0000b"}'),
        "envelope, lone surrogate": envelope(b'{"name":"\\ud800"}'),
        "envelope, NaN": envelope(b'{"n":NaN}'),
        "envelope, larger than 2.5 MB": envelope(b'{"blob":"' + b"y" * 3_000_000 + b'"}'),
        "empty": b"",
    }


def _send(client, platform: str, body: bytes, *, signed: bool, address: str):
    extra = {"REMOTE_ADDR": address}
    if platform == "tiktok":
        return tiktok_post(client, body, app_key="6abc", app_secret="s3cret" if signed else "wrong", **extra)
    return shopify_post(client, body, domain="alpha.myshopify.com", secret="whsec" if signed else "wrong", event_id=f"hostile-{next(SERIAL)}", **extra)


@pytest.mark.parametrize("platform", ["tiktok", "shopify"])
def test_webhook_receive_refuses_every_hostile_body_cheaply_and_stores_nothing(shops, platform):
    client = Client(HTTP_HOST=f"{shops.subdomain}.localhost", raise_request_exception=False)
    envelope = _tiktok_envelope if platform == "tiktok" else _shopify_envelope
    problems = []
    with tenant_context(shops):
        for n, (name, body) in enumerate(_battery(envelope).items()):
            for signed in (True, False):
                before, writes = WebhookEvent.objects.count(), table_writes()
                with log_bytes() as logged:
                    started = time.perf_counter()
                    answer = _send(client, platform, body, signed=signed, address=f"198.51.100.{n * 2 + signed}")
                    elapsed = time.perf_counter() - started
                    logged_bytes = logged()
                what = f"{name} ({'valid' if signed else 'wrong'} signature)"
                if not 400 <= answer.status_code < 500:
                    problems.append(f"{what}: answered {answer.status_code}")
                elif answer.json().get("ok") is not False or len(answer.json().get("error", "")) < 10:
                    problems.append(f"{what}: the refusal does not say why: {answer.content[:200]!r}")
                if elapsed > ANSWER_WITHIN_S:
                    problems.append(f"{what}: answered after {elapsed:.1f} s")
                if logged_bytes > LOG_BYTES_MAX:
                    problems.append(f"{what}: {logged_bytes} bytes of log")
                if WebhookEvent.objects.count() != before or written_since(writes):
                    problems.append(f"{what}: stored something ({sorted(written_since(writes))})")
    assert not problems, "\n".join(problems)
