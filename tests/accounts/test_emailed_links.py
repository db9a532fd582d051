"""Every link Fanout emails points at the seller's own site (erp.tenancy.seller_site_url, from
FANOUT_SITE_URL and the seller's primary domain), never at whatever Host header the request that
caused the email carried: a request with a forged host or port must not make a reset or invitation
email send its token elsewhere."""
import re

from django.core import mail
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.modules import Role
from erp.tenancy import seller_site_url
from portal.models import CreatorAccount
from portal.services import portal_accept
from tests.creators.factories import make_creator
from tests.support import client_for, make_user

FORGED_HOST = "alpha.localhost:6666"  # the seller's host name with a port of the visitor's choosing
URL = re.compile(r"https?://\S+")


def _links(message) -> list[str]:
    return [link.rstrip(".,:;)") for link in URL.findall(message.body)]


def _assert_own_site(message, alpha):
    own = seller_site_url(schema_name=alpha.schema_name)
    links = _links(message)
    assert links, message.body
    for link in links:
        assert link == own or link.startswith(own + "/"), (link, own)
    assert "6666" not in message.body and "evil" not in message.body


def test_every_emailed_link_is_built_from_the_sellers_own_domain(alpha, settings, django_capture_on_commit_callbacks):
    settings.FANOUT_SITE_URL = "https://localhost"  # the platform's real address: https, no port
    with tenant_context(alpha):
        creator = make_creator("hana.host", email="hana@creators.test")
        regular = make_creator("ivy.host", email="ivy@creators.test")
        portal_accept(account=CreatorAccount.objects.create(creator=regular, email="ivy@creators.test"), password="Lip-gloss-2026!")
    staff = make_user(alpha, role=Role.FINANCE)
    forged = {"HTTP_HOST": FORGED_HOST, "HTTP_X_FORWARDED_HOST": "evil.example"}

    # Staff password reset.
    assert Client(**forged).post("/password-reset/", {"email": staff.email}).status_code == 302
    _assert_own_site(mail.outbox[-1], alpha)
    # Creator portal password reset.
    assert Client(**forged).post("/portal/reset/", {"email": "ivy@creators.test"}).status_code == 302
    _assert_own_site(mail.outbox[-1], alpha)
    # Creator portal invitation, sent from the creator's page by a manager.
    manager = client_for(alpha, make_user(alpha, role=Role.CREATOR_MANAGER))
    manager.defaults.update(forged)
    with django_capture_on_commit_callbacks(execute=True):
        assert manager.post(f"/creators/{creator.pk}/portal-invite/", {"email": "hana@creators.test"}).status_code == 302
    _assert_own_site(mail.outbox[-1], alpha)
    # Staff invitation: the Team page queues it; the task sends it.
    from accounts.models import Invitation
    from accounts.tasks import invitation_send_email

    owner = client_for(alpha, make_user(alpha, role=Role.OWNER))
    owner.defaults.update(forged)
    assert owner.post("/team/invite/", {"email": "new.hire@alpha.test", "role": Role.ANALYST}).status_code == 302
    with tenant_context(alpha):
        invitation = Invitation.objects.get(email="new.hire@alpha.test")
        invitation_send_email.apply(args=[invitation.pk])
    _assert_own_site(mail.outbox[-1], alpha)
    assert len(mail.outbox) == 4
