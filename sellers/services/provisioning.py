"""Writes on sellers (tenants): creating one (its schema replays the recorded migration, see
sellers.schemas), the public tenant, business settings. Runs in the public schema."""
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, tenant_context

from accounts.models import Role, User
from accounts.services import user_create, valid_time_zone
from erp.tenancy import tenant_host
from sellers.exceptions import SignupError
from sellers.models import Domain, Seller
from sellers.schemas import template_ensure
from sellers.validators import schema_name_for, validate_subdomain

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignupResult:
    seller: Seller
    owner: User


def _schema_exists(schema_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [schema_name])
        return cursor.fetchone() is not None


def subdomain_is_taken(*, subdomain: str, open_signups_of: str | None = None, signup_id: int | None = None) -> bool:
    """Whether a seller, a domain, a schema or an open sign-up (one not from `open_signups_of`, the
    same address signing up again; not sign-up `signup_id`, the one being provisioned) holds it."""
    from sellers.models import SignupRequest, SignupStatus
    from sellers.services.signup_requests import signup_expiry

    open_signups = SignupRequest.objects.filter(subdomain=subdomain, status__in=[SignupStatus.PENDING, SignupStatus.PROVISIONING]).exclude(
        status=SignupStatus.PENDING, created_at__lt=signup_expiry())
    if open_signups_of:
        open_signups = open_signups.exclude(owner_email=open_signups_of, status=SignupStatus.PENDING)
    if signup_id:
        open_signups = open_signups.exclude(pk=signup_id)
    return (
        Seller.objects.filter(subdomain=subdomain).exists()
        or Domain.objects.filter(domain=tenant_host(subdomain=subdomain)).exists()
        or _schema_exists(schema_name_for(subdomain))
        or open_signups.exists()
    )


def signup_validate(*, company_name: str, subdomain: str, owner_email: str, password: str | None,
                    open_signups_of: str | None = None, signup_id: int | None = None) -> dict[str, list[str]]:
    """Every reason the sign-up would be refused, by form field. Empty when it may proceed. A
    password of None is not checked (it was when the owner chose it)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, exc: ValidationError) -> None:
        errors.setdefault(field, []).extend(exc.messages)

    if not company_name.strip():
        errors["company_name"] = [_("Enter your company name.")]
    try:
        validate_subdomain(subdomain)
    except ValidationError as exc:
        add("subdomain", exc)
    else:
        if subdomain_is_taken(subdomain=subdomain, open_signups_of=open_signups_of, signup_id=signup_id):
            errors["subdomain"] = [_("This subdomain is already taken.")]
    try:
        validate_email(owner_email)
    except ValidationError as exc:
        add("owner_email", exc)
    if password is not None:
        try:
            validate_password(password, user=User(email=owner_email, full_name=company_name))
        except ValidationError as exc:
            add("password", exc)
    return errors


def seller_signup(*, company_name: str, subdomain: str, owner_email: str, password: str = "", password_hash: str = "",
                  time_zone: str = "", base_currency: str = "", owner_language: str = "", owner_time_zone: str = "",
                  signup_id: int | None = None) -> SignupResult:
    """Create a seller now: its schema (a replay of the recorded migration, ~1 s), its domain and its
    Owner account — all of it or nothing. The whole of it runs in one transaction; PostgreSQL's
    transactional DDL means a failure at any step leaves no schema, no seller row and no domain.
    The Owner's password comes in clear (checked here) or as the hash of one checked before
    (`password_hash`, from a confirmed sign-up `signup_id`, which holds the subdomain meanwhile).
    People sign up through sellers.services.signup_requests, which verifies their address first;
    this is the step its task runs, and what the platform's own tools (demo, tests, benches) call.

    Raises SignupError (field -> messages) for invalid or taken input.
    """
    subdomain = subdomain.strip().lower()
    owner_email = owner_email.strip().lower()
    company_name = company_name.strip()
    errors = signup_validate(company_name=company_name, subdomain=subdomain, owner_email=owner_email,
                             password=None if password_hash else password, signup_id=signup_id)
    if errors:
        raise SignupError(errors)

    with schema_context("public"):
        template_ensure()  # outside the transaction: a rebuilt template is committed for every clone
        try:
            with transaction.atomic():
                seller = Seller(
                    name=company_name,
                    subdomain=subdomain,
                    schema_name=schema_name_for(subdomain),
                    owner_email=owner_email,
                    time_zone=valid_time_zone(time_zone) or settings.FANOUT_DEFAULT_BUSINESS_TIME_ZONE,
                    base_currency=base_currency if base_currency in settings.CURRENCIES else settings.DEFAULT_CURRENCY,
                )
                seller.save(verbosity=0)  # clones the template schema, inside this transaction
                Domain.objects.create(domain=tenant_host(subdomain=subdomain), tenant=seller, is_primary=True)
                with tenant_context(seller):
                    owner = user_create(email=owner_email, password=None if password_hash else password, full_name="", role=Role.OWNER,
                                        language=owner_language, time_zone=owner_time_zone)
                    if password_hash:
                        owner.password = password_hash
                        owner.save(update_fields=["password"])
        except IntegrityError as exc:
            # Lost a race with another sign-up for the same subdomain.
            logger.info("sign-up for %s lost a race: %s", subdomain, exc)
            raise SignupError({"subdomain": [_("This subdomain is already taken.")]}) from exc
    logger.info("seller %s signed up (schema %s)", seller.subdomain, seller.schema_name)
    return SignupResult(seller=seller, owner=owner)


def public_tenant_ensure(*, domains: list[str]) -> Seller:
    """The platform's own (public) tenant and its domains. Idempotent."""
    with schema_context("public"):
        public, _created = Seller.objects.get_or_create(
            schema_name="public", defaults={"name": "Fanout platform", "subdomain": "public"}
        )
        for i, domain in enumerate(domains):
            Domain.objects.get_or_create(domain=domain, defaults={"tenant": public, "is_primary": i == 0})
    return public


def seller_settings_update(*, seller: Seller, actor: User, name: str, time_zone: str, base_currency: str) -> Seller:
    """An Owner changes the seller's name, business time zone or base currency. The base currency
    cannot change once stock has been costed or purchased in it: that would silently re-denominate
    every cost. Raises SignupError (field -> messages)."""
    from accounts.services import audit_record
    from inventory.models import CostLot, PurchaseOrder

    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("Enter your company name.")]
    if not valid_time_zone(time_zone):
        errors["time_zone"] = [_("Choose a time zone from the list.")]
    if base_currency not in settings.CURRENCIES:
        errors["base_currency"] = [_("Choose a currency from the list.")]
    elif base_currency != seller.base_currency and (CostLot.objects.exists() or PurchaseOrder.objects.exists()):
        errors["base_currency"] = [_("The base currency cannot change once stock has been costed or purchased in %(currency)s.")
                                   % {"currency": seller.base_currency}]
    if errors:
        raise SignupError(errors)
    changed = {f: [getattr(seller, f), v] for f, v in (("name", name.strip()), ("time_zone", time_zone), ("base_currency", base_currency))
               if getattr(seller, f) != v}
    if changed:
        Seller.objects.filter(pk=seller.pk).update(**{f: new for f, (_old, new) in changed.items()})
        for field, (_old, new) in changed.items():
            setattr(seller, field, new)
        audit_record(actor=actor, verb="seller.settings_changed", data={f: f"{old} → {new}" for f, (old, new) in changed.items()})
    return seller
