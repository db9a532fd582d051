"""Connecting, testing and disconnecting shops; token storage; listings (SKU ↔ platform item)."""
import csv
import io
import logging
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import audit_record
from connectors.clients import ChannelAuthError, ChannelError, Tokens, client_class
from connectors.clients.shopify import shopify_domain_valid
from connectors.exceptions import ConnectorError
from connectors.models import AccountStatus, ChannelAccount, ChannelListing, Platform
from erp.outbound import OutboundRefused, outbound_url_check, sandbox_url

log = logging.getLogger("fanout.connectors")

# The platforms' production endpoints. `{shop}` is the account's shop id (Shopify: its domain).
PRODUCTION_ENDPOINTS = {
    Platform.TIKTOK_SHOP: ("https://open-api.tiktokglobalshop.com", "https://auth.tiktok-shops.com/api/v2/token/refresh"),
    Platform.SHOPIFY: ("https://{shop}", "https://{shop}/admin/oauth/access_token"),
    Platform.AMAZON: ("https://sellingpartnerapi-na.amazon.com", "https://api.amazon.com/auth/o2/token"),
}
SANDBOX_ENDPOINTS = {
    Platform.TIKTOK_SHOP: ("{sandbox}/tiktok", "{sandbox}/tiktok/api/v2/token/refresh"),
    Platform.SHOPIFY: ("{sandbox}/shopify/{shop}", "{sandbox}/shopify/{shop}/admin/oauth/access_token"),
    Platform.AMAZON: ("{sandbox}/amazon", "{sandbox}/amazon/auth/o2/token"),
}


def endpoints_for(*, platform: str, shop_id: str, sandbox: bool) -> tuple[str, str]:
    """(API base URL, token URL) for a shop, on the real platform or on the local sandbox (only
    where the outbound guard allows it: development). Both pass the outbound guard, else
    ConnectorError. A Shopify shop must be named by its myshopify.com domain: it becomes the host."""
    if platform == Platform.SHOPIFY and not shopify_domain_valid(shop_id):
        raise ConnectorError(_("Enter the shop's myshopify.com domain, such as example.myshopify.com."))
    table = SANDBOX_ENDPOINTS if sandbox else PRODUCTION_ENDPOINTS
    if sandbox and not sandbox_url():
        raise ConnectorError(_("No platform sandbox is available on this server."))
    api, auth = table[platform]
    values = {"shop": shop_id, "sandbox": sandbox_url()}
    urls = api.format(**values), auth.format(**values)
    for url in urls:
        try:
            outbound_url_check(url)
        except OutboundRefused as exc:
            raise ConnectorError(str(exc)) from None
    return urls


def account_tokens_save(account: ChannelAccount, tokens: Tokens) -> None:
    """Persist refreshed tokens at once, in their own transaction: a refresh token is single-use
    on some platforms, so losing the new one to a later rollback would lock us out."""
    if account.pk is None:
        return
    with transaction.atomic():
        ChannelAccount.objects.filter(pk=account.pk).update(
            access_token=tokens.access_token,
            access_token_expires_at=tokens.access_token_expires_at,
            refresh_token=account.refresh_token,
            refresh_token_expires_at=account.refresh_token_expires_at,
            updated_at=timezone.now(),
        )


def client_for(account: ChannelAccount, **kwargs):
    return client_class(account.platform)(account, on_tokens=account_tokens_save, **kwargs)


@dataclass(frozen=True)
class AccountInput:
    platform: str
    name: str
    shop_id: str
    app_key: str = ""
    app_secret: str = ""
    access_token: str = ""
    refresh_token: str = ""
    shop_cipher: str = ""
    stock_location: str = ""
    webhook_secret: str = ""
    use_sandbox: bool = False


