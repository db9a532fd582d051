"""Demo portal accounts: the busiest creator the seller pays directly and the busiest distributor
with a margin plan can sign in to the portal; their inboxes hold their statements so far."""
from django.db.models import Count, Q
from django.utils import timezone

from portal.models import CreatorAccount


def demo_portal_seed(*, password: str) -> list[str]:
    """Open portal accounts for the demo's busiest directly-paid creator and distributor; returns
    their emails (the existing ones when the demo was seeded before)."""
    from commissions.models import MarginPlan, Statement, StatementStatus
    from creators.models import Creator, CreatorKind
    from portal.models import Notification
    from portal.notifications import statement_paid_notify, statements_issued_notify

    if CreatorAccount.objects.exists():
        return list(CreatorAccount.objects.order_by("pk").values_list("email", flat=True))
    busiest = Creator.objects.annotate(direct=Count("orders", filter=Q(orders__platform_pays_commission=False))).filter(direct__gt=0, email__gt="")
    picks = [busiest.filter(kind=CreatorKind.CREATOR).order_by("-direct", "pk").first(),
             busiest.filter(pk__in=MarginPlan.objects.values("creator_id")).order_by("-direct", "pk").first()]
    emails = []
    for creator in filter(None, picks):
        account = CreatorAccount(creator=creator, email=creator.email.lower(), accepted_at=timezone.now())
        account.set_password(password)
        account.save()
        emails.append(account.email)
        statements = Statement.objects.filter(creator=creator).exclude(status=StatementStatus.DRAFT).order_by("period__last_day")
        statements_issued_notify(statement_ids=[s.pk for s in statements])
        for s in statements.filter(status=StatementStatus.PAID):
            statement_paid_notify(statement_id=s.pk)
    Notification.objects.update(emailed_at=timezone.now())  # the demo sends no mail for its history
    return emails
