"""Tenant A's rows are invisible from tenant B, through the ORM and over HTTP."""
from django.conf import settings
from django_tenants.utils import tenant_context

from accounts.models import AuditEvent, Invitation, User
from accounts.modules import Role
from accounts.services import invitation_create
from tests.support import PASSWORD, client_for, make_user


def test_rows_of_one_seller_are_invisible_from_another_through_the_orm(alpha, beta):
    secret = make_user(alpha, role=Role.FINANCE, email="secret@alpha.test")
    with tenant_context(alpha):
        assert User.objects.filter(email="secret@alpha.test").exists()
        alpha_events = AuditEvent.objects.count()
    with tenant_context(beta):
        assert not User.objects.filter(email="secret@alpha.test").exists()
        assert not User.objects.filter(pk=secret.pk, email=secret.email).exists()
        assert AuditEvent.objects.filter(data__role=Role.FINANCE, target_id=str(secret.pk)).count() == 0
    assert alpha_events >= 1


def test_rows_of_one_seller_are_invisible_from_another_over_http(alpha, beta, django_capture_on_commit_callbacks):
    alpha_owner = make_user(alpha, role=Role.OWNER, email="boss2@alpha.test")
    beta_owner = make_user(beta, role=Role.OWNER, email="boss2@beta.test")
    with tenant_context(alpha), django_capture_on_commit_callbacks():
        invitation = invitation_create(email="hire@alpha.test", role=Role.ANALYST, invited_by=alpha_owner)

    alpha_team = client_for(alpha, alpha_owner).get("/team/").content.decode()
    assert "boss2@alpha.test" in alpha_team and "hire@alpha.test" in alpha_team

    beta_client = client_for(beta, beta_owner)
    beta_team = beta_client.get("/team/").content.decode()
    assert "alpha.test" not in beta_team and "Alpha Goods" not in beta_team
    # Alpha's invitation id means nothing on beta's host.
    with tenant_context(beta):
        assert not Invitation.objects.filter(pk=invitation.pk).exists()
    assert beta_client.post(f"/team/invitations/{invitation.pk}/revoke/").status_code == 404
    # Nor does alpha's invitation link.
    from accounts.services import invitation_token

    with tenant_context(alpha):
        token = invitation_token(invitation=invitation)
    assert client_for(beta).get(f"/invite/{token}/").status_code == 410


def test_a_session_from_one_seller_does_not_open_another_sellers_site(alpha, beta):
    owner = make_user(alpha, role=Role.OWNER, email="boss3@alpha.test")
    alpha_client = client_for(alpha, owner)
    assert alpha_client.get("/").status_code == 200
    cookie = alpha_client.cookies[settings.SESSION_COOKIE_NAME].value

    stolen = client_for(beta)
    stolen.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = stolen.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    # Alpha's credentials do not sign anyone in on beta's site.
    refused = client_for(beta).post("/login/", {"username": "boss3@alpha.test", "password": PASSWORD})
    assert refused.status_code == 200 and "correct email and password" in refused.content.decode()


def test_session_cookie_is_host_only(alpha):
    owner = make_user(alpha, role=Role.OWNER, email="boss4@alpha.test")
    client = client_for(alpha)
    client.post("/login/", {"username": owner.email, "password": PASSWORD})
    morsel = client.cookies[settings.SESSION_COOKIE_NAME]
    assert morsel["domain"] == ""  # host-only: the browser never sends it to another subdomain
    assert morsel["httponly"] is True