def account_connect(*, data: AccountInput, actor=None) -> ChannelAccount:
    """Check the credentials with a real call to the platform, then store the shop (secrets
    encrypted). Nothing is stored when the platform refuses. Raises ConnectorError."""
    if data.platform not in Platform.values:
        raise ConnectorError(_("Unknown platform %(platform)s.") % {"platform": data.platform})
    shop_id = data.shop_id.strip().lower() if data.platform == Platform.SHOPIFY else data.shop_id.strip()
    if ChannelAccount.objects.filter(platform=data.platform, shop_id=shop_id).exclude(status=AccountStatus.DISCONNECTED).exists():
        raise ConnectorError(_("This shop is already connected."))
    api_base_url, auth_url = endpoints_for(platform=data.platform, shop_id=shop_id, sandbox=data.use_sandbox)
    account = ChannelAccount(
        platform=data.platform, name=data.name.strip(), shop_id=shop_id, shop_cipher=data.shop_cipher.strip(),
        stock_location=data.stock_location.strip(), api_base_url=api_base_url, auth_url=auth_url,
        app_key=data.app_key.strip(), app_secret=data.app_secret.strip(), access_token=data.access_token.strip(),
        refresh_token=data.refresh_token.strip(), webhook_secret=data.webhook_secret.strip(), connected_by=actor,
    )
    try:
        account.full_clean(exclude=["connected_by"])
    except ValidationError as exc:
        raise ConnectorError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
    try:
        with client_for(account) as client:
            shop_name = client.ping()
    except ChannelError as exc:
        raise ConnectorError(_("The platform refused the connection: %(error)s") % {"error": exc}) from exc
    with transaction.atomic():
        account.last_tested_at = timezone.now()
        account.status_detail = _("Connected to %(shop)s.") % {"shop": shop_name}
        account.save()
        audit_record(actor=actor, verb="channel.connected", target=account, data={"platform": account.get_platform_display(), "name": account.name})
    return account


def account_test(*, account_id: int, actor=None) -> ChannelAccount:
    """Make a cheap authenticated call. A refused authorisation marks the shop for re-authorising."""
    account = ChannelAccount.objects.get(pk=account_id)
    try:
        with client_for(account) as client:
            shop_name = client.ping()
    except ChannelAuthError as exc:
        account_mark_needs_reauth(account_id=account.pk, reason=str(exc))
        account.refresh_from_db()
        return account
    except ChannelError as exc:
        ChannelAccount.objects.filter(pk=account.pk).update(last_tested_at=timezone.now(), status_detail=str(exc)[:500])
        account.refresh_from_db()
        return account
    status = AccountStatus.CONNECTED if account.status != AccountStatus.DISCONNECTED else account.status
    ChannelAccount.objects.filter(pk=account.pk).update(
        last_tested_at=timezone.now(), status=status, status_detail=(_("Connected to %(shop)s.") % {"shop": shop_name})[:500]
    )
    account.refresh_from_db()
    return account


@transaction.atomic
def account_disconnect(*, account_id: int, actor=None) -> ChannelAccount:
    """Stop syncing with a shop and forget its tokens. Its webhook history stays."""
    account = ChannelAccount.objects.select_for_update().get(pk=account_id)
    account.status = AccountStatus.DISCONNECTED
    account.status_detail = _("Disconnected by %(who)s.") % {"who": actor.email if actor else _("the system")}
    account.access_token = ""
    account.refresh_token = ""
    account.access_token_expires_at = None
    account.save()
    audit_record(actor=actor, verb="channel.disconnected", target=account, data={"platform": account.get_platform_display(), "name": account.name})
    return account


def account_mark_needs_reauth(*, account_id: int, reason: str) -> bool:
    """The platform revoked or expired our authorisation: stop syncing, tell the owners once.
    Returns False when the shop was already marked (so owners are not alerted twice)."""
    from connectors import tasks

    with transaction.atomic():
        changed = ChannelAccount.objects.filter(pk=account_id, status=AccountStatus.CONNECTED).update(
            status=AccountStatus.NEEDS_REAUTH, status_detail=reason[:500], updated_at=timezone.now(), owners_alerted_at=None
        )
        if changed:
            account = ChannelAccount.objects.get(pk=account_id)
            audit_record(actor=None, verb="channel.needs_reauth", target=account, data={"name": account.name, "reason": reason[:200]})
            transaction.on_commit(partial(tasks.account_alert_owners.delay, account_id))
    if changed:
        log.warning("channel account %s needs re-authorisation: %s", account_id, reason)
    return bool(changed)


def account_alert_owners_send(*, account_id: int, site_url: str) -> int:
    """Email the owners that the shop needs re-authorising, once per time it is marked (claimed with a
    conditional update, so a redelivered task sends nothing; un-claimed if sending fails)."""
    from django.core.mail import send_mail

    from accounts.models import User
    from accounts.modules import Role

    claimed = ChannelAccount.objects.filter(pk=account_id, status=AccountStatus.NEEDS_REAUTH, owners_alerted_at__isnull=True).update(
        owners_alerted_at=timezone.now())
    if not claimed:
        return 0
    account = ChannelAccount.objects.get(pk=account_id)
    owners = list(User.objects.filter(role=Role.OWNER, is_active=True).values_list("email", flat=True))
    if not owners:
        return 0
    subject = _("Fanout: %(shop)s needs to be re-authorised") % {"shop": account}
    body = _("Fanout can no longer reach %(shop)s: %(reason)s\n\nStock is not being synced to it until you reconnect it at %(url)s") % {
        "shop": account, "reason": account.status_detail, "url": f"{site_url}/channels/{account.pk}/",
    }
    try:
        send_mail(subject, body, None, owners)
    except Exception:
        ChannelAccount.objects.filter(pk=account_id).update(owners_alerted_at=None)
        raise
    return len(owners)


