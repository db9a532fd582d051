from django.db.models import QuerySet

from accounts.models import AuditEvent, Invitation, User


def team_member_list() -> QuerySet[User]:
    return User.objects.order_by("-is_active", "email")


def invitation_open_list() -> QuerySet[Invitation]:
    return Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True).select_related("invited_by")


def audit_event_list(*, limit: int = 20) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.select_related("actor")[:limit]
