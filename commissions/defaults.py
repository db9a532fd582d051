"""The fee schedules every seller starts with (data migration 0002; editable under Commissions):
TikTok Shop's referral fee covers payment processing and a refund costs 20% of the referral fee,
capped at $5 per SKU; Shopify charges card processing; Amazon a referral fee. Shipping is an
estimate per shipment until real costs are entered."""
from datetime import date
from decimal import Decimal

DEFAULTS = [
    # channel, marketplace fee, payment fee, refund admin share, refund admin cap
    ("tiktok_shop", "0.0600", "0", "0.2000", "5.00"),
    ("shopify", "0", "0.0290", "0", None),
    ("amazon", "0.1500", "0", "0.2000", "5.00"),
    ("wholesale", "0", "0", "0", None),
    ("manual", "0", "0", "0", None),
    ("portal", "0", "0", "0", None),
]


def fee_schedules_seed(FeeSchedule) -> int:
    """Create the defaults when the seller has no schedule at all; returns how many were made."""
    if FeeSchedule.objects.exists():
        return 0
    for channel, fee, payment, refund, cap in DEFAULTS:
        FeeSchedule.objects.create(
            channel=channel, valid_from=date(2020, 1, 1), marketplace_fee_rate=Decimal(fee), payment_fee_rate=Decimal(payment),
            refund_admin_fee_rate=Decimal(refund), refund_admin_fee_cap=Decimal(cap) if cap else None, refund_admin_fee_cap_currency="USD",
            shipping_estimate=Decimal("5.00"), shipping_estimate_currency="USD",
        )
    return len(DEFAULTS)