def account_alerts_resume(*, now=None) -> int:
    """Queue again the owners' alerts of shops marked for re-authorisation more than FANOUT_RESUME_AFTER_S
    ago whose alert never went out (its task lost, or the mail server down through every retry)."""
    from datetime import timedelta

    from django.conf import settings

    from connectors import tasks
    from erp.celery import resume_due

    before = (now or timezone.now()) - timedelta(seconds=settings.FANOUT_RESUME_AFTER_S)
    ids = list(ChannelAccount.objects.filter(status=AccountStatus.NEEDS_REAUTH, owners_alerted_at__isnull=True, updated_at__lt=before)
               .values_list("pk", flat=True)[:200])
    ids = resume_due("account-alert", ids)
    for pk in ids:
        tasks.account_alert_owners.delay(pk)
    return len(ids)


# ---------------------------------------------------------------------------- listings
@dataclass(frozen=True)
class ListingRowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return _("row %(row)s, %(field)s: %(message)s") % {"row": self.row, "field": self.field, "message": self.message}


LISTING_COLUMNS = ["sku", "platform_product_id", "platform_sku_id"]


ID_MAX = 200  # ChannelListing.external_product_id / external_sku_id


def listings_import(*, account_id: int, text: str) -> int:
    """Map our SKUs to the shop's items from CSV (sku, platform_product_id, platform_sku_id).
    All rows or none: raises ConnectorError naming every bad row. Returns the rows imported."""
    from inventory.models import SKU

    account = ChannelAccount.objects.get(pk=account_id)
    reader = csv.DictReader(io.StringIO(text.strip()))
    missing = [c for c in ("sku", "platform_sku_id") if c not in (reader.fieldnames or [])]
    if missing:
        raise ConnectorError(_("The header must name the columns %(columns)s; missing: %(missing)s")
                             % {"columns": ", ".join(LISTING_COLUMNS), "missing": ", ".join(missing)})
    skus = {s.code.lower(): s for s in SKU.objects.all()}
    errors: list[ListingRowError] = []
    rows: list[tuple] = []
    seen_sku, seen_item = set(), set()
    for number, row in enumerate(reader, start=2):
        code = (row.get("sku") or "").strip()
        item = (row.get("platform_sku_id") or "").strip()
        product = (row.get("platform_product_id") or "").strip()
        sku = skus.get(code.lower())
        if not code or sku is None:
            errors.append(ListingRowError(number, "sku", _("no SKU with code “%(code)s”") % {"code": code}))
        elif sku.pk in seen_sku:
            errors.append(ListingRowError(number, "sku", _("“%(code)s” appears twice") % {"code": code}))
        if not item:
            errors.append(ListingRowError(number, "platform_sku_id", _("is required")))
        elif item in seen_item:
            errors.append(ListingRowError(number, "platform_sku_id", _("“%(item)s” appears twice") % {"item": item}))
        for column, value in (("platform_product_id", product), ("platform_sku_id", item)):
            if len(value) > ID_MAX:
                errors.append(ListingRowError(number, column, _("at most %(n)s characters") % {"n": ID_MAX}))
        if account.platform == Platform.TIKTOK_SHOP and not product:
            errors.append(ListingRowError(number, "platform_product_id", _("is required for TikTok Shop")))
        if sku is not None:
            seen_sku.add(sku.pk)
            rows.append((sku, product, item))
        seen_item.add(item)
    if not rows and not errors:
        errors.append(ListingRowError(2, "-", _("the file has no data rows")))
    if errors:
        raise ConnectorError("; ".join(str(e) for e in errors[:20]), errors=errors)
    with transaction.atomic():
        ChannelListing.objects.filter(account=account, sku__in=[r[0] for r in rows]).delete()
        ChannelListing.objects.filter(account=account, external_sku_id__in=[r[2] for r in rows]).delete()
        ChannelListing.objects.bulk_create(
            ChannelListing(account=account, sku=sku, external_product_id=product, external_sku_id=item) for sku, product, item in rows
        )
        from connectors.services.stock_sync import stock_sync_request

        transaction.on_commit(partial(stock_sync_request, sku_ids=[r[0].pk for r in rows], account_ids=[account.pk]))
    return len(rows)
