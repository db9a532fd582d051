import re

from django.core import mail
from django_tenants.utils import tenant_context

from accounts.models import Invitation, User
from accounts.modules import Role
from accounts.services import invitation_email_send
from accounts.tasks import invitation_send_email
from tests.support import PASSWORD, client_for, make_user


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_owner_invites_staff_who_accepts_and_gets_the_role(alpha, django_capture_on_commit_callbacks):
    owner = make_user(alpha, role=Role.OWNER)
    client = client_for(alpha, owner)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/team/invite/", {"email": "New.Hire@Alpha.test", "role": Role.WAREHOUSE}, follow=True)
    assert "Invitation sent to new.hire@alpha.test" in _messages(response)
    assert "new.hire@alpha.test" in response.content.decode()
    # The email goes out from a Celery task after commit, never inside the request.
    assert len(callbacks) == 1 and callbacks[0].func == invitation_send_email.delay

    with tenant_context(alpha):
        invitation = Invitation.objects.get(email="new.hire@alpha.test")
        assert invitation_email_send(invitation_id=invitation.pk, site_url="http://alpha.localhost:8000") is True
        assert invitation_email_send(invitation_id=invitation.pk, site_url="http://alpha.localhost:8000") is False
    assert len(mail.outbox) == 1
    link = re.search(r"http://alpha\.localhost:8000(/invite/[^/\s]+/)", mail.outbox[0].body).group(1)

    newcomer = client_for(alpha)
    form = newcomer.get(link)
    assert form.status_code == 200 and "Warehouse" in form.content.decode()
    mismatch = newcomer.post(link, {"full_name": "Nia", "password": PASSWORD, "password_confirm": "other-pass-77"})
    assert "The two passwords differ" in mismatch.content.decode()
    weak = newcomer.post(link, {"full_name": "Nia", "password": "password", "password_confirm": "password"})
    assert "too common" in weak.content.decode()

    joined = newcomer.post(link, {"full_name": "Nia Hire", "password": PASSWORD, "password_confirm": PASSWORD}, follow=True)
    assert "You joined as Warehouse" in joined.content.decode()
    assert 'data-module="warehouses:index"' in joined.content.decode()
    assert 'data-module="orders:index"' not in joined.content.decode()
    with tenant_context(alpha):
        assert User.objects.get(email="new.hire@alpha.test").role == Role.WAREHOUSE
    # The link works once.
    assert client_for(alpha).get(link).status_code == 410


def test_invite_refuses_existing_members_and_duplicate_open_invitations(alpha, django_capture_on_commit_callbacks):
    owner = make_user(alpha, role=Role.OWNER)
    client = client_for(alpha, owner)
    member = make_user(alpha, role=Role.FINANCE)
    with django_capture_on_commit_callbacks():
        taken = client.post("/team/invite/", {"email": member.email.upper(), "role": Role.ANALYST}, follow=True)
        assert "is already on the team" in _messages(taken)
        client.post("/team/invite/", {"email": "twice@alpha.test", "role": Role.ANALYST})
        again = client.post("/team/invite/", {"email": "twice@alpha.test", "role": Role.ANALYST}, follow=True)
    assert "already has an open invitation" in _messages(again)
    bad = client.post("/team/invite/", {"email": "nope", "role": "emperor"}, follow=True)
    assert "valid email" in _messages(bad)
    with tenant_context(alpha):
        assert Invitation.objects.filter(email="twice@alpha.test").count() == 1


def test_revoked_invitation_link_stops_working(alpha, django_capture_on_commit_callbacks):
    owner = make_user(alpha, role=Role.OWNER)
    client = client_for(alpha, owner)
    with django_capture_on_commit_callbacks():
        client.post("/team/invite/", {"email": "gone@alpha.test", "role": Role.ANALYST})
    with tenant_context(alpha):
        invitation = Invitation.objects.get(email="gone@alpha.test")
        from accounts.services import invitation_token

        token = invitation_token(invitation=invitation)
    response = client.post(f"/team/invitations/{invitation.pk}/revoke/", follow=True)
    assert "withdrawn" in _messages(response)
    page = client_for(alpha).get(f"/invite/{token}/")
    assert page.status_code == 410 and "withdrawn" in page.content.decode()
    assert client_for(alpha).get("/invite/forged-token/").status_code == 410


