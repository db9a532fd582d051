"""Fixed vectors, worked out by hand from the documented recipes (PRODUCT.md) and hashed with
`openssl dgst -sha256 -hmac` — an implementation independent of ours."""
from connectors.clients.shopify import shopify_webhook_signature
from connectors.clients.tiktok import tiktok_sign, tiktok_webhook_signature

SECRET = "sandbox-secret"


def test_tiktok_sign_drops_sign_and_token_sorts_params_and_appends_the_body():
    # String signed: secret + "/order/202309/orders/search" + "app_key6abc" + "page_size20" + "shop_cipherGCP_xyz"
    #                + "timestamp1700000000" + '{"order_status":"AWAITING_SHIPMENT"}' + secret
    params = {"timestamp": "1700000000", "shop_cipher": "GCP_xyz", "app_key": "6abc", "page_size": "20",
              "sign": "must-be-ignored", "access_token": "must-be-ignored"}
    signature = tiktok_sign(app_secret=SECRET, path="/order/202309/orders/search", params=params,
                            body='{"order_status":"AWAITING_SHIPMENT"}')
    assert signature == "7bfa6947455ddf56cb89a834f69bc1c94fb7d60f7f685166980a773b4330c0cc"


def test_tiktok_sign_of_a_get_has_no_body_and_multipart_bodies_are_left_out():
    expected = "d89c9547a8faa03609234a36afa65495e750c9e5d1fe0049d7471815b969b6e0"
    params = {"app_key": "6abc", "timestamp": "1700000000"}
    assert tiktok_sign(app_secret=SECRET, path="/authorization/202309/shops", params=params) == expected
    assert tiktok_sign(app_secret=SECRET, path="/authorization/202309/shops", params=params, body="--boundary--",
                       content_type="multipart/form-data; boundary=x") == expected


def test_tiktok_webhook_signature_is_hmac_of_app_key_plus_raw_body():
    body = b'{"type":1,"tts_notification_id":"7327","shop_id":"7494","timestamp":1700000000,"data":{"order_id":"576"}}'
    assert tiktok_webhook_signature(app_key="6abc", app_secret=SECRET, raw_body=body) == (
        "1b6307ccc9ec3e9d8fbbc38a322a9a4e2543cfe8a314f57a38f042f8a073f6d2")


def test_shopify_webhook_signature_is_base64_hmac_of_the_raw_body():
    body = b'{"id":820982911946154508,"email":"jon@example.com"}'
    assert shopify_webhook_signature(secret="hush", raw_body=body) == "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8="
