"""Demo portal account: the busiest creator the seller pays directly can sign in to the portal."""
from django.db.models import Count, Q
from django.utils import timezone

from portal.models import CreatorAccount


def demo_portal_seed(*, password: str) -> str | None:
    """Open a portal account for the demo's busiest directly-paid creator; returns its email."""
    from creators.models import Creator, CreatorKind

    if CreatorAccount.objects.exists():
        account = CreatorAccount.objects.order_by("pk").first()
        return account.email
    creator = (Creator.objects.filter(kind=CreatorKind.CREATOR).annotate(direct=Count("orders", filter=Q(orders__platform_pays_commission=False)))
               .filter(direct__gt=0).order_by("-direct", "pk").first())
    if creator is None or not creator.email:
        return None
    account = CreatorAccount(creator=creator, email=creator.email.lower(), accepted_at=timezone.now())
    account.set_password(password)
    account.save()
    return account.email