def test_owner_changes_roles_but_never_removes_the_last_owner(alpha):
    with tenant_context(alpha):
        # Alpha's sign-up owner plus this one: demote until one is left.
        owners = list(User.objects.filter(role=Role.OWNER, is_active=True))
    me = make_user(alpha, role=Role.OWNER)
    client = client_for(alpha, me)
    for other in owners:
        client.post(f"/team/members/{other.pk}/role/", {"role": Role.MANAGER})
    refused = client.post(f"/team/members/{me.pk}/role/", {"role": Role.ANALYST}, follow=True)
    assert "at least one active Owner" in _messages(refused)

    staff = make_user(alpha, role=Role.ANALYST)
    changed = client.post(f"/team/members/{staff.pk}/role/", {"role": Role.FINANCE}, follow=True)
    assert "is now Finance" in _messages(changed)
    staff_client = client_for(alpha, staff)
    assert staff_client.get("/commissions/").status_code == 200  # takes effect at once

    off = client.post(f"/team/members/{staff.pk}/active/", {"active": "0"}, follow=True)
    assert "can no longer sign in" in _messages(off)
    assert staff_client.get("/commissions/").status_code == 302
    self_off = client.post(f"/team/members/{me.pk}/active/", {"active": "0"}, follow=True)
    assert "cannot deactivate your own account" in _messages(self_off)
    assert client.post("/team/members/999999/role/", {"role": Role.FINANCE}).status_code == 404


def test_preferences_change_language_and_time_zone(alpha):
    user = make_user(alpha, role=Role.ANALYST)
    client = client_for(alpha, user)
    client.post("/account/preferences/", {"time_zone": "Asia/Shanghai", "language": "zh-hans"})
    page = client.get("/account/preferences/")
    assert page["Content-Language"] == "zh-hans"
    assert "Asia/Shanghai" in page.content.decode()


def test_team_page_shows_activity_as_sentences(alpha, django_capture_on_commit_callbacks):
    owner = make_user(alpha, role=Role.OWNER)
    client = client_for(alpha, owner)
    with django_capture_on_commit_callbacks():
        client.post("/team/invite/", {"email": "story@alpha.test", "role": Role.FINANCE})
    html = client.get("/team/").content.decode()
    assert "Invited story@alpha.test as Finance" in html
    assert "{&#x27;role&#x27;" not in html


def test_seller_admin_is_for_owners_only_and_follows_role_changes(alpha):
    owner = make_user(alpha, role=Role.OWNER)
    manager = make_user(alpha, role=Role.MANAGER)
    assert client_for(alpha, owner).get("/admin/").status_code == 200
    assert client_for(alpha, manager).get("/admin/").status_code == 302  # to the admin login
    client_for(alpha, owner).post(f"/team/members/{owner.pk}/role/", {"role": Role.MANAGER})
    with tenant_context(alpha):
        owner.refresh_from_db()
    if owner.role == Role.MANAGER:  # another owner existed, so the demotion went through
        assert client_for(alpha, owner).get("/admin/").status_code == 302
    # Roles are read-only in the seller admin: the Team page's rules apply.
    page = client_for(alpha, make_user(alpha, role=Role.OWNER)).get(f"/admin/accounts/user/{manager.pk}/change/")
    assert page.status_code == 200 and 'name="role"' not in page.content.decode()


def test_accepting_an_invitation_for_an_existing_account_explains_instead_of_crashing(alpha, django_capture_on_commit_callbacks):
    from accounts.services import invitation_create, invitation_token

    owner = make_user(alpha, role=Role.OWNER)
    with tenant_context(alpha), django_capture_on_commit_callbacks():
        invitation = invitation_create(email="late@alpha.test", role=Role.ANALYST, invited_by=owner)
        token = invitation_token(invitation=invitation)
    make_user(alpha, role=Role.FINANCE, email="late@alpha.test")  # created meanwhile, e.g. in the admin
    response = client_for(alpha).post(f"/invite/{token}/", {"full_name": "Late", "password": PASSWORD, "password_confirm": PASSWORD})
    assert response.status_code == 410 and "already has an account" in response.content.decode()


def test_public_admin_lockout_page_renders(db):
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/admin/login/", {"username": "root@nowhere.test", "password": "bad-bad-bad"})
    assert response.status_code == 429 and "Too many failed sign-in attempts" in response.content.decode()


def test_signup_redirect_keeps_the_port_the_browser_used(db):
    from django.test import Client

    from tests.sellers.signup_flow import signup_end_to_end

    response = signup_end_to_end(Client(HTTP_HOST="localhost:8443"), {"company_name": "Port Co", "subdomain": "portco", "owner_email": "p@port.test"})
    assert response["Location"].startswith("http://portco.localhost:8443/welcome/")
