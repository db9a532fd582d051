"""Relationship care (the contact log) and samples."""
import uuid
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from creators.exceptions import CreatorError
from creators.models import ContactLog, ContactMethod, Creator, Sample
from erp.l10n import business_today, seller_base_currency


@transaction.atomic
def contact_log_add(*, creator_id: int, method: str, summary: str, next_step: str = "", contacted_at: datetime | None = None,
                    actor=None) -> ContactLog:
    """Log a call, message or meeting; the creator's “last contacted” moves to the latest entry."""
    if not summary.strip():
        raise CreatorError(_("Write a short summary of the conversation."))
    if method not in ContactMethod.values:
        raise CreatorError(_("Unknown contact method."))
    contacted_at = contacted_at or timezone.now()
    if contacted_at > timezone.now() + timedelta(minutes=5):
        raise CreatorError(_("A contact cannot be logged in the future."))
    creator = Creator.objects.select_for_update().filter(pk=creator_id).first()
    if creator is None:
        raise CreatorError(_("No such creator."))
    entry = ContactLog.objects.create(creator=creator, method=method, summary=summary.strip(), next_step=next_step.strip()[:200],
                                      contacted_at=contacted_at, by=actor)
    latest = creator.contacts.aggregate(at=Max("contacted_at"))["at"]
    Creator.objects.filter(pk=creator.pk).update(last_contacted_at=latest)
    return entry


@transaction.atomic
def sample_send(*, creator_id: int, sku_id: int, warehouse_id: int, quantity: int, sent_on: date | None = None, content_url: str = "",
                notes: str = "", actor=None) -> Sample:
    """Ship free units to a creator through the stock ledger: reserve from the shared pool (never
    from another holder's allocation or safety stock), then ship, consuming the oldest cost lots.
    The sample's cost is those lots' cost (half-up to the cent) and counts in the creator's ROI.
    Raises CreatorError with the stock problem when the units are not there."""
    from creators.services.metrics import metrics_refresh
    from inventory.exceptions import InsufficientStock, InventoryError
    from inventory.selectors import Holder
    from inventory.services import reservation_consume, reservation_create

    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise CreatorError(_("The quantity must be a whole number above zero."))
    sent_on = sent_on or business_today()
    if sent_on > business_today():
        raise CreatorError(_("The sent date cannot be in the future."))
    creator = Creator.objects.filter(pk=creator_id).first()
    if creator is None:
        raise CreatorError(_("No such creator."))
    reference = f"SAMPLE-{uuid.uuid4().hex[:10].upper()}"
    try:
        reservation_create(reference=reference, warehouse_id=warehouse_id, holder=Holder.channel("samples"), lines=[(sku_id, quantity)])
        cogs = reservation_consume(reference=reference, actor=actor).get(sku_id)
    except InsufficientStock as exc:
        raise CreatorError(_("Not enough stock for the sample: %(detail)s") % {"detail": exc}) from None
    except InventoryError as exc:
        raise CreatorError(str(exc)) from None
    sample = Sample.objects.create(
        reference=reference, creator=creator, sku_id=sku_id, warehouse_id=warehouse_id, quantity=quantity, sent_on=sent_on,
        cost=cogs if cogs is not None else Money(0, seller_base_currency()), content_url=content_url.strip(), notes=notes.strip()[:200],
        created_by=actor,
    )
    metrics_refresh(months=[sent_on], creator_ids=[creator.pk])  # ROI counts the sample at once
    return sample
